// Endpoint calls (64 bytes, call + replyRecv) between PDs on real worker threads, alone and with a third PD
// flooding the same endpoint. Each round boots a fresh system; the client times its own loop after a warm-up.
import { fileURLToPath } from "node:url";
import type { SystemDescription } from "../../src/index.ts";
import type { BenchCase } from "../harness.ts";
import { bootRound } from "./boot-round.ts";

const program = fileURLToPath(new URL("../programs/endpoint-bench.ts", import.meta.url));

export function description(flooded: boolean): SystemDescription {
  const names = flooded ? ["server", "client", "flooder"] : ["server", "client"];
  // The server grants to the others by name: a channel connects each of them to it (authority to grant).
  const channels = names.slice(1).map((name, i): SystemDescription["channels"][number] => ({ ends: [{ pd: "server", id: i + 1 }, { pd: name, id: 0 }] }));
  return { protectionDomains: names.map((name, i) => ({ name, priority: 200 - i, program })), channels };
}

async function oneRound(flooded: boolean, iterations: number, into = false): Promise<number> {
  process.env["ISOKIT_BENCH_ITERATIONS"] = String(iterations);
  process.env["ISOKIT_BENCH_FLOODED"] = flooded ? "1" : "0";
  if (into) process.env["ISOKIT_BENCH_INTO"] = "1";
  try {
    // Trusted: the figures confined PDs are compared with (bench/cases/confined.ts).
    return await bootRound(description(flooded), "client", { trusted: description(flooded).protectionDomains.map((pd) => pd.name) });
  } finally {
    delete process.env["ISOKIT_BENCH_INTO"]; // the other cases that run this program (trace, confined) copy
  }
}

const cases: BenchCase[] = [
  {
    id: "endpoint.call",
    unit: "µs/op",
    lowerIsBetter: true,
    baseline: ["ppcall.hot", "postmessage.rtt"],
    note: "64 B call + replyRecv",
    run: () => oneRound(false, 200_000),
  },
  {
    id: "endpoint.callInto",
    unit: "µs/op",
    lowerIsBetter: true,
    baseline: ["ppcall.hot", "endpoint.call"],
    note: "64 B callInto + replyRecvInto (one MessageBuffer each side)",
    run: () => oneRound(false, 200_000, true),
  },
  {
    id: "endpoint.call.flooded",
    unit: "µs/op",
    lowerIsBetter: true,
    baseline: ["endpoint.call"],
    note: "p99 of single calls, a third PD flooding",
    run: () => oneRound(true, 200_000),
  },
];

export default cases;
