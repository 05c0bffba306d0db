// Holds channel 0 to 'victim' with notify="false" and without pp, and forges both anyway: it stores the
// victim's NOTIFY count and CALL_STATE = CALLED straight into the channel buffer and rings the victim. Then it
// waits (bounded) for the victim to take the forged notification (its published NOTIFY_SEEN count) and reports.
// As "late-forger" it waits 300 ms first.
import { workerData } from "node:worker_threads";
import { debugPrintln, pdName, protectionDomain } from "../../../src/index.ts";
import { layout, type PdBootData } from "../../../src/internal.ts";

export default protectionDomain({
  init() {
    // Named "late-forger": forges 300 ms in, once the victim is past its first scan (spinning, in that test).
    if (pdName() === "late-forger") Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
    const boot = workerData as PdBootData;
    const end = boot.ends.find((e) => e.id === 0)!;
    const i32 = new Int32Array(end.buffer);
    const C = layout.CHANNEL_I32;
    const toPeer = end.end === 0 ? C.NOTIFY_TO_END1 : C.NOTIFY_TO_END0;
    const seenByPeer = end.end === 0 ? C.NOTIFY_SEEN_BY_END1 : C.NOTIFY_SEEN_BY_END0;
    Atomics.store(i32, C.CALL_STATE, layout.CallState.CALLED);
    Atomics.store(i32, toPeer, 1);
    const bell = new Int32Array(end.peerDoorbell);
    // Rung as any ringer does (an add): a store of 1 to a bell that already held 1 woke the victim to the same
    // value, which then slept on without looking, and this PD waited past its watchdog budget.
    Atomics.add(bell, layout.DOORBELL_I32.RING, 1);
    Atomics.notify(bell, layout.DOORBELL_I32.RING);
    const deadline = Date.now() + 10_000;
    while (Atomics.load(i32, seenByPeer) !== 1 && Date.now() < deadline) Atomics.wait(i32, seenByPeer, 0, 20);
    debugPrintln(`forged notification ${Atomics.load(i32, seenByPeer) === 1 ? "cleared" : "still pending"}`);
  },
});
