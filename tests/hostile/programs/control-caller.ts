// Calls its channel 0 once in init() and prints how the call ended.
import { Channel, debugPrintln, isIpcError, MessageInfo, protectionDomain } from "../../../src/index.ts";

export default protectionDomain({
  init() {
    try {
      const reply = new Channel(0).ppcall(new MessageInfo(7, 0));
      debugPrintln(`call -> reply label=${reply.label}`);
    } catch (error) {
      debugPrintln(`call -> ${isIpcError(error) ? error.code : String(error)}`);
    }
  },
});
