// A caller that lies in its trace ring about when it called: it drives its channel to the server through the
// channel buffer directly (200 calls, each answered before the next), and for each writes a PPCALL record of its
// own saying the call was published a microsecond after the kernel's time origin, long before the server started.
// The kernel joins those records to the server's: the server's servings must not be stretched back over its past.
import { workerData } from "node:worker_threads";
import { debugPrintln, protectionDomain } from "../../../src/index.ts";
import { layout, type PdBootData } from "../../../src/internal.ts";
import { rawCall } from "./raw-call.ts";
import { RECORD_I32, TRACE_I32, TRACE_RECORDS, TraceKind } from "../../../src/protocol/trace.ts";

const C = layout.CHANNEL_I32;
const CALLS = 200;

export default protectionDomain({
  init() {
    const boot = workerData as PdBootData;
    const end = boot.ends.find((e) => e.id === 13)!;
    const i32 = new Int32Array(end.buffer);
    const bell = new Int32Array(end.peerDoorbell);
    const ring = new Int32Array(boot.trace!.buffer);
    const f64 = new Float64Array(boot.trace!.buffer);
    const capacity = ring[TRACE_I32.CAPACITY]!;
    let answered = 0;
    for (let call = 1; call <= CALLS; call++) {
      rawCall(i32, bell, 1);
      const head = Atomics.load(ring, TRACE_I32.HEAD) >>> 0;
      const w = TRACE_RECORDS / 4 + (head & (capacity - 1)) * RECORD_I32;
      f64[w >> 1] = 0.001; // the lie: ms on the kernel's clock
      ring.set([TraceKind.PPCALL, 13, 0, call, 1, 0], w + 2);
      Atomics.store(ring, TRACE_I32.HEAD, (head + 1) | 0);
      const deadline = Date.now() + 20_000;
      while (Atomics.load(i32, C.CALL_STATE) !== layout.CallState.REPLIED && Date.now() < deadline);
      if (Atomics.load(i32, C.CALL_STATE) === layout.CallState.REPLIED) answered++;
    }
    debugPrintln(`answered ${answered}`);
  },
});
