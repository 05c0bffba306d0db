// A PD that writes its trace ring's HEAD itself, claiming a million records it never wrote, twenty times a few
// milliseconds apart: the kernel's tick must read no more than its newest records each time (they are empty,
// kind 0, and passed over), fault nobody, and go on timing the honest pair's call.
import { workerData } from "node:worker_threads";
import { debugPrintln, protectionDomain } from "../../../src/index.ts";
import { TRACE_I32 } from "../../../src/protocol/trace.ts";

export default protectionDomain({
  init() {
    const i32 = new Int32Array((workerData as { trace: { buffer: SharedArrayBuffer } }).trace.buffer);
    const nap = new Int32Array(new SharedArrayBuffer(4));
    let head = Atomics.load(i32, TRACE_I32.HEAD) >>> 0;
    for (let round = 0; round < 20; round++) {
      head = (head + 1_000_000) >>> 0;
      Atomics.store(i32, TRACE_I32.HEAD, head | 0);
      Atomics.wait(nap, 0, 0, 5);
    }
    debugPrintln(`claimed 20 million records, HEAD ${head}`);
  },
});
