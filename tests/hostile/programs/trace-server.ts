// An honest server that answers every protected call at once (the trace liar's peer).
import { MessageInfo, protectionDomain } from "../../../src/index.ts";

export default protectionDomain({
  protected() {
    return new MessageInfo(0, 0);
  },
});
