// Statistics (issue #14): `system.stats()` in both modes, and `isokit run --stats [--json]` / `--trace FILE`
// end to end through the command; and the output half of the kernel's tick, which skips PDs with nothing to print.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { checkTraceFile } from "../src/kernel/trace.ts";
import { formatStats, type SystemStats } from "../src/kernel/stats.ts";
import { boot } from "../src/index.ts";
import { KernelOutput } from "../src/kernel/output.ts";
import { DEFAULT_LIMITS } from "../src/protocol/limits.ts";
import { createOutputRing, OutputRingWriter } from "../src/shm/output-ring.ts";
import { ringGeometry } from "../src/shm/ring.ts";
import { clientServer, run, testsDir } from "./helpers.ts";

const root = fileURLToPath(new URL("..", import.meta.url));

function isokit(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], { cwd: root, encoding: "utf8", timeout: 60_000, env: { ...process.env, NO_COLOR: "1" } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("system.stats()", () => {
  it("in-process mode counts states, faults and output, not operations (there is no trace ring)", async () => {
    await using booted = await run(clientServer("client"), "in-process");
    const stats = booted.system.stats();
    assert.equal(stats.traced, false);
    // States and faults as the system reports them, output lines as the host received them.
    const faults = (pd: string): number => booted.system.faults.filter((f) => f.pd === pd).length;
    assert.deepEqual(
      stats.pds.map((p) => [p.name, p.state, p.faults, p.outputLines]),
      booted.system.pds().map((p) => [p.name, p.state, faults(p.name), booted.of(p.name).length]),
    );
    assert.deepEqual(stats.pds.map((p) => p.operations), [{}, {}]);
    assert.deepEqual(stats.channels.map((c) => [c.index, c.pp, c.ends[0].pd, c.ends[1].pd]), [[0, "0->1", "client", "server"], [1, "none", "client", "server"]]);
  });

  it("a PD in one entry point past a second is warned about, traced or not (from its ENTRY word)", async () => {
    const system = await boot(
      {
        protectionDomains: [
          { name: "caller-1", priority: 10, program: "programs/blocked-caller.ts" },
          { name: "server", priority: 100, program: "programs/stuck-server.ts" },
        ],
        channels: [{ ends: [{ pd: "caller-1", id: 0, pp: true }, { pd: "server", id: 0 }] }],
      },
      // Trusted: the server's module makes a SharedArrayBuffer (for its other label's Atomics.wait).
      { baseDir: testsDir, onOutput: () => {}, initTimeoutMs: 300, trusted: ["server"], limits: { entryBudgetMs: 60_000 } },
    );
    try {
      const deadline = Date.now() + 30_000; // guards a hang only: the warning comes after ~1 s
      let warned: string | undefined;
      while (warned === undefined && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        warned = system.stats().warnings.find((w) => w.startsWith("PD 'server' has been in an entry point for "));
      }
      assert.match(warned ?? "", /^PD 'server' has been in an entry point for \d+ ms \(it may never return\)$/);
      const server = system.stats().pds.find((p) => p.name === "server")!;
      assert.equal(server.inEntryFor?.entry, "an entry point");
      assert.ok(server.inEntryFor.ms > 1000);
    } finally {
      await system.shutdown(200);
    }
  });

  it("the table names every PD and channel and says whether the run was traced", () => {
    const latency = { count: 0, p50Ns: 0, p99Ns: 0, maxNs: 0, log2Buckets: [] };
    const stats: SystemStats = {
      at: 0,
      traced: false,
      sampleEvery: 1,
      pds: [{ name: "a", pid: 1, state: "running", faults: 1, restarts: 1, outputLines: 2, operations: {}, capabilities: 3, queueDepth: 0, traceDropped: 0, traceSkipped: 0 }],
      channels: [{ index: 0, ends: [{ pd: "a", id: 1 }, { pd: "b", id: 2 }], pp: "0->1", ppcalls: 0, notifies: 0, callLatency: latency, serveLatency: latency, pending: 0 }],
      endpoints: [],
      kernel: { objectsCreated: 0, objectsDestroyed: 0, liveCapabilities: 3, endpointsLive: 0, slotsLive: 0, syscalls: 7, quotaHits: { syscallsPerSec: 2 } },
      trace: { records: 0, dropped: 0, skipped: 0, evicted: 0 },
      warnings: ["quota syscallsPerSec hit 2 times"],
    };
    const text = formatStats(stats);
    assert.match(text, /^PD +state +faults +restarts +caps +queue +output +operations\na +running +1 +1 +3 +0 +2 +-$/m);
    assert.match(text, /^0 +a:1 - b:2 +0->1 +0 +0 +- +- +- +-$/m);
    assert.match(text, /^kernel: 7 syscalls, 3 live capabilities, 0 endpoints, quota hits: syscallsPerSec 2; not traced/m);
    assert.match(text, /^warning: quota syscallsPerSec hit 2 times$/m);
  });
});

describe("the isokit module", () => {
  it("exports what docs/observability.md names: checkTraceFile, formatStats, startDashboard, DASHBOARD_TRACE", async () => {
    const isokit = await import("../src/isokit.ts");
    assert.equal(isokit.checkTraceFile, checkTraceFile);
    assert.equal(isokit.formatStats, formatStats);
    assert.deepEqual(isokit.DASHBOARD_TRACE, { sampleEvery: 64 });
    assert.equal(typeof isokit.startDashboard, "function");
    // The types, compile-time: a snapshot and a trace file as a user's code names them.
    const stats: import("../src/isokit.ts").SystemStats | undefined = undefined;
    const file: import("../src/isokit.ts").TraceFile | undefined = undefined;
    assert.deepEqual([stats, file], [undefined, undefined]);
  });
});

describe("isokit run --stats / --trace", () => {
  it("--stats --json prints one JSON document on stdout with the example's ppcall and its latency", () => {
    const r = isokit("run", "examples/ipc/ipc.system", "--stats", "--json");
    assert.equal(r.status, 0, r.stderr);
    const last = r.stdout.trim().split("\n").at(-1)!;
    const stats = JSON.parse(last) as SystemStats;
    assert.equal(stats.traced, true);
    assert.equal(stats.channels[0]!.ppcalls, 1);
    assert.equal(stats.channels[0]!.notifies, 2);
    assert.equal(stats.pds.find((p) => p.name === "client")!.operations["ppcall"], 1);
    assert.equal(stats.pds.find((p) => p.name === "server")!.operations["protected"], 1);
  });

  it("--stats prints the table on stderr; --json alone is a usage error", () => {
    const r = isokit("run", "examples/ipc/ipc.system", "--stats");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /^channel +ends +pp +ppcalls +notifies +p50 +p99 +max +serve p50\n0 +client:13 - server:37 +0->1 +1 +2 /m);
    const bad = isokit("run", "examples/ipc/ipc.system", "--json");
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /^isokit: --json needs --stats$/m);
  });

  it("--trace FILE writes a Trace Event file that passes the format's rules", () => {
    const file = join(mkdtempSync(join(tmpdir(), "isokit-trace-")), "ipc.json");
    const r = isokit("run", "examples/ipc/ipc.system", "--trace", file);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /^trace: \d+ events written to .*ipc\.json \(open it in https:\/\/ui\.perfetto\.dev\)$/m);
    const trace: unknown = JSON.parse(readFileSync(file, "utf8"));
    assert.deepEqual(checkTraceFile(trace), []);
  });
});

describe("the kernel tick's output turn", () => {
  /** A KernelOutput with PDs `a` (a ring and a stream) and `b` (a ring), and what it emitted and refused. */
  function output(): { out: KernelOutput; lines: string[]; broken: string[]; a: OutputRingWriter; b: OutputRingWriter; bRing: SharedArrayBuffer; stream: PassThrough } {
    const lines: string[] = [];
    const broken: string[] = [];
    const out = new KernelOutput(DEFAULT_LIMITS, (pd, text) => lines.push(`${pd}: ${text}`), () => undefined, (pd, why) => broken.push(`${pd}: ${why}`));
    const aRing = createOutputRing(16);
    const bRing = createOutputRing(16);
    const stream = new PassThrough();
    out.add("a", aRing, ringGeometry(aRing), [stream]);
    out.add("b", bRing, ringGeometry(bRing), []);
    return { out, lines, broken, a: new OutputRingWriter(aRing), b: new OutputRingWriter(bRing), bRing, stream };
  }
  const later = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

  it("takes the lines of the rings that have some, in the order they were written across PDs", () => {
    const { out, lines, a, b } = output();
    out.turn(false);
    assert.deepEqual(lines, [], "nothing anywhere");
    const at = Date.now() - 1000; // older than the ordering window: emitted by the turn that takes them
    b.write("b first", at);
    a.write("a second", at + 1);
    out.turn(false);
    assert.deepEqual(lines, ["b: b first", "a: a second"]);
    out.turn(false);
    assert.equal(lines.length, 2, "nothing twice");
  });

  it("a line still in the ordering window is emitted by a later turn, though every ring is empty by then", async () => {
    const { out, lines, a } = output();
    a.write("waits", Date.now());
    out.turn(false);
    await later(60); // past the 25 ms window (a lower bound: the assertion does not depend on how long it took)
    out.turn(false);
    assert.deepEqual(lines, ["a: waits"]);
  });

  it("takes what a PD's stream delivered, with no line in any ring", async () => {
    const { out, lines, stream } = output();
    stream.write("from console.log\n");
    await later(60);
    out.turn(false);
    out.turn(true);
    assert.deepEqual(lines, ["a: from console.log"]);
  });

  it("a ring whose HEAD claims more than it holds is refused once, and the other PD's lines still come", () => {
    const { out, lines, broken, a, bRing } = output();
    Atomics.store(new Int32Array(bRing), 128 / 4, 1_000_000); // HEAD (shm/ring.ts: byte 128)
    a.write("still here", Date.now() - 1000);
    out.turn(false);
    out.turn(false);
    assert.equal(broken.length, 1, broken.join("\n"));
    assert.match(broken[0]!, /^b: HEAD is \d+ slots ahead of TAIL in a ring of \d+$/);
    assert.deepEqual(lines, ["a: still here"]);
  });
});
