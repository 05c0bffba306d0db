// A hostile caller: bypasses the runtime and writes a malformed request (count 1000) straight into the
// channel buffer the kernel gave it, rings the server, and reports what came back. Then it makes a proper
// call, to show the server still serves.
import { workerData } from "node:worker_threads";
import { Channel, debugPrintln, getMr, MessageInfo, protectionDomain, setMr } from "../../src/index.ts";
import { layout, type PdBootData } from "../../src/internal.ts";

const SERVER = new Channel(13);

export default protectionDomain({
  init() {
    const boot = workerData as PdBootData;
    const end = boot.ends.find((e) => e.id === 13)!;
    const i32 = new Int32Array(end.buffer);
    const C = layout.CHANNEL_I32;
    i32[C.MSG_COUNT] = 1000; // more registers than exist
    Atomics.store(i32, C.CALL_STATE, layout.CallState.CALLED);
    const doorbell = new Int32Array(end.peerDoorbell);
    Atomics.store(doorbell, layout.DOORBELL_I32.RING, 1);
    Atomics.notify(doorbell, layout.DOORBELL_I32.RING);
    while (Atomics.load(i32, C.CALL_STATE) === layout.CallState.CALLED) Atomics.wait(i32, C.CALL_STATE, layout.CallState.CALLED, 50);
    debugPrintln(`malformed call answered: state=${Atomics.load(i32, C.CALL_STATE)} count=${i32[C.MSG_COUNT]! >>> 0}`);
    Atomics.store(i32, C.CALL_STATE, layout.CallState.IDLE);

    setMr(0, 3);
    setMr(1, 5);
    SERVER.ppcall(new MessageInfo(1, 2));
    debugPrintln(`proper call: MR0=${getMr(0)}`);
  },
});
