// Benchmark client for ppcall.hot.unwatched and the dashboard cases (bench/cases/trace.ts): ppcall-client.ts's hot loop, started only
// once the host sets byte 0 of the memory region "bench-go" to 1, so the host can boot the pair, attach the
// dashboard and open it in a browser before anything is timed (boot() returns while this init() waits).
// Timed by the clock rather than by a count: the warm-up runs ISOKIT_BENCH_WARM_MS, long enough for the
// dashboard to see the machine busy as it would while anyone watches it; each round then runs at least
// ISOKIT_BENCH_ROUND_MS, so that it spans the page's updates whether it gets four a second or one.
import { debugPrintln, memoryRegion, protectionDomain } from "../../src/index.ts";
import { benchParam } from "./params.ts";
import { hot } from "./ppcall-loop.ts";

/** Batches of `batch` calls until `ms` have passed: µs per call over all of them. */
function hotFor(ms: number, batch: number): number {
  const start = performance.now();
  let us = 0;
  let calls = 0;
  do {
    us += hot(batch) * batch;
    calls += batch;
  } while (performance.now() - start < ms);
  return us / calls;
}

export default protectionDomain({
  init() {
    const rounds = Number(benchParam("ISOKIT_BENCH_ROUNDS") ?? 1);
    const batch = Number(benchParam("ISOKIT_BENCH_ITERATIONS") ?? 100_000);
    const warmMs = Number(benchParam("ISOKIT_BENCH_WARM_MS") ?? 0);
    const roundMs = Number(benchParam("ISOKIT_BENCH_ROUND_MS") ?? 0);
    const go = memoryRegion("bench-go").bytes;
    const pause = new Int32Array(new SharedArrayBuffer(4)); // a trusted client's: sleeps between looks
    const until = performance.now() + 120_000;
    while (go[0] !== 1 && performance.now() < until) Atomics.wait(pause, 0, 0, 5);
    hotFor(warmMs, batch); // at least one batch: the warm-up of ppcall-client.ts
    const results: number[] = [];
    for (let r = 0; r < rounds; r++) results.push(hotFor(roundMs, batch));
    debugPrintln(JSON.stringify({ case: "dashboard", rounds: results }));
  },
});
