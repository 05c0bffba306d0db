// A parent whose fault() prints each time it runs and lets the child resume. Named 'stuck-*', its init() never
// returns (a parent that never gets to run fault()).
import { debugPrintln, pdName, protectionDomain } from "../../../src/index.ts";

export default protectionDomain({
  init() {
    if (!pdName().startsWith("stuck")) return;
    const word = new Int32Array(new SharedArrayBuffer(4));
    for (;;) Atomics.wait(word, 0, 0, 50);
  },
  fault(child) {
    debugPrintln(`fault() for ${child.toString()}`);
    return true;
  },
});
