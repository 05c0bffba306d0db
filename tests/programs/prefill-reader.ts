import { debugPrintln, memoryRegion, protectionDomain } from "../../src/index.ts";

export default protectionDomain({
  init() {
    const region = memoryRegion("data");
    debugPrintln(`${region.size} bytes: '${new TextDecoder().decode(region.bytes.slice(0, 23))}', then ${region.bytes[23]}`);
  },
});
