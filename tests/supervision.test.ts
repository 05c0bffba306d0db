// Supervised restart (docs/supervision.md): a child restarted by its parent's fault(), the restart policy of
// the top-level PDs (each OTP strategy, intensity, restart types, regions kept or zeroed), and what callers
// see: PeerRestarted for a call in flight, and the description's channel working again. Real workers.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, test } from "node:test";
import type { SystemDescription } from "../src/index.ts";
import type { RestartPolicy } from "../src/kernel/supervisor.ts";
import { run, type Booted } from "./helpers.ts";

const MEMBER = "programs/supervision/member.ts";
const repo = fileURLToPath(new URL("..", import.meta.url));
const gen = { mr: "gen", vaddr: 0x400_0000, perms: "rw", setvarVaddr: "gen" } as const;

/** a, b, c in that order; b calls a (its channel 1) and c (its channel 2), then faults as its name says. */
function trio(b = "b"): SystemDescription {
  return {
    memoryRegions: [{ name: "gen", size: 0x1000 }],
    protectionDomains: [
      { name: "a", priority: 100, program: MEMBER, maps: [gen] },
      { name: b, priority: 50, program: MEMBER, maps: [gen] },
      { name: "c", priority: 100, program: MEMBER, maps: [gen] },
    ],
    channels: [
      { ends: [{ pd: b, id: 1, pp: true }, { pd: "a", id: 1 }] },
      { ends: [{ pd: b, id: 2, pp: true }, { pd: "c", id: 1 }] },
    ],
  };
}

/** A caller and a server: the caller's first call makes the server throw. */
function callerServer(server: SystemDescription["protectionDomains"][number]): SystemDescription {
  return {
    memoryRegions: [{ name: "gen", size: 0x1000 }],
    protectionDomains: [{ name: "caller", priority: 10, program: "programs/supervision/caller.ts" }, server],
    channels: [{ ends: [{ pd: "caller", id: 1, pp: true }, { pd: "server", id: 1 }] }],
  };
}

function withPolicy(description: SystemDescription, restart: RestartPolicy): Promise<Booted> {
  return run(description, "workers", { restart });
}

describe("supervised restart (workers)", () => {
  test("a child restarted by its parent's fault(): the call in flight gets PeerRestarted, the channel works again with generation 2", async () => {
    await using s = await run(
      {
        memoryRegions: [{ name: "gen", size: 0x1000 }],
        protectionDomains: [
          { name: "caller", priority: 10, program: "programs/supervision/caller.ts" },
          {
            name: "restarter",
            priority: 250,
            program: "programs/supervision/restarter.ts",
            children: [{ name: "server", id: 1, priority: 200, program: MEMBER, maps: [gen] }],
          },
        ],
        channels: [{ ends: [{ pd: "caller", id: 1, pp: true }, { pd: "server", id: 1 }] }],
      },
      "workers",
    );
    const caller = s.of("caller");
    assert.equal(caller[0], "in flight -> PeerRestarted");
    assert.equal(caller.at(-1), "answered by generation 2");
    assert.deepEqual(s.of("server"), ["init 1", "init 2"]);
    assert.deepEqual(s.of("restarter"), ["fault from Child(1) label=1; restart"]);
    assert.deepEqual(
      s.system.faults.map((f) => [f.pd, f.entry, f.handledBy, f.resumed, f.restarted]),
      [["server", "protected", "restarter", false, true]],
    );
    const server = s.system.pds().find((p) => p.name === "server");
    assert.deepEqual([server?.state, server?.generation], ["running", 1]);
  });

  test("one_for_one restarts only the PD that faulted", async () => {
    await using s = await withPolicy(trio(), { strategy: "one_for_one" });
    assert.deepEqual([s.of("a"), s.of("b"), s.of("c")], [["init 1"], ["init 1", "init 2"], ["init 1"]]);
    assert.deepEqual(s.system.faults.filter((f) => f.restarted === true).map((f) => f.pd), ["b"]);
    assert.deepEqual(s.system.pds().map((p) => [p.name, p.state, p.generation]), [["a", "running", 0], ["b", "running", 1], ["c", "running", 0]]);
  });

  test("one_for_all restarts every supervised PD", async () => {
    await using s = await withPolicy(trio(), { strategy: "one_for_all" });
    assert.deepEqual([s.of("a"), s.of("b"), s.of("c")], [["init 1", "init 2"], ["init 1", "init 2"], ["init 1", "init 2"]]);
    assert.deepEqual(s.system.pds().map((p) => [p.name, p.state, p.generation]), [["a", "running", 1], ["b", "running", 1], ["c", "running", 1]]);
  });

  test("rest_for_one restarts the PD that faulted and those after it in the description", async () => {
    await using s = await withPolicy(trio(), { strategy: "rest_for_one" });
    assert.deepEqual([s.of("a"), s.of("b"), s.of("c")], [["init 1"], ["init 1", "init 2"], ["init 1", "init 2"]]);
  });

  test("a temporary PD among the others of the group is left alone", async () => {
    await using s = await withPolicy(trio(), { strategy: "one_for_all", children: { c: "temporary" } });
    assert.deepEqual([s.of("a"), s.of("b"), s.of("c")], [["init 1", "init 2"], ["init 1", "init 2"], ["init 1"]]);
  });

  test("more restarts than the intensity within the period escalates: every supervised PD is stopped", async () => {
    await using s = await run(trio("b-always"), "workers", { restart: { strategy: "one_for_one", intensity: 2, periodMs: 60_000 } });
    assert.deepEqual(s.of("b-always"), ["init 1", "init 2", "init 3"]);
    const last = s.system.faults.find((f) => f.entry === "supervisor");
    assert.ok(last !== undefined);
    assert.match(last.error.message, /^restart: PD 'b-always' ended again, 3 restarts within 60000 ms, more than the policy's intensity of 2/);
    // The third fault: the policy gives up (recorded first), then the fault itself, not restarted.
    assert.deepEqual(s.system.faults.map((f) => [f.pd, f.entry, f.restarted ?? false]), [
      ["b-always", "init", true],
      ["b-always", "init", true],
      ["b-always", "supervisor", false],
      ["b-always", "init", false],
    ]);
    assert.deepEqual(s.system.pds().map((p) => [p.name, p.state]), [["a", "stopped"], ["b-always", "faulted"], ["c", "stopped"]]);
  });

  test("regions: 'zero' gives a restarted PD zeroed regions ('keep', the default, kept them above)", async () => {
    await using s = await run(trio(), "workers", { restart: { strategy: "one_for_one", intensity: 2, periodMs: 60_000, regions: "zero" } });
    // Zeroed, b's count starts again at 1 in every generation, so it faults every time until the policy gives up.
    assert.deepEqual(s.of("b"), ["init 1", "init 1", "init 1"]);
    assert.deepEqual(s.system.faults.map((f) => f.entry), ["init", "init", "supervisor", "init"]);
  });

  test("a permanent server restarted by the policy: the call in flight gets PeerRestarted, the next generation answers", async () => {
    await using s = await withPolicy(callerServer({ name: "server", priority: 100, program: MEMBER, maps: [gen] }), { strategy: "one_for_one" });
    assert.equal(s.of("caller")[0], "in flight -> PeerRestarted");
    assert.equal(s.of("caller").at(-1), "answered by generation 2");
  });

  test("a temporary server is not restarted: the call in flight gets PeerDied", async () => {
    await using s = await withPolicy(callerServer({ name: "server", priority: 100, program: MEMBER, maps: [gen] }), { strategy: "one_for_one", children: { server: "temporary" } });
    assert.deepEqual(s.of("caller"), ["in flight -> PeerDied", "call -> PeerDied"]);
    assert.equal(s.system.pds().find((p) => p.name === "server")?.state, "faulted");
  });

  test("a policy naming a child PD or an unknown PD, or with a bad field, is refused before boot", async () => {
    const description = trio();
    await assert.rejects(run(description, "workers", { restart: { strategy: "one_for_one", children: { nope: "permanent" } } }), /^IpcError: restart: the system has no PD 'nope'/);
    await assert.rejects(run(description, "workers", { restart: { strategy: "all_at_once" as "one_for_one" } }), /^IpcError: restart: unknown strategy 'all_at_once'/);
    await assert.rejects(run(description, "workers", { restart: { strategy: "one_for_one", intensity: -1 } }), /^IpcError: restart: intensity must be a whole number/);
  });
});

describe("capabilities across a restart (workers)", () => {
  test("what the description grants is reinstalled; a capability handed out at run time dies with its generation", async () => {
    await using s = await run(
      {
        memoryRegions: [{ name: "gen", size: 0x1000 }],
        protectionDomains: [
          { name: "client", priority: 10, program: "programs/supervision/ep-client.ts" },
          { name: "server", priority: 100, program: "programs/supervision/ep-server.ts", maps: [gen] },
        ],
        channels: [{ ends: [{ pd: "client", id: 1, pp: true }, { pd: "server", id: 1 }] }],
      },
      "workers",
      { restart: { strategy: "one_for_one" } },
    );
    const lines = s.of("client");
    assert.deepEqual(lines.slice(0, 2), ["ep1 derive -> ok", "call in flight -> PeerRestarted"]);
    // Generation 2 notified over the description's channel and granted afresh; the first generation's endpoint
    // closed with it, so the capability to it is refused.
    assert.match(lines[2] ?? "", /^ep1 derive -> (EndpointClosed|PeerDied|InvalidCapability); ep2 derive -> ok$/);
    assert.equal(lines.length, 3);
  });
});

describe("endpoints across a restart (workers)", () => {
  const description: SystemDescription = {
    memoryRegions: [{ name: "gen", size: 0x1000 }],
    protectionDomains: [
      { name: "client", priority: 10, program: "programs/supervision/ep-call-client.ts" },
      { name: "server", priority: 100, program: "programs/supervision/ep-call-server.ts", maps: [gen] },
    ],
    channels: [{ ends: [{ pd: "client", id: 1 }, { pd: "server", id: 1 }] }],
  };
  test("a call in flight to a restarted server's endpoint gets PeerRestarted; the old capability stays refused with PeerRestarted; the new generation's endpoint answers", async () => {
    await using s = await run(
      description,
      "workers",
      { restart: { strategy: "one_for_one" } },
    );
    assert.deepEqual(s.of("client"), [
      "ep1 hello -> generation 1",
      "ep1 fail (in flight) -> PeerRestarted",
      "ep1 after the restart -> PeerRestarted",
      "ep2 hello -> generation 2",
    ]);
    assert.deepEqual(s.system.faults.map((f) => [f.pd, f.entry, f.restarted]), [["server", "serve", true]]);
  });

  test("without a restart the same call gets PeerDied", async () => {
    await using s = await run(
      description,
      "workers",
    );
    assert.deepEqual(s.of("client"), ["ep1 hello -> generation 1", "ep1 fail (in flight) -> PeerDied"]);
  });
});

describe("async channels across a restart (workers)", () => {
  const description: SystemDescription = {
    memoryRegions: [{ name: "gen", size: 0x1000 }],
    protectionDomains: [
      { name: "sink", priority: 10, program: "programs/supervision/async-sink.ts" },
      { name: "source", priority: 100, program: "programs/supervision/async-source.ts", maps: [gen] },
    ],
    channels: [{ ends: [{ pd: "sink", id: 1, pp: true }, { pd: "source", id: 1 }] }],
  };
  const asyncChannels = [
    { name: "up", producers: ["source"], consumer: "sink", capacity: 4 },
    { name: "down", producers: ["sink"], consumer: "source", capacity: 4 },
  ];

  test("the description's async channels are rewired: the ends held die with the old generation, asking again gives ends that work with the new one", async () => {
    await using s = await run(description, "workers", { restart: { strategy: "one_for_one" }, asyncChannels });
    assert.deepEqual(s.of("sink"), [
      "up: g1",
      "call in flight -> PeerRestarted",
      "the old up end -> PeerDied",
      "the old down end -> PeerDied",
      "down, asked again -> true",
      "up: g2",
    ]);
    // The new generation consumes the ring the sink sent on after the restart; the old one got nothing.
    assert.deepEqual(s.of("source"), ["generation 2 got for g2 on down"]);
    assert.deepEqual(s.system.faults.map((f) => [f.pd, f.entry, f.restarted]), [["source", "protected", true]]);
  });
});

describe("isokit run --restart", () => {
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", "run", "tests/programs/supervision/restart.system", ...args], { cwd: repo, encoding: "utf8", timeout: 60_000, env: { ...process.env, NO_COLOR: "1" } });

  test("restarts the faulted server; a fault after which the PD was restarted is handled (exit 0)", () => {
    const r = cli("--restart", "one_for_one,intensity=2");
    const out = r.stdout.split("\n");
    assert.ok(out.includes("server: init 1"), r.stdout);
    assert.ok(out.includes("caller: in flight -> PeerRestarted"), r.stdout);
    assert.ok(out.includes("server: init 2"), r.stdout);
    assert.ok(out.includes("caller: answered by generation 2"), r.stdout);
    assert.equal(r.status, 0, r.stderr);
  });

  test("a malformed policy is a usage error (exit 2), one line and the hint", () => {
    const r = cli("--restart", "one_for_one,intensity=x");
    assert.equal(r.status, 2);
    assert.equal(r.stderr, "isokit: restart: intensity must be a whole number of restarts, 0 or more (got NaN)\nTry 'isokit run --help'.\n");
  });
});
