// Confined PDs (issue #13) against the same cases run trusted, in the same run: a program in a Hardened
// JavaScript compartment reaches the PD API through lexical bindings, so a ppcall or an endpoint call should cost
// what it costs a trusted program (targets: within 1.05x), and booting 10 confined PDs within 1.2x of 10 trusted.
// Parameters reach the confined programs through a "bench-params" region (bench/programs/params.ts).
import type { SystemDescription } from "../../src/index.ts";
import type { BenchCase } from "../harness.ts";
import { bootRound } from "./boot-round.ts";
import { description as endpointPds } from "./endpoint.ts";
import { bootTenPds, pair } from "./ppcall.ts";

const PARAMS_BYTES = 4096;

/** `description` with a "bench-params" region holding `params` mapped into every PD. */
function withParams(description: SystemDescription, params: Record<string, string>): { description: SystemDescription; buffer: SharedArrayBuffer } {
  const buffer = new SharedArrayBuffer(PARAMS_BYTES);
  new Uint8Array(buffer).set(new TextEncoder().encode(JSON.stringify(params)));
  const map = { mr: "bench-params", vaddr: 0x800_0000, perms: "r", setvarVaddr: "bench-params" };
  return {
    description: {
      ...description,
      protectionDomains: description.protectionDomains.map((pd) => ({ ...pd, maps: [...(pd.maps ?? []), map] })),
      memoryRegions: [...(description.memoryRegions ?? []), { name: "bench-params", size: PARAMS_BYTES }],
    },
    buffer,
  };
}

/** Boots `description` confined, returns the first round the PD `reporter` printed. */
function confinedRound(base: SystemDescription, params: Record<string, string>, reporter: string): Promise<number> {
  const { description, buffer } = withParams(base, params);
  return bootRound(description, reporter, { regions: { "bench-params": buffer } });
}

const cases: BenchCase[] = [
  {
    id: "ppcall.hot.confined",
    unit: "µs/op",
    lowerIsBetter: true,
    baseline: ["ppcall.hot"],
    note: "both PDs confined; target within 1.05x",
    run: () => confinedRound(pair("hot"), { ISOKIT_BENCH_ROUNDS: "1", ISOKIT_BENCH_ITERATIONS: "200000" }, "hot"),
  },
  {
    id: "endpoint.call.confined",
    unit: "µs/op",
    lowerIsBetter: true,
    baseline: ["endpoint.call"],
    note: "both PDs confined; target within 1.05x",
    run: () => confinedRound(endpointPds(false), { ISOKIT_BENCH_ITERATIONS: "200000", ISOKIT_BENCH_FLOODED: "0" }, "client"),
  },
  {
    id: "boot.10pd.confined",
    unit: "ms",
    lowerIsBetter: true,
    baseline: ["boot.10pd"],
    note: "10 confined PDs (lockdown + compartment each); target within 1.2x",
    run: () => bootTenPds(true),
  },
];

export default cases;
