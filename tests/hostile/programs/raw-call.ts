// For the hostile programs that drive a channel below the PD API (from workerData): publish a ppcall with no
// registers straight into the channel buffer and ring the callee, as a runtime would, without its checks.
import { layout } from "../../../src/internal.ts";

const C = layout.CHANNEL_I32;

/** Publishes a call labelled `label` on the channel buffer `i32` and rings the callee's doorbell `bell`. */
export function rawCall(i32: Int32Array, bell: Int32Array, label = 0): void {
  i32[C.MSG_COUNT] = 0;
  i32[C.MSG_LABEL_LO] = label;
  i32[C.MSG_LABEL_HI] = 0;
  Atomics.store(i32, C.CALL_STATE, layout.CallState.CALLED);
  Atomics.store(bell, layout.DOORBELL_I32.RING, 1);
  Atomics.notify(bell, layout.DOORBELL_I32.RING);
}
