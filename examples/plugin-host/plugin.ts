// An untrusted plugin: it logs as fast as it can through the one capability it was given, and probes what
// else that capability allows.
import { isIpcError } from "isokit";
import { debugPrintln, protectionDomain } from "isokit/microkit";
import { lookupCapability, receive, Rights, send } from "isokit/endpoints";

function attempt(what: string, fn: () => unknown): void {
  try {
    fn();
    debugPrintln(`${what}: allowed`);
  } catch (error) {
    debugPrintln(`${what}: ${isIpcError(error) ? error.code : String(error)}`);
  }
}

export default protectionDomain({
  init() {
    const log = lookupCapability("log", { timeout: 5000 });
    attempt("receive on the log endpoint", () => receive(log, { timeout: 0 }));
    attempt("derive a capability with GRANT", () => log.derive(Rights.SEND | Rights.GRANT));
    let sent = 0;
    let limited = 0;
    for (let i = 0; ; i++) {
      try {
        send(log, new TextEncoder().encode(`plugin line ${i}`));
        sent++;
      } catch (error) {
        if (isIpcError(error, "RateLimitExceeded")) {
          limited++;
          backOff(10); // as a good plugin should
          continue;
        }
        debugPrintln(`after ${sent} lines (${limited} refused by the rate limit): ${isIpcError(error) ? error.code : String(error)}`);
        return;
      }
    }
  },
});

/** Waits `ms` inside the entry point. A confined PD has no Atomics to sleep on; a short spin does. */
function backOff(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin
  }
}
