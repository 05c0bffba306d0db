// The client of ep-server: on each notification from it, uses the capability of each generation it has seen
// so far, newest last (derive asks the kernel, which checks it against the live objects), and prints what each
// got; after the first, asks the server to fault (a call in flight).
import { Channel, debugPrintln, isIpcError, lookupCapability, MessageInfo, protectionDomain, Rights, type Capability } from "../../../src/index.ts";

const SERVER = new Channel(1);

function code(body: () => void): string {
  try {
    body();
    return "ok";
  } catch (error) {
    return isIpcError(error) ? error.code : String(error);
  }
}

export default protectionDomain({
  caps: [] as Capability[],
  notified() {
    this.caps.push(lookupCapability(`ep${this.caps.length + 1}`, { timeout: 10_000 }));
    debugPrintln(this.caps.map((cap, i) => `ep${i + 1} derive -> ${code(() => { cap.derive(Rights.SEND); })}`).join("; "));
    if (this.caps.length === 1) debugPrintln(`call in flight -> ${code(() => { SERVER.ppcall(new MessageInfo(1, 0)); })}`);
  },
});
