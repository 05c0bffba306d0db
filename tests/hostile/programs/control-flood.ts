// Prints 200,000 lines as fast as it can, through debugPrintln or (named '*-console') console.log.
import { debugPrintln, pdName, protectionDomain } from "../../../src/index.ts";

export default protectionDomain({
  init() {
    const raw = pdName().endsWith("-console");
    for (let i = 0; i < 200_000; i++) {
      if (raw) console.log(`flood ${i}`);
      else debugPrintln(`flood ${i}`);
    }
  },
});
