// The client: `let view = SharedRegion::map(read_cap)?; let data = view.read_record(key)?;`
import { isIpcError } from "isokit";
import { debugPrintln, protectionDomain } from "isokit/microkit";
import { lookupCapability } from "isokit/endpoints";
import { mapRegion } from "isokit/regions";
import { readRecord } from "./records.ts";

export default protectionDomain({
  init() {
    const view = mapRegion(lookupCapability("db", { timeout: 5000 }));
    for (const index of [0, 512, 1023]) {
      const record = readRecord(view.bytes as Uint8Array, index);
      debugPrintln(`record ${index}: key ${record.key}, '${record.name}' (read in place)`);
    }
    try {
      view.writableBytes();
    } catch (error) {
      debugPrintln(`writing through the read capability: ${isIpcError(error) ? error.code : String(error)}`);
    }
  },
});
