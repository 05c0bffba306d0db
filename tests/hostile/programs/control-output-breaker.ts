// A PD that breaks its own output ring: prints one honest line, then stores a HEAD far past anything it wrote
// (and rewrites the ring's header sizes), as if it had published a million lines. The kernel must refuse the
// ring and fault this PD alone.
import { workerData } from "node:worker_threads";
import { debugPrintln, protectionDomain } from "../../../src/index.ts";

export default protectionDomain({
  init() {
    debugPrintln("before");
    const i32 = new Int32Array((workerData as { output: SharedArrayBuffer }).output);
    i32[1] = 1 << 20; // CAPACITY, as if the ring were huge
    i32[2] = 1 << 20; // SLOT_BYTES
    Atomics.store(i32, 32, Atomics.load(i32, 32) + 1_000_000); // HEAD (byte 128)
  },
});
