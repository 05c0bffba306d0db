// One PD of ring.63pd: channel 0 goes to the next PD of the ring, channel 1 comes from the previous one. A
// notification arriving is passed on; pd0 starts each lap and, after LAPS laps, prints the µs per hop of the
// round. Every hop is a notification to a PD that, with 63 PDs on 2 cores, is usually asleep.
import { Channel, debugPrintln, pdName, protectionDomain } from "../../src/index.ts";

const NEXT = new Channel(0);
const LAPS = 20;
/** Rounds pd0 measures (the first is the warm-up); the bench takes the median of the others. */
const ROUNDS = 4;
/** From the PD's name, `ring<i>of<n>`, read in init(): the name is known only once the PD runs. */
let hops = 0;
let first = false;

let lap = 0;
let round = 0;
let start = 0;
const results: number[] = [];

export default protectionDomain({
  init() {
    hops = Number(/^ring\d+of(\d+)$/.exec(pdName())?.[1] ?? 0);
    first = pdName().startsWith("ring0of");
    if (!first) return;
    start = performance.now();
    NEXT.notify();
  },
  notified() {
    if (!first) {
      NEXT.notify();
      return;
    }
    if (++lap < LAPS) {
      NEXT.notify();
      return;
    }
    results.push(((performance.now() - start) * 1000) / (LAPS * hops));
    lap = 0;
    if (++round < ROUNDS) {
      start = performance.now();
      NEXT.notify();
    } else {
      debugPrintln(JSON.stringify({ rounds: results.slice(1) }));
    }
  },
});
