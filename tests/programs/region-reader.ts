import { debugPrintln, IpcError, memoryRegion, protectionDomain } from "../../src/index.ts";

export default protectionDomain({
  notified() {
    const region = memoryRegion("view");
    const text = new TextDecoder().decode(region.bytes.slice(0, 22));
    debugPrintln(`read '${text}' from ${region.region} (${region.size} bytes, perms ${region.perms})`);
    try {
      region.writableBytes();
    } catch (error) {
      if (error instanceof IpcError) debugPrintln(`${error.code}: ${error.message}`);
    }
    try {
      memoryRegion("nope");
    } catch (error) {
      if (error instanceof IpcError) debugPrintln(`${error.code}: ${error.message}`);
    }
  },
});
