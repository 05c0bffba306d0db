// Attack: grants into the honest client, as fast as it can (the description connects the two by a channel,
// so the grants are allowed), each under a new name; refusals (quotas) are ignored.
import { createEndpoint, debugPrintln, grantCap, protectionDomain, Rights } from "../../../src/index.ts";
import { attacked, codeOf, ctl, MAX_ATTACK_MS } from "./flood-common.ts";

export default protectionDomain({
  init() {
    const c = ctl();
    const deadline = performance.now() + MAX_ATTACK_MS;
    const own = createEndpoint();
    const errors = new Set<string>();
    for (let i = 0; ; i++) {
      try {
        grantCap(own.cap, "client", Rights.SEND, { name: `junk${i}` });
      } catch (error) {
        errors.add(codeOf(error));
      }
      if (attacked(c, deadline)) break;
    }
    debugPrintln(`stopped; errors ${[...errors].sort().join(",")}`);
  },
});
