// Calls the PD on channel 1. init(): with label 1, so that it throws while serving this call. Each time that
// PD notifies (every generation of it does, from its init()): with label 0, which it answers with its
// generation. Prints what each call got.
import { Channel, debugPrintln, getMr, IpcError, MessageInfo, protectionDomain } from "../../../src/index.ts";

const SERVER = new Channel(1);

function code(error: unknown): string {
  return error instanceof IpcError ? error.code : String(error);
}

export default protectionDomain({
  init() {
    try {
      SERVER.ppcall(new MessageInfo(1, 0));
      debugPrintln("in flight -> no error");
    } catch (error) {
      debugPrintln(`in flight -> ${code(error)}`);
    }
  },
  notified() {
    try {
      SERVER.ppcall(new MessageInfo(0, 0));
      debugPrintln(`answered by generation ${getMr(0)}`);
    } catch (error) {
      debugPrintln(`call -> ${code(error)}`);
    }
  },
});
