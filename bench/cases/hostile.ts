// An honest PD's latency while another PD floods (issue 11), each case with its unloaded twin in the same run:
// the twin boots the same PDs with the attacker idle, so the ratio shows what the attack costs and nothing else.
//
// - syscall.p99 / hostile.syscall.p99: p99 of single honest syscalls (processId, the cheapest), alone, and while
//   an attacker PD makes syscalls as fast as the honest API allows (answered and refused ones; errors ignored).
//   Target: ≤ 10 ms under attack.
// - hostile.call.unloaded / hostile.call.flooded: median (over batches of 32 calls) of honest endpoint calls (64 B, call + replyRecv)
//   with the attacker idle, and while it floods the same endpoint through up to 1,000 capabilities it derived
//   from its own SEND capability (as many as the kernel's quotas let it connect; the note says how many).
//   Target: flooded ≤ 2× unloaded.
//
// Each round boots a fresh system (a flood must not outlive its round and load the next case's). The host
// supplies the `ctl` region (bench/programs/hostile-common.ts has its layout) to choose attack or idle and the
// number of operations, and to read what the attacker got.
import { fileURLToPath } from "node:url";
import { boot, type SystemDescription } from "../../src/index.ts";
import { BENCH_LIMITS, type BenchCase, type RunContext } from "../harness.ts";
import { CTL } from "../programs/hostile-common.ts";

const program = (name: string): string => fileURLToPath(new URL(`../programs/${name}`, import.meta.url));
const ctlMap = { mr: "ctl", vaddr: 0x400_0000, perms: "rw", setvarVaddr: "ctl" };

/** The syscall systems: `client` and `attacker`, connected by a channel (the description's relation). */
const syscallSystem: SystemDescription = {
  memoryRegions: [{ name: "ctl", size: 0x1000 }],
  protectionDomains: [
    { name: "client", priority: 200, program: program("hostile-syscall.ts"), maps: [ctlMap] },
    { name: "attacker", priority: 100, program: program("hostile-syscall.ts"), maps: [ctlMap] },
  ],
  channels: [{ ends: [{ pd: "client", id: 1 }, { pd: "attacker", id: 1 }] }],
};

/** The call systems: the server is connected to each client by a channel, so it may grant into both. */
const callSystem: SystemDescription = {
  memoryRegions: [{ name: "ctl", size: 0x1000 }],
  protectionDomains: [
    { name: "server", priority: 200, program: program("hostile-call.ts") },
    { name: "client", priority: 150, program: program("hostile-call.ts"), maps: [ctlMap] },
    { name: "attacker", priority: 100, program: program("hostile-call-attacker.ts"), maps: [ctlMap] },
  ],
  channels: [
    { ends: [{ pd: "server", id: 1 }, { pd: "client", id: 1 }] },
    { ends: [{ pd: "server", id: 2 }, { pd: "attacker", id: 1 }] },
  ],
};

interface RoundResult {
  readonly client: Record<string, number>;
  readonly got: number;
}

async function waitFor(ready: () => boolean, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!ready()) {
    if (performance.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return true;
}

async function oneRound(system: SystemDescription, attack: boolean, n: number, id: string): Promise<RoundResult> {
  const shared = new SharedArrayBuffer(0x1000);
  const words = new Int32Array(shared, 0, 16);
  words[CTL.ATTACK] = attack ? 1 : 0;
  words[CTL.N] = n;
  let line: string | undefined;
  const other: string[] = [];
  const running = await boot(system, {
    // Trusted: the PDs coordinate with Atomics on the ctl region's words, which a confined PD cannot reach.
    trusted: system.protectionDomains.map((pd) => pd.name),
    limits: BENCH_LIMITS,
    regions: { ctl: shared },
    initTimeoutMs: 50_000,
    onOutput: (e) => {
      if (e.pd === "client") line = e.text;
      else other.push(`${e.pd}: ${e.text}`);
    },
  });
  try {
    const answered = await waitFor(() => line !== undefined || running.faults.length > 0, 50_000);
    const fault = running.faults.find((f) => f.pd !== "attacker");
    if (fault !== undefined) throw new Error(`${id}: ${fault.pd} faulted: ${fault.error.message}`);
    if (!answered || line === undefined) throw new Error(`${id}: the client gave no result${other.length > 0 ? ` (${other.join("; ")})` : ""}`);
    return { client: JSON.parse(line) as Record<string, number>, got: Atomics.load(words, CTL.GOT) };
  } finally {
    Atomics.store(words, CTL.STOP, 1);
    await running.shutdown(2000);
  }
}

function figure(result: RoundResult, key: string, id: string): number {
  const value = result.client[key];
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) throw new Error(`${id}: no ${key} in ${JSON.stringify(result.client)}`);
  return value;
}

function syscallCase(id: string, attack: boolean): BenchCase {
  let attackerRate: number | undefined;
  return {
    id,
    unit: "µs/op",
    lowerIsBetter: true,
    ...(attack ? { baseline: ["syscall.p99"] } : {}),
    get note() {
      if (!attack) return "p99 of single honest syscalls (processId), the attacker PD idle";
      const rate = attackerRate === undefined ? "" : ` (~${Math.round(attackerRate / 1000)}k/s answered, last round)`;
      return `the same, an attacker PD making syscalls as fast as it can${rate}; target ≤ 10,000 µs`;
    },
    async run(_round: number, context: RunContext) {
      const result = await oneRound(syscallSystem, attack, Math.max(2000, Math.round(20_000 * context.scale)), id);
      attackerRate = result.client["attackerPerSec"];
      return figure(result, "p99", id);
    },
  };
}

function callCase(id: string, attack: boolean): BenchCase {
  let last: RoundResult | undefined;
  return {
    id,
    unit: "µs/op",
    lowerIsBetter: true,
    baseline: attack ? ["hostile.call.unloaded"] : ["floor.spin"],
    get note() {
      if (!attack) return "median of 32-call batch means, honest calls (64 B call + replyRecv), same PDs, attacker idle";
      if (last === undefined) return "the same, an attacker flooding the endpoint through up to 1,000 derived slots";
      const calls = last.client["calls"] ?? 0;
      const theirs = last.client["attackerMessages"] ?? 0;
      const share = calls + theirs > 0 ? ((100 * calls) / (calls + theirs)).toFixed(1) : "?";
      return `the same, the attacker flooding through ${last.got} slots it connected of 1,001; client got ${share}% of the server (last round); target ≤ 2×`;
    },
    async run(_round: number, context: RunContext) {
      const result = await oneRound(callSystem, attack, Math.max(5000, Math.round(50_000 * context.scale)), id);
      last = result;
      return figure(result, "median", id);
    },
  };
}

const cases: readonly BenchCase[] = [
  syscallCase("syscall.p99", false),
  syscallCase("hostile.syscall.p99", true),
  callCase("hostile.call.unloaded", false),
  callCase("hostile.call.flooded", true),
];

export default cases;
