// The doorbell attack: holds a channel to 'honest' (so it has honest's doorbell, as every peer does) and, from
// below the PD API, keeps clearing honest's SLEEPING word, so that rings to honest are skipped (a ringer rings
// only a doorbell whose owner says it sleeps). It stops when honest notifies it (read raw: this PD is still in
// init()), and reports whether it ever found SLEEPING set, i.e. whether the attack really ran against a sleeper.
// Word 0 of region "ctl" (shared with 'sender' only) counts the sleeps it cleared, so sender knows the attack runs.
import { workerData } from "node:worker_threads";
import { debugPrintln, protectionDomain } from "../../../src/index.ts";
import { layout, type PdBootData } from "../../../src/internal.ts";

export default protectionDomain({
  init() {
    const end = (workerData as PdBootData).ends.find((e) => e.id === 0)!;
    const bell = new Int32Array(end.peerDoorbell);
    const channel = new Int32Array(end.buffer);
    const toMe = end.end === 0 ? layout.CHANNEL_I32.NOTIFY_TO_END0 : layout.CHANNEL_I32.NOTIFY_TO_END1;
    const SLEEPING = layout.DOORBELL_I32.SLEEPING;
    const ctl = new Int32Array((workerData as PdBootData).regions.find((r) => r.symbol === "ctl")!.buffer);
    let cleared = 0;
    const deadline = Date.now() + 60_000; // a hang guard only: honest releases it long before
    for (let i = 0; Atomics.load(channel, toMe) === 0; i++) {
      if (Atomics.load(bell, SLEEPING) !== 0) {
        Atomics.store(bell, SLEEPING, 0);
        Atomics.store(ctl, 0, ++cleared);
      }
      if ((i & 0xffff) === 0 && Date.now() > deadline) break;
    }
    debugPrintln(`cleared honest's SLEEPING ${cleared > 0 ? "while it slept" : "never"}; released ${Atomics.load(channel, toMe) !== 0 ? "by honest" : "by the guard"}`);
  },
  notified() {
    // honest's release, delivered once init() returned
  },
});
