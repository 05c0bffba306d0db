// Attack: messages that carry capabilities, as fast as it can, to the server. Every other one is sent with
// timeout 0, so when the server is not already waiting it is withdrawn and leaves a transfer with no message.
import { createEndpoint, debugPrintln, lookupCapability, protectionDomain, Rights, send } from "../../../src/index.ts";
import { attacked, codeOf, ctl, endpointGone, MAX_ATTACK_MS, ready } from "./flood-common.ts";

export default protectionDomain({
  init() {
    const c = ctl();
    const deadline = performance.now() + MAX_ATTACK_MS;
    const errors = new Set<string>();
    let ep;
    try {
      ep = lookupCapability("ep", { timeout: 30_000 });
    } catch (error) {
      ready(c);
      debugPrintln(`gave up: ${codeOf(error)}`);
      return;
    }
    const own = createEndpoint();
    const gift = own.cap.derive(Rights.SEND | Rights.GRANT);
    const message = new Uint8Array(64).fill(0x77);
    for (let i = 0; ; i++) {
      try {
        send(ep, message, { grant: [gift], timeout: (i & 1) === 0 ? 0 : 1000 });
      } catch (error) {
        const code = codeOf(error);
        errors.add(code);
        if (endpointGone(code) && (i & 1) === 1) break;
      }
      if (attacked(c, deadline)) break;
    }
    ready(c);
    debugPrintln(`stopped; errors ${[...errors].sort().join(",")}`);
  },
});
