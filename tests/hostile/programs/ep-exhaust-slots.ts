// Finding 13's attacker: derive 1,100 capabilities from the server's endpoint capability and connect each (a
// send with timeout 0, whatever it says), then say "done" through the first that connected.
import { debugPrintln, lookupCapability, protectionDomain, Rights, send, type Capability } from "../../../src/index.ts";
import { codeOf, count, enc, tally } from "./ep-common.ts";
import { serverOrHonest } from "./ep-exhaust.ts";

export const WANTED = 1100;

export default protectionDomain({
  init() {
    if (serverOrHonest()) return;
    const ep = lookupCapability("ep", { timeout: 20_000 });
    const derived: Capability[] = [];
    for (let i = 0; i < WANTED; i++) derived.push(ep.derive(Rights.SEND));
    const codes = new Map<string, number>();
    const connected: Capability[] = [];
    for (const cap of derived) {
      let code = "ok";
      try {
        send(cap, enc("x"), { timeout: 0 });
      } catch (error) {
        code = codeOf(error);
      }
      count(codes, code);
      if (code === "ok" || code === "WouldBlock" || code === "Timeout") connected.push(cap);
    }
    debugPrintln(`connected ${connected.length}: ${tally(codes)}`);
    if (connected.length > 0) send(connected[0]!, enc("done"), { timeout: 30_000 });
  },
});
