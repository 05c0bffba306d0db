// A PD that writes its trace ring's HEAD itself, claiming records it never wrote (kind 0, skipped), and waits each
// time until the kernel has taken them (TAIL reaches HEAD). Its name chooses the claim:
// - `creeper`: a quarter less one record, five times. No ring of the system ever reaches the quarter that makes
//   the kernel's tick drain at once: its records must still be taken, each time within the tick's longest gap,
//   without anyone asking for statistics.
// - `nagger`: a quarter each time the kernel has emptied it, twenty times. Each claim makes the kernel's next tick
//   drain every ring; the kernel must take exactly what was claimed, skip it, and go on draining and joining the
//   honest PDs' records.
import { workerData } from "node:worker_threads";
import { debugPrintln, pdName, protectionDomain } from "../../../src/index.ts";
import { TRACE_I32 } from "../../../src/protocol/trace.ts";

/** A hang guard, not a timing assertion: the kernel ticks every 10 ms, its longest gap is 100 ms. */
const GIVE_UP_MS = 4000;

export default protectionDomain({
  init() {
    const creeper = pdName() === "creeper";
    const rounds = creeper ? 5 : 20;
    const i32 = new Int32Array((workerData as { trace: { buffer: SharedArrayBuffer } }).trace.buffer);
    const quarter = i32[TRACE_I32.CAPACITY]! / 4;
    const claim = creeper ? quarter - 1 : quarter;
    const nap = new Int32Array(new SharedArrayBuffer(4));
    const deadline = Date.now() + GIVE_UP_MS;
    let head = Atomics.load(i32, TRACE_I32.HEAD) >>> 0;
    let taken = 0;
    for (let round = 0; round < rounds && Date.now() < deadline; round++) {
      head = (head + claim) >>> 0;
      Atomics.store(i32, TRACE_I32.HEAD, head | 0);
      while (Atomics.load(i32, TRACE_I32.TAIL) >>> 0 !== head && Date.now() < deadline) Atomics.wait(nap, 0, 0, 1);
      if (Atomics.load(i32, TRACE_I32.TAIL) >>> 0 === head) taken++;
    }
    debugPrintln(creeper ? `drained ${taken} of ${rounds} rounds of ${claim} records` : `claimed ${taken} quarters of ${claim} records`);
  },
});
