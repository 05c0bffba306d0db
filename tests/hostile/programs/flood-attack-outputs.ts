// Attack: debugPrintln as fast as it can (100-character lines), until told to stop.
import { debugPrintln, protectionDomain } from "../../../src/index.ts";
import { attacked, codeOf, ctl, MAX_ATTACK_MS } from "./flood-common.ts";

const FILLER = "x".repeat(90);

export default protectionDomain({
  init() {
    const c = ctl();
    const deadline = performance.now() + MAX_ATTACK_MS;
    for (let i = 0; ; i++) {
      try {
        debugPrintln(`flood ${i} ${FILLER}`);
      } catch (error) {
        codeOf(error);
      }
      if (attacked(c, deadline)) break;
    }
  },
});
