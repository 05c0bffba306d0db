// serve(): an endpoint served by the PD's own loop, so init() returns and boot reports it truthfully; on real
// worker threads.
import assert from "node:assert/strict";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { boot, type PdState, type SystemDescription } from "../../src/isokit.ts";

const here = dirname(fileURLToPath(import.meta.url));

function serverAndClient(server: string, program = "programs/serve.ts"): SystemDescription {
  return {
    protectionDomains: [
      { name: server, priority: 200, program },
      { name: "client", priority: 100, program: "programs/serve.ts" },
    ],
    channels: [{ ends: [{ pd: server, id: 0 }, { pd: "client", id: 1 }] }],
  };
}

async function start(description: SystemDescription) {
  const lines: string[] = [];
  const states: string[] = [];
  const system = await boot(description, {
    baseDir: here,
    // A server that never left init() would keep boot waiting this long and stay "starting".
    initTimeoutMs: 60_000,
    onOutput: (e) => lines.push(`${e.pd}: ${e.text}`),
    onState: (e: { readonly pd: string; readonly state: PdState }) => states.push(`${e.pd} ${e.state}`),
  });
  return { system, lines, states };
}

describe("serve(): an endpoint served by the PD's loop", () => {
  it("init() returns, boot reports it running, calls are answered, channels still delivered, and the system goes idle", async () => {
    const { system, lines, states } = await start(serverAndClient("server"));
    try {
      // boot resolved because every init() returned, not because it gave up waiting
      assert.ok(states.includes("server running"), states.join(", "));
      await system.whenIdle(); // would never resolve while the server sat in a receive loop of its own
      assert.deepEqual(lines.filter((l) => l.startsWith("client: ")), [
        "client: one -> ONE label=2",
        "client: two -> TWO label=2",
        "client: boom -> BOOM label=2",
        "client: three -> THREE label=2",
      ]);
      assert.deepEqual(lines.filter((l) => l.startsWith("server: ")), ["server: init done", "server: notified"]);
      assert.deepEqual(system.faults, []);
    } finally {
      await system.shutdown();
    }
  });

  it("a receive loop of its own in init() is reported as not done: boot gives up waiting, the PD stays starting", async () => {
    const lines: string[] = [];
    const states: string[] = [];
    const system = await boot(
      { protectionDomains: [{ name: "server", priority: 1, program: "programs/loop-in-init.ts" }], channels: [] },
      { baseDir: here, initTimeoutMs: 1000, onOutput: (e) => lines.push(e.text), onState: (e) => states.push(`${e.pd} ${e.state}`) },
    );
    try {
      assert.deepEqual(system.pds().map((pd) => `${pd.name} ${pd.state}`), ["server starting"]);
      assert.ok(!states.includes("server running"), states.join(", "));
      assert.deepEqual(system.faults, []);
    } finally {
      await system.shutdown();
    }
  });

  it("a handler that throws faults its PD in 'serve'; the caller gets PeerDied, later calls fail at once", async () => {
    const { system, lines } = await start(serverAndClient("thrower"));
    try {
      await system.whenIdle();
      assert.deepEqual(lines.filter((l) => l.startsWith("client: ")), [
        "client: one -> ONE label=2",
        "client: two -> TWO label=2",
        "client: boom -> PeerDied",
        "client: three -> PeerDied",
        "client: notify -> PeerDied",
      ]);
      assert.equal(system.faults.length, 1);
      assert.equal(system.faults[0]!.pd, "thrower");
      assert.equal(system.faults[0]!.entry, "serve");
      assert.match(system.faults[0]!.error.message, /^serve: PD 'thrower' threw Error: no booms here/);
    } finally {
      await system.shutdown();
    }
  });

  it("a sync PD's handler that returns a promise is refused by name", async () => {
    const { system } = await start(serverAndClient("promiser"));
    try {
      await system.whenIdle();
      assert.equal(system.faults[0]?.entry, "serve");
      assert.match(system.faults[0].error.message, /returned a promise; .*wait: "async"/);
    } finally {
      await system.shutdown();
    }
  });

  it("a wait: \"async\" PD's handler may await before it answers", async () => {
    const { system, lines } = await start(serverAndClient("server", "programs/serve-async.ts"));
    try {
      await system.whenIdle();
      assert.deepEqual(lines.filter((l) => l.startsWith("client: ")), [
        "client: one -> eno label=0",
        "client: two -> owt label=0",
        "client: boom -> moob label=0",
        "client: three -> eerht label=0",
      ]);
      assert.deepEqual(system.faults, []);
    } finally {
      await system.shutdown();
    }
  });
});

