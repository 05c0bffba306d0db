// An honest PD that notifies 'honest' once, at a moment the attack makes a skipped ring likely: after it has
// seen honest announce a sleep (SLEEPING set) and then seen mallory clear it again. It reports the answer.
import { workerData } from "node:worker_threads";
import { Channel, debugPrintln, protectionDomain } from "../../../src/index.ts";
import { layout, type PdBootData } from "../../../src/internal.ts";

const HONEST = new Channel(0);

export default protectionDomain({
  init() {
    const end = (workerData as PdBootData).ends.find((e) => e.id === 0)!;
    const bell = new Int32Array(end.peerDoorbell);
    const SLEEPING = layout.DOORBELL_I32.SLEEPING;
    const deadline = Date.now() + 60_000; // a hang guard only
    let announced = false;
    for (let i = 0; ; i++) {
      const sleeping = Atomics.load(bell, SLEEPING) !== 0;
      if (sleeping) announced = true;
      else if (announced) break; // honest announced its sleep and mallory has cleared the flag since
      if ((i & 0xffff) === 0 && Date.now() > deadline) break;
    }
    debugPrintln(announced ? "notifying while honest's SLEEPING is cleared" : "never saw honest sleep");
    HONEST.notify();
  },
  notified() {
    debugPrintln("answered");
  },
});
