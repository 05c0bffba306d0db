// A PD that rewrites its trace records after the kernel has copied them (READ past them: the test asks for a live
// view until this PD says it rewrote them). The kernel keeps a copy of what it took (src/kernel/trace.ts,
// FlightRecorder) and never reads a record twice, so nothing it shows may change: not the trace file, not a
// live view. It writes twelve NOTIFY records, honest but for the last two (on channel 7, which it does not
// hold), waits until the kernel has taken them, then rewrites them in its ring:
//   0-1  the kind, to PPCALL          2-3  the channel, to 5 (not held)     4-5  the time, far in the future
//   6    the label                    7    untouched
//   8-9  the kind, to PROTECTED on its channel 0 (it serves no calls)      10-11  the channel, to 0 (held)
// What the kernel shows: records 0-9, notifies on channel 0, as it took them; 10 and 11 skipped. It writes them
// raw, past its runtime, so it counts none of them: its counts show no operation.
import { workerData } from "node:worker_threads";
import { debugPrintln, protectionDomain } from "../../../src/index.ts";
import { RECORD_FIELD, RECORD_I32, TRACE_I32, TRACE_RECORDS, TraceKind } from "../../../src/protocol/trace.ts";

/** A hang guard, not a timing assertion: the test copies the rings in a loop until this PD has written its line. */
const GIVE_UP_MS = 10_000;

export default protectionDomain({
  init() {
    const trace = (workerData as { trace: { buffer: SharedArrayBuffer; timeOrigin: number } }).trace;
    const i32 = new Int32Array(trace.buffer);
    const f64 = new Float64Array(trace.buffer);
    const mask = i32[TRACE_I32.CAPACITY]! - 1;
    const head = Atomics.load(i32, TRACE_I32.HEAD) >>> 0;
    const word = (k: number): number => TRACE_RECORDS / 4 + ((head + k) & mask) * RECORD_I32;
    const now = (): number => performance.now() + performance.timeOrigin - trace.timeOrigin; // the kernel's clock
    for (let k = 0; k < 12; k++) {
      const w = word(k);
      f64[w >> 1] = now();
      i32.fill(0, w + RECORD_FIELD.KIND, w + RECORD_I32);
      i32[w + RECORD_FIELD.KIND] = TraceKind.NOTIFY;
      i32[w + RECORD_FIELD.OBJECT] = k < 10 ? 0 : 7;
      i32[w + RECORD_FIELD.LABEL] = k;
    }
    Atomics.store(i32, TRACE_I32.HEAD, (head + 12) | 0);
    const nap = new Int32Array(new SharedArrayBuffer(4));
    const deadline = Date.now() + GIVE_UP_MS;
    while ((Atomics.load(i32, TRACE_I32.READ) >>> 0) < head + 12 && Date.now() < deadline) Atomics.wait(nap, 0, 0, 1);
    const set = (k: number, field: number, value: number): void => {
      i32[word(k) + field] = value;
    };
    for (const k of [0, 1]) set(k, RECORD_FIELD.KIND, TraceKind.PPCALL);
    for (const k of [2, 3]) set(k, RECORD_FIELD.OBJECT, 5);
    for (const k of [4, 5]) f64[word(k) >> 1] = now() + 1e9;
    set(6, RECORD_FIELD.LABEL, 666);
    for (const k of [8, 9]) set(k, RECORD_FIELD.KIND, TraceKind.PROTECTED);
    for (const k of [10, 11]) set(k, RECORD_FIELD.OBJECT, 0);
    debugPrintln((Atomics.load(i32, TRACE_I32.READ) >>> 0) >= head + 12 ? "rewrote 12 copied records" : "the kernel never took them");
  },
});
