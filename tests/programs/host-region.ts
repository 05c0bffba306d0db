// Reads what the host wrote into the region it supplied, and answers in the same region.
import { debugPrintln, memoryRegion, protectionDomain } from "../../src/index.ts";

export default protectionDomain({
  init() {
    const bytes = memoryRegion("shared").writableBytes();
    debugPrintln(`host says '${new TextDecoder().decode(bytes.subarray(0, 5))}'`);
    bytes.set(new TextEncoder().encode("world"), 8);
  },
});
