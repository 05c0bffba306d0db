// A PD that takes notifications and does nothing with them (the flooder's peer).
import { protectionDomain } from "../../../src/index.ts";

export default protectionDomain({
  notified() {
    // nothing: the flood is the flooder's to pay for
  },
});
