// Replies with the request's registers reversed and label + 1, the same count.
import { MessageInfo, protectionDomain, withMsgRegsMut } from "../../src/index.ts";

export default protectionDomain({
  protected(_channel, info) {
    withMsgRegsMut((regs) => {
      regs.subarray(0, info.count).reverse();
    });
    return new MessageInfo(info.label + 1, info.count);
  },
});
