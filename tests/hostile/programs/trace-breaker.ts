// A PD that breaks its own trace ring: it rewrites the ring's capacity, moves HEAD a million records past
// anything it wrote (which an overwriting ring allows: the kernel reads at most one ring of it), waits until the
// kernel has read that far (READ, written when a trace reader copies the ring: the test asks for a live view
// until this PD has said what happened), then moves HEAD back. The kernel must refuse the ring and fault this PD
// alone.
import { workerData } from "node:worker_threads";
import { debugPrintln, protectionDomain } from "../../../src/index.ts";
import { TRACE_I32 } from "../../../src/protocol/trace.ts";

/** A hang guard, not a timing assertion. */
const GIVE_UP_MS = 10_000;

export default protectionDomain({
  init() {
    const i32 = new Int32Array((workerData as { trace: { buffer: SharedArrayBuffer } }).trace.buffer);
    i32[TRACE_I32.CAPACITY] = 1 << 30;
    const ahead = (Atomics.load(i32, TRACE_I32.HEAD) + 1_000_000) | 0;
    Atomics.store(i32, TRACE_I32.HEAD, ahead);
    const nap = new Int32Array(new SharedArrayBuffer(4));
    const deadline = Date.now() + GIVE_UP_MS;
    while (Atomics.load(i32, TRACE_I32.READ) !== ahead && Date.now() < deadline) Atomics.wait(nap, 0, 0, 1);
    Atomics.store(i32, TRACE_I32.HEAD, ahead - 10);
    debugPrintln(Atomics.load(i32, TRACE_I32.READ) === ahead ? "ring broken" : "the kernel never read it");
  },
});
