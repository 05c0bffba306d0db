// Flooding attacks (issue 11): a hostile PD floods the kernel or the server through the honest API while an
// honest client makes a fixed number of calls and syscalls. Under each attack every honest call is answered
// right and every honest syscall answered, counts exact. Latencies are printed (t.diagnostic), never asserted:
// the figures come from the bench cases hostile.syscall.p99 and hostile.call.flooded.
//
// Every system: server, client and attacker, connected pairwise by channels (the description's relations,
// which the grant rule asks for), and a `ctl` region the test supplies, mapped into the client and the attacker
// (tests/hostile/programs/flood-common.ts has its layout): the client starts once the attack is in full swing
// and says STOP when done; the test reads how many attack operations were made.
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { boot, type SystemDescription } from "../../src/index.ts";
import { testsDir } from "../helpers.ts";
import { CALLS, CTL, SYSCALLS, WARM_ATTACKS } from "./programs/flood-common.ts";

/** Hang guards only (the fixes these tests hold may not have landed): generous, never a measure. */
const RESULT_TIMEOUT_MS = 90_000;
const TEST_TIMEOUT_MS = 150_000;

function description(attack: string): SystemDescription {
  const ctl = { mr: "ctl", vaddr: 0x400_0000, perms: "rw", setvarVaddr: "ctl" };
  return {
    memoryRegions: [{ name: "ctl", size: 0x1000 }],
    protectionDomains: [
      { name: "server", priority: 200, program: "hostile/programs/flood-server.ts" },
      { name: "client", priority: 150, program: "hostile/programs/flood-client.ts", maps: [ctl] },
      { name: "attacker", priority: 100, program: `hostile/programs/flood-attack-${attack}.ts`, maps: [ctl] },
    ],
    channels: [
      { ends: [{ pd: "server", id: 1 }, { pd: "client", id: 1 }] },
      { ends: [{ pd: "server", id: 2 }, { pd: "attacker", id: 1 }] },
      { ends: [{ pd: "client", id: 2 }, { pd: "attacker", id: 2 }] },
    ],
  };
}

interface Outcome {
  /** Output of the client and the server (the attacker's is counted, not kept: it may be a flood). */
  readonly client: string[];
  readonly server: string[];
  readonly attacker: string[];
  readonly attackerLines: number;
  readonly faults: string[];
  readonly attacks: number;
  readonly got: number;
}

async function waitUntil(done: () => boolean, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!done()) {
    if (performance.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

async function underAttack(attack: string, t: TestContext): Promise<Outcome> {
  const shared = new SharedArrayBuffer(0x1000);
  const words = new Int32Array(shared, 0, 16);
  const client: string[] = [];
  const server: string[] = [];
  const attacker: string[] = [];
  let attackerLines = 0;
  const system = await boot(description(attack), {
    baseDir: testsDir,
    // Trusted: the three coordinate with Atomics on the ctl region's words, which a confined PD cannot reach.
    trusted: ["server", "client", "attacker"],
    regions: { ctl: shared },
    initTimeoutMs: 30_000,
    // The attacks run long loops inside one entry point by design (tens of seconds on a loaded 2-core
    // machine): the entry watchdog, which has its own tests (resources.test.ts), must not stop them first.
    limits: { entryBudgetMs: 600_000 },
    onOutput: (e) => {
      if (e.pd === "client") client.push(e.text);
      else if (e.pd === "server") server.push(e.text);
      else {
        attackerLines++;
        if (!e.text.startsWith("flood ") && attacker.length < 20) attacker.push(e.text);
      }
    },
  });
  try {
    const finished = await waitUntil(() => client.length >= 2 && server.some((l) => l.startsWith("served ")), RESULT_TIMEOUT_MS);
    if (!finished) Atomics.store(words, CTL.STOP, 1); // end the attack, so shutdown is quick
    // The attacker's own last line, if it still gets one out (a faulted or stopped attacker does not).
    await waitUntil(() => attacker.some((l) => l.startsWith("stopped") || l.startsWith("gave up")), attack === "outputs" ? 0 : 5000);
    for (const line of [...client.slice(1), ...attacker]) t.diagnostic(`${attack}: ${line}`);
    t.diagnostic(`${attack}: ${Atomics.load(words, CTL.ATTACKS)} attack operations, ${attackerLines} attacker lines reached the host`);
    return {
      client,
      server,
      attacker,
      attackerLines,
      faults: system.faults.map((f) => `${f.pd} (${f.entry}): ${f.error.message}`),
      attacks: Atomics.load(words, CTL.ATTACKS),
      got: Atomics.load(words, CTL.GOT),
    };
  } finally {
    Atomics.store(words, CTL.STOP, 1);
    await system.shutdown(2000);
  }
}

/** What every attack must leave intact: the client's calls and syscalls, exact; the server's count; no honest fault. */
function assertHonestServed(o: Outcome): void {
  assert.deepEqual(o.faults.filter((f) => !f.startsWith("attacker ")), [], "no honest PD faulted");
  assert.equal(o.client[0], JSON.stringify({ ready: true, calls: CALLS, syscalls: SYSCALLS, errors: [] }), "client: every call and syscall answered right");
  const served = o.server.find((l) => l.startsWith("served "));
  assert.match(served ?? "(no line)", new RegExp(`^served client=${CALLS} wrong=0 done=true `), "server: exactly the client's calls, then DONE");
}

describe("hostile: floods (each attack on real workers; the honest PD still gets every answer)", () => {
  it("syscalls: an attacker making syscalls as fast as it can", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const o = await underAttack("syscalls", t);
    assertHonestServed(o);
    assert.ok(o.attacks >= WARM_ATTACKS, `the attack ran: ${o.attacks} syscalls`);
  });

  it("slots: an attacker flooding one endpoint through up to 1,000 derived capabilities", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const o = await underAttack("slots", t);
    assertHonestServed(o);
    assert.ok(o.got >= 1, `the attacker flooded through ${o.got} slots`);
    assert.ok(o.attacks >= 1, `the attack ran: ${o.attacks} messages sent`);
    assert.match(o.server.find((l) => l.startsWith("served ")) ?? "", /attacker>0=true/, "the server took attacker messages too");
    t.diagnostic(`slots: the attacker flooded through ${o.got} capabilities`);
  });

  it("transfers: an attacker sending messages that carry capabilities as fast as it can", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const o = await underAttack("transfers", t);
    assertHonestServed(o);
    assert.ok(o.attacks >= WARM_ATTACKS, `the attack ran: ${o.attacks} sends`);
    assert.match(o.server.find((l) => l.startsWith("served ")) ?? "", /attacker>0=true caps>0=true/, "the server got attacker messages with capabilities");
  });

  it("outputs: an attacker printing as fast as it can", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const o = await underAttack("outputs", t);
    assertHonestServed(o);
    assert.ok(o.attacks >= WARM_ATTACKS, `the attack ran: ${o.attacks} lines printed`);
    assert.ok(o.attackerLines >= 1, "some of the attacker's lines reached the host");
  });

  it("grants: an attacker granting capabilities into the honest client as fast as it can", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const o = await underAttack("grants", t);
    assertHonestServed(o);
    assert.ok(o.attacks >= WARM_ATTACKS, `the attack ran: ${o.attacks} grants`);
  });
});
