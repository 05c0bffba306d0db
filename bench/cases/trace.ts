// Tracing's cost (issue #14): the hot ppcall and the endpoint call of ppcall.ts and endpoint.ts, booted with
// `trace: true`, so every call writes its records into both PDs' trace rings and the kernel drains them.
// Tracing off is the same build (ppcall.hot, endpoint.call): one branch on a field per operation.
import { fileURLToPath } from "node:url";
import type { SystemDescription } from "../../src/index.ts";
import type { BenchCase } from "../harness.ts";
import { bootRound } from "./boot-round.ts";

const programs = fileURLToPath(new URL("../programs/", import.meta.url));

export const ppcallPair: SystemDescription = {
  protectionDomains: [
    { name: "hot", priority: 100, program: `${programs}ppcall-client.ts` },
    { name: "server", priority: 200, program: `${programs}ppcall-server.ts` },
  ],
  channels: [{ ends: [{ pd: "hot", id: 0, pp: true }, { pd: "server", id: 1 }] }],
};

export const endpointPair: SystemDescription = {
  protectionDomains: ["server", "client"].map((name, i) => ({ name, priority: 200 - i, program: `${programs}endpoint-bench.ts` })),
  channels: [{ ends: [{ pd: "server", id: 1 }, { pd: "client", id: 0 }] }],
};

/**
 * Boots `description` (traced unless `trace` is false); `client` prints the round's µs per operation as
 * `{ rounds: [x] }`. The client's measured loop runs in one entry point: the watchdog's budget is raised.
 */
export function tracedRound(description: SystemDescription, client: string, iterations: number, trace = true): Promise<number> {
  process.env["ISOKIT_BENCH_ROUNDS"] = "1";
  process.env["ISOKIT_BENCH_ITERATIONS"] = String(iterations);
  process.env["ISOKIT_BENCH_FLOODED"] = "0";
  // Trusted, as ppcall.hot and endpoint.call are (the figures these are compared with).
  return bootRound(description, client, { trace, trusted: description.protectionDomains.map((pd) => pd.name) });
}

const cases: BenchCase[] = [
  {
    id: "ppcall.hot.traced",
    unit: "µs/op",
    lowerIsBetter: true,
    baseline: ["ppcall.hot"],
    note: "trace on: 2 records per side per call",
    run: () => tracedRound(ppcallPair, "hot", 200_000),
  },
  {
    id: "endpoint.call.traced",
    unit: "µs/op",
    lowerIsBetter: true,
    baseline: ["endpoint.call"],
    note: "trace on: call, receive, reply records",
    run: () => tracedRound(endpointPair, "client", 200_000),
  },
];

export default cases;
