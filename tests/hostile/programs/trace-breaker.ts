// A PD that breaks its own trace ring: a HEAD a million records past anything it wrote, and a rewritten
// capacity. The kernel must refuse the ring and fault this PD alone.
import { workerData } from "node:worker_threads";
import { debugPrintln, protectionDomain } from "../../../src/index.ts";
import { TRACE_I32 } from "../../../src/protocol/trace.ts";

export default protectionDomain({
  init() {
    const i32 = new Int32Array((workerData as { trace: { buffer: SharedArrayBuffer } }).trace.buffer);
    i32[TRACE_I32.CAPACITY] = 1 << 30;
    Atomics.store(i32, TRACE_I32.HEAD, Atomics.load(i32, TRACE_I32.HEAD) + 1_000_000);
    debugPrintln("ring broken");
  },
});
