// Serves one protected call: in it, zeroes the MAGIC word of its own async ring (the kernel's clean-up reads
// that ring when the PD dies) and exits its worker. Its caller must wake with PeerDied; the process must live.
import { workerData } from "node:worker_threads";
import { protectionDomain } from "../../../src/index.ts";
import type { PdBootData } from "../../../src/internal.ts";

export default protectionDomain({
  protected() {
    const boot = workerData as PdBootData;
    for (const end of boot.asyncChannels) {
      const d = end.descriptor as { ring?: SharedArrayBuffer; rings?: SharedArrayBuffer[] };
      for (const ring of d.ring !== undefined ? [d.ring] : (d.rings ?? [])) new Int32Array(ring)[0] = 0; // MAGIC
    }
    process.exit(3);
  },
});
