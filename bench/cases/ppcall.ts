// isokit's own cases: protected calls and notifications between two PDs on real worker threads, and boot.
// Each round boots a fresh system; the client PD times its own loop (warm-up first) and prints one JSON line.
import { fileURLToPath } from "node:url";
import { boot, type SystemDescription } from "../../src/index.ts";
import type { BenchCase } from "../harness.ts";
import { bootRound } from "./boot-round.ts";

const programs = fileURLToPath(new URL("../programs/", import.meta.url));

export function pair(client: string): SystemDescription {
  return {
    protectionDomains: [
      { name: client, priority: 100, program: `${programs}ppcall-client.ts` },
      { name: "server", priority: 200, program: `${programs}ppcall-server.ts` },
    ],
    channels: [{ ends: [{ pd: client, id: 0, pp: true }, { pd: "server", id: 1 }] }],
  };
}

/** Boots the pair, lets the client run one measured round, returns its µs per operation. */
function oneRound(client: string, iterations: number, spinMicros?: number): Promise<number> {
  process.env["ISOKIT_BENCH_ROUNDS"] = "1";
  process.env["ISOKIT_BENCH_ITERATIONS"] = String(iterations);
  return bootRound(pair(client), client, {
    // Trusted: the figures confined PDs are compared with (bench/cases/confined.ts).
    trusted: [client, "server"],
    ...(spinMicros === undefined ? {} : { wait: { spinMicros } }),
  });
}

/** region.1mib.rtt: a 1 MiB payload in a memory region both PDs map, passed by (offset, length). */
function regionRound(iterations: number): Promise<number> {
  process.env["ISOKIT_BENCH_ITERATIONS"] = String(iterations);
  const map = { mr: "payload", vaddr: 0x400_0000, perms: "rw", setvarVaddr: "payload" };
  const description: SystemDescription = {
    protectionDomains: [
      { name: "client", priority: 100, program: `${programs}region-client.ts`, maps: [map] },
      { name: "server", priority: 200, program: `${programs}region-server.ts`, maps: [{ ...map, perms: "r" }] },
    ],
    channels: [{ ends: [{ pd: "client", id: 0, pp: true }, { pd: "server", id: 1 }] }],
    memoryRegions: [{ name: "payload", size: 1 << 20 }],
  };
  return bootRound(description, "client", { trusted: ["client", "server"] });
}

/** The compiled package (`npm run build`): boot.10pd measures what a user's JavaScript PDs cost to start. */
const dist = new URL("../../dist/index.js", import.meta.url).href;

/** boot.10pd (trusted) and boot.10pd.confined. */
export async function bootTenPds(confined = false): Promise<number> {
  const compiled = (await import(dist)) as { boot: typeof boot };
  const names = Array.from({ length: 10 }, (_, i) => `pd${i}`);
  const start = performance.now();
  const system = await compiled.boot(
    {
      protectionDomains: names.map((name, i) => ({ name, priority: i, program: `${programs}idle.mjs` })),
      channels: names.slice(1).map((name, i) => ({ ends: [{ pd: names[i]!, id: 0 }, { pd: name, id: 1 }] as const })),
    },
    { trusted: confined ? [] : names },
  );
  const elapsed = performance.now() - start;
  await system.shutdown();
  return elapsed;
}

const cases: BenchCase[] = [
  {
    id: "ppcall.hot",
    unit: "µs/op",
    lowerIsBetter: true,
    baseline: ["floor.spin", "floor.ppcall", "postmessage.rtt", "comlink.rtt"],
    run: () => oneRound("hot", 200_000),
  },
  {
    // Callee asleep on every call: both PDs sleep in Atomics.wait between events (spin budget 0), the
    // configuration floor.futex measures with raw futexes.
    id: "ppcall.cold",
    unit: "µs/op",
    lowerIsBetter: true,
    baseline: ["floor.futex"],
    run: () => oneRound("hot", 5_000, 0),
  },
  {
    id: "notify.hot",
    unit: "µs/op",
    lowerIsBetter: true,
    baseline: ["floor.spin", "floor.notify"],
    run: () => oneRound("notify", 200_000),
  },
  {
    id: "region.1mib.rtt",
    unit: "µs/op",
    lowerIsBetter: true,
    baseline: ["ppcall.hot", "postmessage.1mib.transfer"],
    note: "1 MiB in a mapped region, (offset, length) in the call, read in place",
    run: () => regionRound(200_000),
  },
  {
    id: "boot.10pd",
    unit: "ms",
    lowerIsBetter: true,
    baseline: ["floor.boot.10workers"],
    run: () => bootTenPds(),
  },
];

export default cases;
