// Serves channel 0 and prints the tag of each call it is handed, as "label/count".
import { debugPrintln, MessageInfo, protectionDomain } from "../../../src/index.ts";

let last: MessageInfo | undefined;

export default protectionDomain({
  protected(_channel, info) {
    debugPrintln(`${info.label}/${info.count}${last === info ? " (same object)" : ""}`);
    last = info;
    return new MessageInfo(0, 0);
  },
});
