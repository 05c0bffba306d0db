// Drives channel 0 below the PD API: writes each call's tag (count and label words) straight into the channel
// buffer, some of them malformed, and waits for the server's answer to each. Prints what came back for each
// call: "ok" (a reply), "refused" (the server's refusal marker in MSG_COUNT), or "timeout".
import { workerData } from "node:worker_threads";
import { debugPrintln, protectionDomain } from "../../../src/index.ts";
import { layout, type PdBootData } from "../../../src/internal.ts";

const C = layout.CHANNEL_I32;
/** [count, label low word, label high word]: the same tag twice, then the count or the label changed, two malformed. */
export const TAGS: ReadonlyArray<readonly [number, number, number]> = [
  [1, 5, 0],
  [1, 5, 0],
  [2, 5, 0],
  [2, 6, 0],
  [65, 5, 0], // 65 registers: more than a message holds
  [2, 6, 0],
  [1, 5, 0x10_0000], // label 2^52 + 5: above the 52-bit label
  [1, 5, 0],
  [0, 5, 1], // label 2^32 + 5, count 0
];

export default protectionDomain({
  init() {
    const boot = workerData as PdBootData;
    const i32 = new Int32Array(boot.ends[0]!.buffer);
    const bell = new Int32Array(boot.ends[0]!.peerDoorbell);
    for (const [count, lo, hi] of TAGS) {
      i32[C.MSG_COUNT] = count;
      i32[C.MSG_LABEL_LO] = lo;
      i32[C.MSG_LABEL_HI] = hi;
      Atomics.store(i32, C.CALL_STATE, layout.CallState.CALLED);
      Atomics.store(bell, layout.DOORBELL_I32.RING, 1);
      Atomics.notify(bell, layout.DOORBELL_I32.RING);
      const deadline = Date.now() + 10_000;
      while (Atomics.load(i32, C.CALL_STATE) === layout.CallState.CALLED && Date.now() < deadline);
      if (Atomics.load(i32, C.CALL_STATE) !== layout.CallState.REPLIED) debugPrintln("timeout");
      else debugPrintln((i32[C.MSG_COUNT]! >>> 0) === 0xffff_ffff ? "refused" : "ok");
    }
  },
});
