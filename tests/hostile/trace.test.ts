// A PD's trace ring is untrusted input (issue #14): whatever a PD writes there costs only its own track. On
// real worker threads: garbage records are skipped and counted while an honest pair's call is traced and
// joined as usual; a HEAD that jumps millions ahead costs the kernel no more than a ring's newest records; one
// that moves back is refused and faults its PD alone; records rewritten after the kernel took them change
// nothing it shows; a PD that records without pause overwrites its own ring, and the kernel counts every
// record, says how many it lost, and keeps no more than its quota of events.
import assert from "node:assert/strict";
import { dirname } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { boot, isIpcError, type BootOptions, type RunningSystem, type SystemDescription } from "../../src/index.ts";
import { checkTraceFile } from "../../src/kernel/trace.ts";

const baseDir = dirname(fileURLToPath(import.meta.url));
const program = (name: string): string => `programs/${name}.ts`;
/** The honest pair: the Microkit tutorial's client and server (a notify each way, one ppcall). */
const honest: SystemDescription = {
  protectionDomains: [
    { name: "client", priority: 100, program: "../../examples/ipc/microkit-ipc-client.ts" },
    { name: "server", priority: 200, program: "../../examples/ipc/microkit-ipc-server.ts" },
  ],
  channels: [{ ends: [{ pd: "client", id: 13, pp: true }, { pd: "server", id: 37 }] }],
};

async function start(description: SystemDescription, options: BootOptions): Promise<RunningSystem & AsyncDisposable> {
  const system = await boot(description, { mode: "workers", baseDir, onOutput: () => undefined, ...options });
  await system.whenIdle();
  return system;
}

const state = (system: RunningSystem, pd: string): string | undefined => system.pds().find((p) => p.name === pd)?.state;

describe("hostile trace rings", () => {
  test("garbage records are skipped and counted; the honest pair's call is traced and joined; nobody is faulted", async () => {
    await using system = await start(
      { ...honest, protectionDomains: [...honest.protectionDomains, { name: "garbage", priority: 1, program: program("trace-garbage") }] },
      // Trusted: it writes its trace ring's raw memory (from workerData), below the PD API a confined program has.
      { trace: true, trusted: ["garbage"] },
    );
    await system.shutdown();
    assert.deepEqual(system.faults, []);
    const file = system.observer.traceFile()!; // copies the rings: the records are checked as they are copied
    const stats = system.stats();
    const garbage = stats.pds.find((p) => p.name === "garbage")!;
    // 1000 records: the kernel skips unknown kinds, non-finite and out-of-range times and channels the PD does
    // not hold; nothing of it is counted as an operation of anyone (counts come from the PD's count table).
    assert.ok(garbage.traceSkipped >= 900, `skipped ${garbage.traceSkipped}`);
    assert.deepEqual(garbage.operations, Object.fromEntries(Object.entries(garbage.operations).filter(([k]) => ["send", "receive", "reply", "call"].includes(k))));
    assert.equal(stats.channels[0]!.ppcalls, 1);
    assert.deepEqual(checkTraceFile(JSON.parse(JSON.stringify(file))), []);
    assert.equal(file.traceEvents.filter((e) => e.ph === "X" && (e.cat === "ppcall" || e.cat === "protected")).length, 2);
  });

  test("a caller that lies about when it called stretches none of the server's servings back before the server began", async () => {
    const lines: string[] = [];
    const before = performance.now() * 1000; // µs on the kernel's clock, as the trace's timestamps are
    await using system = await start(
      { protectionDomains: [{ name: "server", priority: 200, program: program("trace-server") }, { name: "liar", priority: 100, program: program("trace-liar") }], channels: [{ ends: [{ pd: "liar", id: 13, pp: true }, { pd: "server", id: 37 }] }] },
      // Trusted: it drives the channel and its trace ring through raw memory (from workerData).
      { trace: true, trusted: ["liar"], onOutput: (e) => lines.push(`${e.pd}: ${e.text}`) },
    );
    await system.shutdown();
    assert.deepEqual(system.faults, []);
    assert.ok(lines.includes("liar: answered 200"), lines.join("\n"));
    const file = system.observer.traceFile()!;
    assert.deepEqual(checkTraceFile(JSON.parse(JSON.stringify(file))), []);
    const serves = file.traceEvents.filter((e) => e.ph === "X" && e.cat === "protected");
    assert.equal(serves.length, 200);
    for (const s of serves) assert.ok(s.ts >= before, `a serving starts at ${s.ts} µs, before the system booted at ${before}`);
    // Times are µs with ns resolution: 1 ns of slack for rounding.
    for (let k = 1; k < serves.length; k++) assert.ok(serves[k]!.ts >= serves[k - 1]!.ts + serves[k - 1]!.dur! - 1e-3, `servings do not overlap: ${k} starts at ${serves[k]!.ts}, ${k - 1} ends at ${serves[k - 1]!.ts + serves[k - 1]!.dur!}`);
    // No serving lasted longer than the system has existed (the lie would make one last since the time origin).
    const latency = system.stats().channels[0]!.serveLatency;
    const lived = (performance.now() * 1000 - before) * 1000; // ns
    assert.ok(latency.count > 0 && latency.count <= 200 && latency.maxNs <= lived, `serve latency ${JSON.stringify(latency)}, system up ${lived} ns`);
  });

  test("a caller that lies about when it called an endpoint moves none of the server's receives back over the server's past", async () => {
    const lines: string[] = [];
    const before = performance.now() * 1000; // µs on the kernel's clock, as the trace's timestamps are
    const liar = program("trace-endpoint-liar");
    await using system = await start(
      { protectionDomains: [{ name: "server", priority: 200, program: liar }, { name: "liar", priority: 100, program: liar }], channels: [{ ends: [{ pd: "liar", id: 0 }, { pd: "server", id: 0 }] }] },
      // Trusted: the liar writes its trace ring's raw memory (from workerData); the server runs the same program.
      { trace: true, trusted: ["liar", "server"], onOutput: (e) => lines.push(`${e.pd}: ${e.text}`) },
    );
    await system.shutdown();
    assert.deepEqual(system.faults, []);
    const { CALLS } = await import("./programs/trace-endpoint-liar.ts");
    assert.ok(lines.includes(`liar: lied about ${CALLS} calls`), lines.join("\n"));
    const file = system.observer.traceFile()!;
    assert.deepEqual(checkTraceFile(JSON.parse(JSON.stringify(file))), []);
    const server = 1; // the first PD's track
    const events = file.traceEvents.filter((e) => e.ph === "X" && e.tid === server && e.cat === "endpoint");
    assert.equal(events.filter((e) => e.name.startsWith("receive ")).length, CALLS);
    assert.equal(events.filter((e) => e.name.startsWith("reply ")).length, CALLS);
    // In order, each receive after the server's previous event (1 ns of slack for rounding) and after it booted.
    for (const e of events) assert.ok(e.ts >= before, `${e.name} ${String(e.args?.["seq"])} at ${e.ts} µs, before the system booted at ${before}`);
    for (let k = 1; k < events.length; k++) assert.ok(events[k]!.ts >= events[k - 1]!.ts - 1e-3, `${events[k]!.name} at ${events[k]!.ts} before ${events[k - 1]!.name} at ${events[k - 1]!.ts}`);
    assert.deepEqual(events.map((e) => e.name.split(" ")[0]), Array.from({ length: 2 * CALLS }, (_, k) => (k % 2 === 0 ? "receive" : "reply")));
  });

  /** Boots `description` and copies the trace rings (a live view) until `done` holds (a guard against a hang only). */
  async function bootCopying(description: SystemDescription, options: BootOptions, done: (system: RunningSystem) => boolean): Promise<RunningSystem & AsyncDisposable> {
    // Boot returns while the hostile init() waits for the kernel to copy its ring.
    const system = await boot(description, { mode: "workers", baseDir, onOutput: () => undefined, initTimeoutMs: 0, ...options });
    const deadline = Date.now() + 20_000;
    while (!done(system) && Date.now() < deadline) {
      system.observer.liveTrace(0)?.next(100);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await system.whenIdle();
    return system;
  }

  test("a trace ring whose HEAD moves back is refused and faults its PD alone (after a jump of a million, which is allowed)", async () => {
    await using system = await bootCopying(
      { ...honest, protectionDomains: [...honest.protectionDomains, { name: "breaker", priority: 1, program: program("trace-breaker") }] },
      // Trusted: it moves its trace ring's HEAD itself (from workerData), which a confined program cannot reach.
      { trace: true, trusted: ["breaker"] },
      // Not its output line: the fault can end it before the kernel reads the line.
      (running) => state(running, "breaker") === "faulted",
    );
    const fault = system.faults.find((f) => f.pd === "breaker");
    assert.ok(fault !== undefined && isIpcError(fault.error, "InvalidMessage"), `a typed fault: ${String(fault?.error)}`);
    // From the jump, which the kernel took as a million records written, to ten less.
    assert.equal(fault.error.message, "trace: PD 'breaker' broke its trace ring: HEAD moved back from 1000000 to 999990");
    assert.deepEqual(system.faults.map((f) => f.pd), ["breaker"]);
    assert.equal(state(system, "client"), "running");
    assert.equal(system.stats().channels[0]!.ppcalls, 1);
  });

  test("a HEAD that jumps a million records ahead, twenty times, costs the kernel its newest records each tick: nobody is faulted, the honest pair is traced and joined", async () => {
    const lines: string[] = [];
    await using system = await start(
      { ...honest, protectionDomains: [...honest.protectionDomains, { name: "jumper", priority: 1, program: program("trace-jumper") }] },
      // Trusted: it moves its trace ring's HEAD itself (from workerData).
      { trace: true, trusted: ["jumper"], onOutput: (e) => lines.push(`${e.pd}: ${e.text}`) },
    );
    assert.ok(lines.some((l) => l.startsWith("jumper: claimed 20 million records")), lines.join("\n"));
    await system.shutdown();
    assert.deepEqual(system.faults, []);
    const file = system.observer.traceFile()!;
    const stats = system.stats();
    const jumper = stats.pds.find((p) => p.name === "jumper")!;
    assert.deepEqual(jumper.operations, {});
    // The file's copy reads one ring's worth (its capacity less the slot being written), all empty.
    assert.equal(jumper.traceSkipped, 262_143);
    assert.equal(stats.channels[0]!.ppcalls, 1);
    assert.equal(stats.channels[0]!.callLatency.count, 1, "the honest call, timed by the tick's sample");
    assert.deepEqual(checkTraceFile(JSON.parse(JSON.stringify(file))), []);
    assert.equal(file.traceEvents.filter((e) => e.ph === "X" && (e.cat === "ppcall" || e.cat === "protected")).length, 2, "the honest call and its serving, joined");
  });

  test("records a PD rewrites after the kernel took them change nothing it shows: the trace file and a live view show them as scanned", async () => {
    const lines: string[] = [];
    await using system = await bootCopying(
      {
        protectionDomains: [...honest.protectionDomains, { name: "rewriter", priority: 1, program: program("trace-rewriter") }, { name: "quiet", priority: 2, program: program("trace-quiet") }],
        channels: [...honest.channels, { ends: [{ pd: "rewriter", id: 0 }, { pd: "quiet", id: 0 }] }],
      },
      // Trusted: it writes its trace ring's raw memory (from workerData).
      { trace: true, trusted: ["rewriter"], onOutput: (e) => lines.push(`${e.pd}: ${e.text}`) },
      () => lines.some((l) => l.startsWith("rewriter: ")),
    );
    assert.ok(lines.includes("rewriter: rewrote 12 copied records"), lines.join("\n"));
    const live = system.observer.liveTrace(1000)!.next(1000);
    await system.shutdown();
    assert.deepEqual(system.faults, []);
    const stats = system.stats();
    const rewriter = stats.pds.find((p) => p.name === "rewriter")!;
    assert.deepEqual(rewriter.operations, {}, "it wrote its records raw: its count table counted none");
    assert.equal(rewriter.traceSkipped, 2, "the two on a channel it does not hold");
    const file = system.observer.traceFile()!;
    assert.deepEqual(checkTraceFile(JSON.parse(JSON.stringify(file))), []);
    for (const events of [file.traceEvents, live]) {
      const shown = events.filter((e) => e.tid === rewriter.pid && e.ph !== "M");
      assert.deepEqual(shown.map((e) => [e.cat, e.args?.["channel"]]), Array.from({ length: 10 }, () => ["notify", 0]), "records 0-9, as they were when taken");
    }
    assert.equal(file.traceEvents.filter((e) => e.ph === "X" && (e.cat === "ppcall" || e.cat === "protected")).length, 2, "the honest call and its serving, joined");
  });

  test("a PD recording without pause overwrites its own ring: every record is counted, what no reader got is reported lost, and the kernel keeps at most its quota of events", async () => {
    await using system = await start(
      {
        protectionDomains: [
          { name: "flooder", priority: 1, program: program("trace-flooder") },
          { name: "quiet", priority: 2, program: program("trace-quiet") },
        ],
        channels: [{ ends: [{ pd: "flooder", id: 0, notify: true }, { pd: "quiet", id: 0 }] }],
      },
      // A quota under one ring: the file's copy takes the ring's last 1,023 records and must evict past its 500.
      { trace: { recordsPerPd: 1024, eventsPerPd: 500 } },
    );
    await system.shutdown();
    assert.deepEqual(system.faults, []);
    const file = system.observer.traceFile()!;
    const stats = system.stats();
    const flooder = stats.pds.find((p) => p.name === "flooder")!;
    const kept = file.traceEvents.filter((e) => e.tid === flooder.pid && e.ph !== "M").length;
    assert.equal(flooder.operations["notify"], 200_000, "counted by the PD, every one, though its ring keeps 1,024");
    assert.ok(flooder.traceDropped >= 200_000 - 1023, `lost ${flooder.traceDropped}`);
    assert.ok(stats.warnings.some((w) => /^PD 'flooder' dropped \d+ trace records/.test(w)));
    assert.ok(kept <= 500, `the kernel kept ${kept} of the flooder's events`);
    assert.ok(stats.trace.evicted > 0);
  });
});
