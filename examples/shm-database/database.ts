// The database: creates the region, fills it, and grants the client a read capability (RECEIVE only).
import { debugPrintln, protectionDomain } from "isokit/microkit";
import { grantCap, Rights } from "isokit/endpoints";
import { createRegion } from "isokit/regions";
import { RECORD_BYTES, RECORDS } from "./records.ts";

export default protectionDomain({
  init() {
    const { cap, region } = createRegion(RECORDS * RECORD_BYTES);
    const db = region.writableBytes();
    const view = new DataView(db.buffer);
    for (let i = 0; i < RECORDS; i++) {
      const name = new TextEncoder().encode(`record number ${i}`);
      view.setUint32(i * RECORD_BYTES, 1000 + i, true);
      view.setUint32(i * RECORD_BYTES + 4, name.length, true);
      db.set(name, i * RECORD_BYTES + 8);
    }
    // db.create_read_capability(client_pid): derive down to RECEIVE (read), then grant it.
    grantCap(cap.derive(Rights.RECEIVE | Rights.GRANT), "client", Rights.RECEIVE, { name: "db" });
    debugPrintln(`${RECORDS} records in a ${RECORDS * RECORD_BYTES}-byte region; read capability granted to client`);
  },
});
