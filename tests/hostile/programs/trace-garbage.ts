// A PD that writes garbage into its own trace ring: a thousand records of every kind the format has and
// many it does not, with NaN, negative, infinite and future times, channel ids it does not hold and ends
// without a begin, published with an honest HEAD (within the ring). The kernel must skip them and go on.
import { workerData } from "node:worker_threads";
import { debugPrintln, protectionDomain } from "../../../src/index.ts";
import { RECORD_I32, TRACE_I32, TRACE_RECORDS } from "../../../src/protocol/trace.ts";

export default protectionDomain({
  init() {
    const buffer = (workerData as { trace: { buffer: SharedArrayBuffer } }).trace.buffer;
    const i32 = new Int32Array(buffer);
    const f64 = new Float64Array(buffer);
    const capacity = i32[TRACE_I32.CAPACITY]!;
    const head = Atomics.load(i32, TRACE_I32.HEAD) >>> 0;
    const times = [Number.NaN, -5, Number.POSITIVE_INFINITY, 1e300, performance.now(), 0];
    for (let k = 0; k < 1000; k++) {
      const at = TRACE_RECORDS / 4 + ((head + k) & (capacity - 1)) * RECORD_I32;
      f64[at >> 1] = times[k % times.length]!;
      i32[at + 2] = k % 20; // kinds 0..19: the format has 1..18
      i32[at + 3] = (k * 7919) | 0; // channel / endpoint ids it does not hold
      i32[at + 4] = k;
      i32[at + 5] = -k;
      i32[at + 6] = k;
    }
    Atomics.store(i32, TRACE_I32.HEAD, (head + 1000) | 0);
    debugPrintln("garbage published");
  },
});
