// A confined program importing one of isokit's internal modules (the runtime's current-PD holder): refused when
// the kernel compiles it, at this import.
import { debugPrintln, protectionDomain } from "../../../src/index.ts";
import { currentPd } from "../../../src/pd/context.ts";

export default protectionDomain({
  init() {
    debugPrintln(currentPd("init").name);
  },
});
