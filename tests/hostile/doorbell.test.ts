// The doorbell against a hostile peer on real workers: a PD that clears another PD's SLEEPING word, so that
// every ring to it is skipped, delays that PD's wake-up by at most one sleep slice (it looks again after each,
// shm/doorbell.ts) and touches nothing of the kernel's. Without the bounded slice the honest PD would sleep
// forever and the hang guard below would fail the test.
import assert from "node:assert/strict";
import { dirname } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { boot, type SystemDescription } from "../../src/index.ts";

const baseDir = dirname(fileURLToPath(import.meta.url));

/** Resolves when `ready()` holds, polled every 10 ms; rejects after `ms` (a hang guard, not a timing assertion). */
async function eventually(what: string, ready: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`hang guard: ${what} did not happen within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const ctl = { mr: "ctl", vaddr: 0x400_0000, perms: "rw", setvarVaddr: "ctl" } as const;

test("a peer that keeps clearing a PD's SLEEPING word (so rings to it are skipped) delays it by sleep slices, never forever; the kernel is unaffected", async () => {
  const description: SystemDescription = {
    protectionDomains: [
      { name: "mallory", priority: 1, program: "programs/doorbell-mallory.ts", maps: [ctl] },
      { name: "honest", priority: 10, program: "programs/doorbell-honest.ts" },
      { name: "sender", priority: 20, program: "programs/doorbell-sender.ts", maps: [ctl] },
    ],
    channels: [
      { ends: [{ pd: "mallory", id: 0, notify: false }, { pd: "honest", id: 1 }] },
      { ends: [{ pd: "sender", id: 0 }, { pd: "honest", id: 2 }] },
    ],
    // mallory counts the sleeps it cleared in word 0, for sender (test coordination, not part of the attack)
    memoryRegions: [{ name: "ctl", size: 4096 }],
  };

  const lines: string[] = [];
  // Trusted: mallory and sender reach below the PD API (workerData, raw doorbell words), as a trusted PD can.
  const system = await boot(description, {
    mode: "workers",
    baseDir,
    wait: { sliceMs: 20 },
    // mallory and sender spin in init() until the attack has run: not what the watchdog is tested for here
    limits: { entryBudgetMs: 60_000 },
    trusted: ["mallory", "honest", "sender"],
    onOutput: (e) => lines.push(`${e.pd}: ${e.text}`),
  });
  try {
    await eventually("sender's answer", () => lines.includes("sender: answered"));
    await eventually("mallory's report", () => lines.some((l) => l.startsWith("mallory: ")));
    assert.ok(lines.includes("sender: notifying while honest's SLEEPING is cleared"), lines.join("\n"));
    assert.ok(lines.includes("honest: notified by sender"), lines.join("\n"));
    assert.ok(lines.includes("mallory: cleared honest's SLEEPING while it slept; released by honest"), lines.join("\n"));
    // The kernel: no fault, every PD still running, and it still answers and reaches quiescence.
    await system.whenIdle();
    assert.deepEqual(system.faults, []);
    assert.deepEqual(system.pds().map((p) => [p.name, p.state]), [["mallory", "running"], ["honest", "running"], ["sender", "running"]]);
  } finally {
    await system.shutdown(2000);
  }
  assert.deepEqual(system.faults, [], "shutdown stopped every PD without a fault");
});
