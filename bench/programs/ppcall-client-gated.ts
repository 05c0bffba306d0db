// Benchmark client for ppcall.hot.dashboard (bench/cases/trace.ts): ppcall-client.ts's hot loop, started only
// once the host sets byte 0 of the memory region "bench-go" to 1, so the host can boot the pair, attach the
// dashboard and open it in a browser before anything is timed (boot() returns while this init() waits).
import { debugPrintln, memoryRegion, protectionDomain } from "../../src/index.ts";
import { benchParam } from "./params.ts";
import { hot } from "./ppcall-loop.ts";

export default protectionDomain({
  init() {
    const rounds = Number(benchParam("ISOKIT_BENCH_ROUNDS") ?? 1);
    const iterations = Number(benchParam("ISOKIT_BENCH_ITERATIONS") ?? 100_000);
    const go = memoryRegion("bench-go").bytes;
    const pause = new Int32Array(new SharedArrayBuffer(4)); // a trusted client's: sleeps between looks
    const until = performance.now() + 120_000;
    while (go[0] !== 1 && performance.now() < until) Atomics.wait(pause, 0, 0, 5);
    hot(iterations); // warm-up, as ppcall-client.ts
    const results: number[] = [];
    for (let r = 0; r < rounds; r++) results.push(hot(iterations));
    debugPrintln(JSON.stringify({ case: "dashboard", rounds: results }));
  },
});
