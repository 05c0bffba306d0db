// Benchmark client. Its PD name chooses the case: `hot` (back-to-back ppcalls, both sides spinning), `cold`
// (a pause between calls long enough for the server to fall asleep; only the call is timed), `notify`
// (notification ping-pong). Rounds and iterations come from params.ts (a region or the environment); each
// round's mean µs per operation is printed as one JSON line.
import { Channel, debugPrintln, MessageInfo, pdName, protectionDomain, setMr } from "../../src/index.ts";
import { benchParam } from "./params.ts";
import { hot } from "./ppcall-loop.ts";

const SERVER = new Channel(0);
let rounds = 7;
let iterations = 100_000;

function cold(n: number): number {
  const info = new MessageInfo(1, 1);
  const pause = new Int32Array(new SharedArrayBuffer(4)); // a trusted client's: confined, only hot and notify run
  let total = 0;
  for (let i = 0; i < n; i++) {
    Atomics.wait(pause, 0, 0, 2); // 2 ms: the server's 20 µs spin is long over, it sleeps in Atomics.wait
    setMr(0, i);
    const start = performance.now();
    SERVER.ppcall(info);
    total += performance.now() - start;
  }
  return (total * 1000) / n;
}

let pongs = 0;
let notifyRound: { n: number; start: number } | undefined;
const results: number[] = [];

function report(): void {
  debugPrintln(JSON.stringify({ case: pdName(), rounds: results }));
}

export default protectionDomain({
  init() {
    rounds = Number(benchParam("ISOKIT_BENCH_ROUNDS") ?? 7);
    iterations = Number(benchParam("ISOKIT_BENCH_ITERATIONS") ?? 100_000);
    const name = pdName();
    if (name === "notify") {
      notifyRound = { n: Math.max(1, Math.floor(iterations / 2)), start: performance.now() };
      pongs = 0;
      SERVER.notify();
      return;
    }
    const run = name === "hot" ? hot : cold;
    const n = name === "hot" ? iterations : Math.max(50, Math.floor(iterations / 1000));
    run(n); // warm-up: long enough for both sides to reach optimized code
    for (let r = 0; r < rounds; r++) results.push(run(n));
    report();
  },
  notified() {
    const round = notifyRound!;
    if (++pongs < round.n) {
      SERVER.notify();
      return;
    }
    results.push(((performance.now() - round.start) * 1000) / round.n);
    if (results.length < rounds + 1) {
      notifyRound = { n: round.n, start: performance.now() };
      pongs = 0;
      SERVER.notify();
    } else {
      results.shift(); // the first round was the warm-up
      report();
    }
  },
});
