// The client of ep-call-server. On the first generation's notification: calls its endpoint ("hello"), then
// makes the call that faults the server (in flight while it is restarted). On the next: calls the first
// generation's capability again, then the capability the new generation granted. Prints what each call got.
import { call, debugPrintln, isIpcError, lookupCapability, protectionDomain, type Capability } from "../../../src/index.ts";

const caps: Capability[] = [];

function attempt(cap: Capability, text: string): string {
  try {
    const reply = call(cap, new TextEncoder().encode(text), { timeout: 30_000 });
    return `generation ${reply.data[0] ?? "?"}`;
  } catch (error) {
    return isIpcError(error) ? error.code : String(error);
  }
}

export default protectionDomain({
  notified() {
    const cap = lookupCapability(`ep${caps.length + 1}`, { timeout: 10_000 });
    caps.push(cap);
    if (caps.length === 1) {
      debugPrintln(`ep1 hello -> ${attempt(cap, "hello")}`);
      debugPrintln(`ep1 fail (in flight) -> ${attempt(cap, "fail")}`);
    } else {
      debugPrintln(`ep1 after the restart -> ${attempt(caps[0]!, "hello")}`);
      debugPrintln(`ep${caps.length} hello -> ${attempt(cap, "hello")}`);
    }
  },
});
