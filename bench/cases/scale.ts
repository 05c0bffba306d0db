// More PDs than cores: a notification passed around a ring of 63 PDs on this machine's cores (µs per hop,
// against floor.futex: each hop should cost about one futex wake, not a fight for the cores with PDs that
// spin), and ppcall.hot with 60 idle PDs booted beside it (idle PDs must cost the hot pair nothing).
import { fileURLToPath } from "node:url";
import type { SystemDescription } from "../../src/index.ts";
import { median, type BenchCase } from "../harness.ts";
import { bootRounds } from "./boot-round.ts";

const programs = fileURLToPath(new URL("../programs/", import.meta.url));

function ring(n: number): SystemDescription {
  const names = Array.from({ length: n }, (_, i) => `ring${i}of${n}`);
  return {
    protectionDomains: names.map((name) => ({ name, priority: 100, program: `${programs}ring-hop.ts` })),
    channels: names.map((name, i) => ({ ends: [{ pd: name, id: 0 }, { pd: names[(i + 1) % n]!, id: 1 }] as const })),
  };
}

/** Boots `description` and returns the median of the rounds its PD `reporter` printed. */
async function measured(description: SystemDescription, reporter: string, trusted: readonly string[] = []): Promise<number> {
  return median(await bootRounds(description, reporter, { trusted }));
}

function crowded(idle: number): SystemDescription {
  return {
    protectionDomains: [
      { name: "hot", priority: 100, program: `${programs}ppcall-client.ts` },
      { name: "server", priority: 200, program: `${programs}ppcall-server.ts` },
      ...Array.from({ length: idle }, (_, i) => ({ name: `idle${i}`, priority: 50, program: `${programs}idle.ts` })),
    ],
    channels: [{ ends: [{ pd: "hot", id: 0, pp: true }, { pd: "server", id: 1 }] }],
  };
}

const cases: readonly BenchCase[] = [
  {
    id: "ring.63pd",
    unit: "µs/op",
    lowerIsBetter: true,
    baseline: ["floor.futex"],
    note: "µs per hop of a notification around 63 PDs",
    run: () => measured(ring(63), "ring0of63"),
  },
  {
    id: "ppcall.hot.crowded",
    unit: "µs/op",
    lowerIsBetter: true,
    baseline: ["ppcall.hot"],
    note: "ppcall.hot with 60 idle PDs booted beside",
    run: () => {
      process.env["ISOKIT_BENCH_ROUNDS"] = "3";
      process.env["ISOKIT_BENCH_ITERATIONS"] = "200000";
      // Trusted, as ppcall.hot is: the client reads its parameters from the environment.
      return measured(crowded(60), "hot", ["hot", "server"]);
    },
  },
];

export default cases;
