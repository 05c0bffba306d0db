// A PD that keeps its trace ring just under a quarter full: it publishes a quarter less one record (left as the
// kernel made them: kind 0, skipped), waits until the kernel has taken them (TAIL reaches HEAD), and again, five
// times. No ring of the system ever reaches the quarter that makes the kernel's tick drain at once: its records
// must still be taken, each time within the tick's longest gap, without anyone asking for statistics.
import { workerData } from "node:worker_threads";
import { debugPrintln, protectionDomain } from "../../../src/index.ts";
import { TRACE_I32 } from "../../../src/protocol/trace.ts";

const ROUNDS = 5;
/** A hang guard, not a timing assertion: the kernel's gap is 100 ms. */
const GIVE_UP_MS = 4000;

export default protectionDomain({
  init() {
    const i32 = new Int32Array((workerData as { trace: { buffer: SharedArrayBuffer } }).trace.buffer);
    const quarter = i32[TRACE_I32.CAPACITY]! / 4;
    const nap = new Int32Array(new SharedArrayBuffer(4));
    const deadline = Date.now() + GIVE_UP_MS;
    let head = Atomics.load(i32, TRACE_I32.HEAD) >>> 0;
    let drained = 0;
    for (let round = 0; round < ROUNDS; round++) {
      head = (head + quarter - 1) >>> 0;
      Atomics.store(i32, TRACE_I32.HEAD, head | 0);
      while (Atomics.load(i32, TRACE_I32.TAIL) >>> 0 !== head && Date.now() < deadline) Atomics.wait(nap, 0, 0, 1);
      if (Atomics.load(i32, TRACE_I32.TAIL) >>> 0 === head) drained++;
    }
    debugPrintln(`drained ${drained} of ${ROUNDS} rounds of ${quarter - 1} records`);
  },
});
