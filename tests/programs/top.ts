// Nested ppcall (priority 200): multiplies MR0 by 10.
import { getMr, MessageInfo, protectionDomain, setMr } from "../../src/index.ts";

export default protectionDomain({
  protected(_channel, info) {
    setMr(0, getMr(0) * 10);
    return new MessageInfo(info.label + 100, 1);
  },
});
