// Calls the server with the label in its name (`caller-1`, `caller-2`, ...) and reports how the call ended.
import { Channel, debugPrintln, IpcError, MessageInfo, pdName, protectionDomain } from "../../src/index.ts";

const SERVER = new Channel(0);

export default protectionDomain({
  init() {
    const label = Number(pdName().split("-")[1]);
    try {
      SERVER.ppcall(new MessageInfo(label, 0));
      debugPrintln("returned");
    } catch (error) {
      debugPrintln(error instanceof IpcError ? error.code : String(error));
    }
  },
});
