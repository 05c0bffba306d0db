// An honest PD that waits in init() on an endpoint nobody sends to, longer than its own watchdog budget: a
// wait the kernel sees (its sleep slices move SLEEPS), so it must not count as running.
import { createEndpoint, debugPrintln, isIpcError, protectionDomain, receive } from "../../../src/index.ts";

export default protectionDomain({
  init() {
    const { cap } = createEndpoint();
    try {
      receive(cap, { timeout: 800 });
      debugPrintln("receive -> a message?");
    } catch (error) {
      debugPrintln(`receive -> ${isIpcError(error) ? error.code : String(error)}`);
    }
  },
});
