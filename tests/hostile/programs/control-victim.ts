// No notified() at all (a forged notification must not reach it) and a protected() that answers label + 1.
import { MessageInfo, protectionDomain } from "../../../src/index.ts";

export default protectionDomain({
  protected(_channel, info) {
    return new MessageInfo(info.label + 1, 0);
  },
});
