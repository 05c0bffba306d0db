// An honest PD: one line of output.
import { debugPrintln, protectionDomain } from "../../../src/index.ts";

export default protectionDomain({
  init() {
    debugPrintln("hello");
  },
});
