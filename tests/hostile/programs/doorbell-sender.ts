// An honest PD that notifies 'honest' once, at a moment the attack makes a skipped ring likely: once mallory
// has cleared honest's SLEEPING at least once (word 0 of region "ctl", which mallory counts in), and while the
// flag is cleared. It reports the answer. (Catching the flag set by polling it raced mallory: under load the
// window was missed for longer than the watchdog's budget.)
import { workerData } from "node:worker_threads";
import { Channel, debugPrintln, protectionDomain } from "../../../src/index.ts";
import { layout, type PdBootData } from "../../../src/internal.ts";

const HONEST = new Channel(0);

export default protectionDomain({
  init() {
    const end = (workerData as PdBootData).ends.find((e) => e.id === 0)!;
    const bell = new Int32Array(end.peerDoorbell);
    const ctl = new Int32Array((workerData as PdBootData).regions.find((r) => r.symbol === "ctl")!.buffer);
    const SLEEPING = layout.DOORBELL_I32.SLEEPING;
    const deadline = Date.now() + 60_000; // a hang guard only
    let announced = false;
    while (Date.now() < deadline) {
      // honest announced a sleep and mallory cleared it; wait (sleeping 1 ms at a time) until the flag is down
      if (Atomics.load(ctl, 0) > 0 && Atomics.load(bell, SLEEPING) === 0) {
        announced = true;
        break;
      }
      Atomics.wait(ctl, 0, Atomics.load(ctl, 0), 1);
    }
    debugPrintln(announced ? "notifying while honest's SLEEPING is cleared" : "never saw honest sleep");
    HONEST.notify();
  },
  notified() {
    debugPrintln("answered");
  },
});
