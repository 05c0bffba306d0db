// The kernel's control plane against hostile PDs on real workers: garbage control messages, a PD that breaks
// the memory the kernel's clean-up reads, forged notifications and calls, forged output, output floods,
// forged child faults, a parent that never answers, an unfair scan, a PD stuck in a native call, and hostile
// error records. Each test fails on a kernel that trusts what a worker sends or writes.
import assert from "node:assert/strict";
import { dirname } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { boot, HOST, isIpcError, type BootOptions, type RunningSystem, type SystemDescription } from "../../src/index.ts";
import { allProtectionDomains, deserializeError } from "../../src/internal.ts";

const baseDir = dirname(fileURLToPath(import.meta.url));
const program = (name: string): string => `programs/${name}.ts`;

interface Booted extends AsyncDisposable {
  readonly system: RunningSystem;
  /** Output so far, as `pd: text`. */
  readonly lines: string[];
  of(pd: string): string[];
}

// Trusted: these PDs attack from below the PD API (raw shared memory, the control port, workerData), as a trusted
// PD can; the kernel's defences must hold against that, confined or not.
const everyPd = (description: SystemDescription): string[] => allProtectionDomains(description).map(({ pd }) => pd.name);

async function start(description: SystemDescription, options: BootOptions = {}, idle = true): Promise<Booted> {
  const lines: string[] = [];
  const system = await boot(description, { mode: "workers", baseDir, onOutput: (e) => lines.push(`${e.pd}: ${e.text}`), trusted: everyPd(description), ...options });
  if (idle) await guarded("whenIdle", system.whenIdle());
  return {
    system,
    lines,
    of: (pd) => lines.filter((l) => l.startsWith(`${pd}: `)).map((l) => l.slice(pd.length + 2)),
    [Symbol.asyncDispose]: () => system.shutdown(500),
  };
}

/** `promise`, or a rejection after `ms` (a hang guard, not a timing assertion). */
async function guarded<T>(what: string, promise: Promise<T>, ms = 30_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => { reject(new Error(`hang guard: ${what} did not settle within ${ms} ms`)); }, ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves when `ready()` holds, polled every 10 ms; rejects after `ms` (a hang guard, not a timing assertion). */
async function eventually(what: string, ready: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`hang guard: ${what} did not happen within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const state = (system: RunningSystem, pd: string): string | undefined => system.pds().find((p) => p.name === pd)?.state;

describe("hostile control messages", () => {
  test("a PD that breaks its own output ring (HEAD a million lines ahead, header sizes rewritten) is faulted alone; the others' output goes on", async () => {
    await using s = await start({
      protectionDomains: [
        { name: "breaker", priority: 1, program: program("control-output-breaker") },
        { name: "honest", priority: 2, program: program("control-hello") },
      ],
      channels: [],
    });
    await eventually("the breaker is faulted", () => state(s.system, "breaker") === "faulted");
    const fault = s.system.faults.find((f) => f.pd === "breaker");
    assert.ok(fault !== undefined && isIpcError(fault.error), `a typed fault: ${String(fault?.error)}`);
    assert.match(fault.error.message, /broke its output ring: HEAD is \d+ slots ahead/);
    assert.deepEqual(s.of("honest"), ["hello"]);
    assert.ok(s.of("breaker").length <= 1, `at most its honest line: ${JSON.stringify(s.of("breaker"))}`);
    assert.equal(state(s.system, "honest"), "running");
  });

  test("garbage on a PD's control port faults that PD alone, with a typed error; the process and the others go on", async () => {
    const garbage = ["g-null", "g-number", "g-array", "g-fault-no-error", "g-fault-bad-error", "g-unknown-type", "g-extra-key", "g-huge-entry", "g-number-type"];
    await using s = await start({
      protectionDomains: [
        ...garbage.map((name) => ({ name, priority: 1, program: program("control-garbage") })),
        { name: "caller", priority: 10, program: program("control-caller") },
        { name: "victim", priority: 20, program: program("control-victim") },
      ],
      channels: [{ ends: [{ pd: "caller", id: 0, pp: true }, { pd: "victim", id: 0 }] }],
    });
    for (const name of garbage) {
      assert.equal(state(s.system, name), "faulted", `${name} is faulted`);
      const fault = s.system.faults.find((f) => f.pd === name);
      assert.ok(fault !== undefined, `${name} has a fault record`);
      assert.equal(fault.entry, "control");
      assert.ok(isIpcError(fault.error, "InvalidMessage"), `${name}: ${String(fault.error)}`);
      assert.match(fault.error.message, new RegExp(`^control: PD '${name}' sent `));
      assert.ok(fault.error.message.length < 2000, "the error message is bounded");
    }
    assert.deepEqual(s.of("caller"), ["call -> reply label=8"]);
    assert.equal(state(s.system, "victim"), "running");
    assert.deepEqual(s.system.faults.map((f) => f.pd).sort(), [...garbage].sort());
  });

  test("a fault record with an unknown code and a huge message is not believed", async () => {
    await using s = await start({ protectionDomains: [{ name: "liar", priority: 1, program: program("control-bad-error") }], channels: [] });
    const fault = s.system.faults.find((f) => f.pd === "liar");
    assert.ok(fault !== undefined);
    assert.ok(!isIpcError(fault.error), "an unknown code does not become an IpcError");
    assert.match(fault.error.message, /unknown error code 'NotARealCode'/);
    assert.ok(fault.error.message.length <= 4200, `message bounded (${fault.error.message.length})`);
    assert.equal(state(s.system, "liar"), "faulted");
  });

  test("deserializeError never throws and accepts only known codes", () => {
    for (const record of [null, undefined, 7, "x", [], { message: 5 }, { name: {}, message: "m", code: "PeerDied", details: { channel: "x", pd: 3 } }]) {
      const error = deserializeError(record as never);
      assert.ok(error instanceof Error);
    }
    const known = deserializeError({ name: "IpcError", message: "ppcall: gone", code: "PeerDied", details: { channel: 3, pd: "b" } });
    assert.ok(isIpcError(known, "PeerDied"));
    assert.equal(known.channel, 3);
    const odd = deserializeError({ name: "IpcError", message: "m", code: "toString" as never });
    assert.ok(!isIpcError(odd));
  });
});

describe("clean-up when a hostile PD dies", () => {
  test("a PD that zeroes its async ring's MAGIC and exits: the process lives, its caller and the booting thread's consumer of that ring get PeerDied", async () => {
    await using s = await start(
      {
        protectionDomains: [
          { name: "caller", priority: 10, program: program("control-caller") },
          { name: "killer", priority: 20, program: program("control-ring-killer") },
        ],
        channels: [{ ends: [{ pd: "caller", id: 0, pp: true }, { pd: "killer", id: 0 }] }],
      },
      { asyncChannels: [{ name: "up", producers: ["killer"], consumer: HOST, capacity: 4 }] },
    );
    assert.deepEqual(s.of("caller"), ["call -> PeerDied"]);
    assert.equal(state(s.system, "killer"), "exited");
    assert.equal(state(s.system, "caller"), "running");
    // Needs shm/ring.ts's markRingPeerDied to mark a ring whose MAGIC the dead PD zeroed.
    await assert.rejects(s.system.asyncConsumer("up").receiveAsync({ timeout: 20_000 }), (error) => isIpcError(error, "PeerDied"));
  });
});

describe("rights checked by the receiver", () => {
  test("a forged notification on a notify=\"false\" end and a forged call on an end without pp are ignored", async () => {
    await using s = await start({
      protectionDomains: [
        { name: "forger", priority: 1, program: program("control-forger") },
        { name: "caller", priority: 10, program: program("control-caller") },
        { name: "victim", priority: 20, program: program("control-victim") },
      ],
      channels: [
        { ends: [{ pd: "forger", id: 0, notify: false }, { pd: "victim", id: 1 }] },
        { ends: [{ pd: "caller", id: 0, pp: true }, { pd: "victim", id: 0 }] },
      ],
    });
    assert.deepEqual(s.of("forger"), ["forged notification cleared"]);
    assert.deepEqual(s.system.faults, [], "the victim has no notified(): a delivered forgery would fault it");
    assert.equal(state(s.system, "victim"), "running");
    assert.deepEqual(s.of("caller"), ["call -> reply label=8"]);
  });

  test("a forged notification that arrives while the victim spins is taken before it sleeps (its seen count published)", async () => {
    // A spin of 2 s after every event: the forgery lands while the victim spins, not while it sleeps. The spin once
    // ignored it and the victim slept with it pending and unpublished, so the forger waited in vain.
    await using s = await start(
      {
        protectionDomains: [
          { name: "late-forger", priority: 1, program: program("control-forger") },
          { name: "victim", priority: 20, program: program("control-victim") },
        ],
        channels: [{ ends: [{ pd: "late-forger", id: 0, notify: false }, { pd: "victim", id: 1 }] }],
      },
      { wait: { spinMicros: 2_000_000 } },
    );
    assert.deepEqual(s.of("late-forger"), ["forged notification cleared"]);
    assert.deepEqual(s.system.faults, []);
  });
});

describe("output", () => {
  test("forged lines, escapes and raw stdout/stderr come out one line per line, escaped, under the PD's name", async () => {
    const description: SystemDescription = {
      protectionDomains: [
        { name: "mallory", priority: 1, program: program("control-output") },
        { name: "victim", priority: 2, program: program("control-victim") },
      ],
      channels: [],
    };
    const lines: string[] = [];
    const system = await boot(description, { mode: "workers", baseDir, onOutput: (e) => lines.push(`${e.pd}: ${e.text}`), trusted: everyPd(description) });
    try {
      // The line stamped an hour ahead must come out without waiting for whenIdle's final flush.
      await eventually("the future-stamped line", () => lines.includes("mallory: from the future"));
      await guarded("whenIdle", system.whenIdle());
    } finally {
      // A sync-mode PD's event loop never runs, so its worker's stdout delivers the rest of its raw writes when it
      // exits: look at the lines after shutdown.
      await system.shutdown(500);
    }
    const rendered = lines.join("\n").split("\n");
    for (const line of rendered) assert.match(line, /^mallory: /, `every rendered line is under the writer's name: ${JSON.stringify(line)}`);
    // eslint-disable-next-line no-control-regex -- looking for control characters is the point
    for (const line of lines) assert.doesNotMatch(line, /[\x00-\x08\x0a-\x1f\x7f]/, `no raw control character: ${JSON.stringify(line)}`);
    for (const want of [
      "mallory: one",
      "mallory: victim: forged line",
      "mallory: red \\x1b[31mtext\\x1b[0m\\r\\x07end",
      "mallory: raw console.log",
      "mallory: raw stdout",
      "mallory: victim: raw forged",
      "mallory: raw stderr",
    ]) {
      assert.ok(lines.includes(want), `${want} in ${JSON.stringify(lines)}`);
    }
  });

  test("an output flood is cut to the PD's quota, counted and noticed; an honest PD's line still comes out", async () => {
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    const began = performance.now();
    await using s = await start({
      protectionDomains: [
        { name: "flood", priority: 1, program: program("control-flood") },
        { name: "flood-console", priority: 1, program: program("control-flood") },
        { name: "honest", priority: 2, program: program("control-hello") },
      ],
      channels: [],
    });
    const elapsed = performance.now() - began;
    lag.disable();
    console.log(`# output flood: boot+idle ${elapsed.toFixed(0)} ms, kernel event-loop lag p50 ${(lag.percentile(50) / 1e6).toFixed(1)} ms, p99 ${(lag.percentile(99) / 1e6).toFixed(1)} ms, max ${(lag.max / 1e6).toFixed(1)} ms`);
    assert.deepEqual(s.of("honest"), ["hello"]);
    for (const pd of ["flood", "flood-console"]) {
      const got = s.of(pd);
      const floodLines = got.filter((l) => l.startsWith("flood ")).length;
      assert.ok(floodLines < 200_000, `${pd}: ${floodLines} of 200,000 lines came out`);
      // debugPrintln never blocks, so lines past the quota are dropped and a notice says so; a worker's raw
      // stdout has backpressure instead (the worker's own writes wait), so its lines are held back, not dropped.
      if (pd === "flood") assert.ok(got.some((l) => /^\[isokit\] \d+ lines? of output dropped/.test(l)), `${pd}: a notice says lines were dropped`);
    }
    const hits = s.system.ipcStats().quotaHits;
    assert.ok((hits["outputLinesPerSec"] ?? 0) + (hits["outputBytesPerSec"] ?? 0) > 0, `quota hits counted: ${JSON.stringify(hits)}`);
  });
});

describe("child faults", () => {
  test("a child that posts 1,000 forged faults: its parent's fault() runs at most once and the child is faulted", async () => {
    await using s = await start({
      protectionDomains: [
        { name: "parent", priority: 50, program: program("control-parent"), children: [{ name: "child", id: 1, priority: 10, program: program("control-child-forger") }] },
      ],
      channels: [],
    });
    assert.ok(s.of("parent").length <= 1, `fault() ran ${s.of("parent").length} times`);
    assert.equal(state(s.system, "child"), "faulted");
    assert.ok(s.system.faults.some((f) => f.pd === "child" && f.entry === "control" && isIpcError(f.error, "InvalidMessage")));
    assert.equal(state(s.system, "parent"), "running");
  });

  test("a parent that never runs: after faultVerdictMs the child is stopped and its caller gets PeerDied", async () => {
    await using s = await start(
      {
        protectionDomains: [
          { name: "caller", priority: 10, program: program("control-caller") },
          { name: "stuck-parent", priority: 50, program: program("control-parent"), children: [{ name: "child", id: 1, priority: 20, program: program("control-thrower") }] },
        ],
        channels: [{ ends: [{ pd: "caller", id: 0, pp: true }, { pd: "child", id: 0 }] }],
      },
      { limits: { faultVerdictMs: 300 }, initTimeoutMs: 1000 },
      false,
    );
    await eventually("the caller's answer", () => s.of("caller").length > 0);
    assert.deepEqual(s.of("caller"), ["call -> PeerDied"]);
    assert.equal(state(s.system, "child"), "faulted");
  });
});

describe("fairness", () => {
  test("the scan starts after the end it served last: with calls pending on 0 and 2 after one on 1, 2 goes first", async () => {
    await using s = await start({
      protectionDomains: [
        { name: "rr-caller", priority: 10, program: program("control-rr-caller") },
        { name: "rr-server", priority: 20, program: program("control-rr-server") },
      ],
      channels: [0, 1, 2].map((id) => ({ ends: [{ pd: "rr-caller", id, pp: true }, { pd: "rr-server", id }] })),
    }, { wait: { spinMicros: 200_000 } }); // the server stays in its spin between calls: the path a re-caller exploits
    assert.deepEqual(s.of("rr-caller"), ["done"]);
    const served = s.of("rr-server").map((l) => Number(l.slice("served ".length)));
    assert.equal(served.length, 60);
    for (let round = 0; round < 20; round++) assert.deepEqual(served.slice(round * 3, round * 3 + 3), [1, 2, 0], `round ${round}: ${served.join(",")}`);
  });
});

describe("call tags", () => {
  test("a caller writing tags below the API: the server is handed exactly each well-formed tag, a malformed one is refused, none is stale", async () => {
    await using s = await start({
      protectionDomains: [
        { name: "tag-caller", priority: 10, program: program("tag-caller") },
        { name: "tag-server", priority: 20, program: program("tag-server") },
      ],
      channels: [{ ends: [{ pd: "tag-caller", id: 0, pp: true }, { pd: "tag-server", id: 0 }] }],
    });
    assert.deepEqual(s.of("tag-caller"), ["ok", "ok", "ok", "ok", "refused", "ok", "refused", "ok", "ok"]);
    // The receiving end hands out the tag it read last again for the same label and count (it is immutable),
    // and a new one for any other, even right after a refused call.
    assert.deepEqual(s.of("tag-server"), ["5/1", "5/1 (same object)", "5/2", "6/2", "6/2 (same object)", "5/1", `${2 ** 32 + 5}/0`]);
    assert.equal(s.system.faults.length, 0, "the server serves on");
  });
});

describe("shutdown", () => {
  test("a PD stuck in a native call does not hold shutdown: it resolves after the grace and a bounded wait", async () => {
    const lines: string[] = [];
    const system = await boot({ protectionDomains: [{ name: "native", priority: 1, program: program("control-native") }], channels: [] }, { mode: "workers", baseDir, onOutput: (e) => lines.push(e.text), initTimeoutMs: 300, trusted: ["native"] });
    await eventually("the PD's native call", () => lines.includes("entering the native call"));
    await new Promise((resolve) => setTimeout(resolve, 100)); // the line is written just before the call
    const began = performance.now();
    let guard: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      system.shutdown(200).then(() => "resolved"),
      new Promise((resolve) => (guard = setTimeout(() => { resolve("hung"); }, 7000))),
    ]);
    clearTimeout(guard);
    console.log(`# shutdown(200) with a PD in a 10 s native call took ${(performance.now() - began).toFixed(0)} ms`);
    assert.equal(outcome, "resolved");
    assert.ok(system.faults.some((f) => f.pd === "native" && f.entry === "shutdown" && isIpcError(f.error, "Timeout")), "the PD left behind is reported");
  });
});
