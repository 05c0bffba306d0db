// Attack: syscalls as fast as the honest API makes them, a mix of cheap ones and refused ones (a PD lookup, a
// derive and its close, a token never issued, a PD that does not exist), every typed error ignored.
import { capabilityFromToken, createEndpoint, debugPrintln, processId, protectionDomain, Rights } from "../../../src/index.ts";
import { attacked, codeOf, ctl, MAX_ATTACK_MS } from "./flood-common.ts";

export default protectionDomain({
  init() {
    const c = ctl();
    const deadline = performance.now() + MAX_ATTACK_MS;
    const own = createEndpoint();
    const errors = new Map<string, number>();
    for (let i = 0; ; i++) {
      try {
        switch (i & 3) {
          case 0:
            processId("client");
            break;
          case 1:
            own.cap.derive(Rights.SEND).close();
            break;
          case 2:
            capabilityFromToken((BigInt(i) << 20n) | 0x7n);
            break;
          default:
            processId("nobody");
        }
      } catch (error) {
        const code = codeOf(error);
        errors.set(code, (errors.get(code) ?? 0) + 1);
      }
      if (attacked(c, deadline)) break;
    }
    debugPrintln(`stopped; errors ${[...errors.keys()].sort().join(",")}`);
  },
});
