// The dashboard's cadence (src/dashboard/cadence.ts): every tick while the machine has a core to spare, fewer
// while it has not, with two thresholds between. The host's idle time is given by the test, a clock of its own.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BUSY_IDLE_CORES, CALM_IDLE_CORES, Cadence, hostIdleMs } from "../../src/dashboard/cadence.ts";

/** A cadence at `ticksPerSec` whose host is idle `cores()` cores at each moment; `run(ms)` ticks it for ms. */
function host(ticksPerSec: number, busyTicksPerSec: number) {
  let now = 0;
  let idle = 0;
  let cores = 2;
  const cadence = new Cadence(ticksPerSec, busyTicksPerSec, () => idle);
  const tickMs = 1000 / ticksPerSec;
  return {
    cadence,
    set idleCores(c: number) {
      cores = c;
    },
    /** Ticks for `ms` and says how many ticks were sent. */
    run(ms: number): number {
      let sent = 0;
      for (let t = 0; t < ms; t += tickMs) {
        now += tickMs;
        idle += cores * tickMs;
        if (cadence.tick(now)) sent++;
      }
      return sent;
    },
  };
}

describe("dashboard cadence", () => {
  it("sends every tick while a core is idle, one a second once none has been for a second", () => {
    const h = host(4, 1);
    assert.equal(h.run(2000), 8);
    assert.equal(h.cadence.state.busy, false);
    assert.equal(h.cadence.state.idleCores, 2);
    h.idleCores = 0.1;
    h.run(1250); // a second of a busy machine is seen
    assert.equal(h.cadence.state.busy, true);
    assert.equal(h.cadence.state.ticksPerSec, 1);
    assert.ok(Math.abs(h.cadence.state.idleCores - 0.1) < 1e-9);
    assert.equal(h.run(10_000), 10);
  });

  it("goes back to every tick only above the calm threshold, so a page's own load does not flip it", () => {
    const h = host(4, 1);
    h.run(1000);
    h.idleCores = BUSY_IDLE_CORES / 2;
    h.run(2000);
    assert.equal(h.cadence.state.busy, true);
    h.idleCores = (BUSY_IDLE_CORES + CALM_IDLE_CORES) / 2; // between the two: stays busy
    assert.equal(h.run(5000), 5);
    assert.equal(h.cadence.state.busy, true);
    h.idleCores = 1.5;
    h.run(1500);
    assert.equal(h.cadence.state.busy, false);
    assert.equal(h.run(5000), 20);
  });

  it("starts at every tick, before it has seen a second", () => {
    const h = host(4, 1);
    h.idleCores = 0;
    assert.equal(h.run(750), 3);
    assert.equal(h.cadence.state.idleCores, undefined);
  });

  it("never steps back where the host does not say how idle it is, or when busyTicksPerSec is ticksPerSec", () => {
    let now = 0;
    const blind = new Cadence(4, 1, () => undefined);
    let sent = 0;
    for (let i = 0; i < 40; i++) if (blind.tick((now += 250))) sent++;
    assert.equal(sent, 40);
    assert.equal(blind.state.busy, false);
    const h = host(4, 10);
    h.idleCores = 0;
    h.run(2000);
    assert.equal(h.cadence.state.busy, true);
    assert.equal(h.cadence.state.ticksPerSec, 4);
    assert.equal(h.run(5000), 20);
  });

  it("reads this host's idle time", () => {
    const idle = hostIdleMs();
    assert.ok(idle === undefined || (Number.isFinite(idle) && idle >= 0), String(idle));
  });
});
