// A PD whose trace ring's HEAD claims a quarter of the ring each time the kernel has emptied it: records it never
// wrote (kind 0, skipped), twenty times. Each claim makes the kernel's next tick drain every ring; the kernel must
// take exactly what was claimed, skip it, and go on draining and joining the honest PDs' records.
import { workerData } from "node:worker_threads";
import { debugPrintln, protectionDomain } from "../../../src/index.ts";
import { TRACE_I32 } from "../../../src/protocol/trace.ts";

const ROUNDS = 20;
/** A hang guard, not a timing assertion: the kernel ticks every 10 ms. */
const GIVE_UP_MS = 4000;

export default protectionDomain({
  init() {
    const i32 = new Int32Array((workerData as { trace: { buffer: SharedArrayBuffer } }).trace.buffer);
    const quarter = i32[TRACE_I32.CAPACITY]! / 4;
    const nap = new Int32Array(new SharedArrayBuffer(4));
    const deadline = Date.now() + GIVE_UP_MS;
    let head = Atomics.load(i32, TRACE_I32.HEAD) >>> 0;
    let taken = 0;
    for (let round = 0; round < ROUNDS && Date.now() < deadline; round++) {
      head = (head + quarter) >>> 0;
      Atomics.store(i32, TRACE_I32.HEAD, head | 0);
      while (Atomics.load(i32, TRACE_I32.TAIL) >>> 0 !== head && Date.now() < deadline) Atomics.wait(nap, 0, 0, 1);
      if (Atomics.load(i32, TRACE_I32.TAIL) >>> 0 === head) taken++;
    }
    debugPrintln(`claimed ${taken} quarters of ${quarter} records`);
  },
});
