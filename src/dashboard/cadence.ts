/**
 * How often the dashboard sends a tick: `ticksPerSec` while the machine has a core to spare, `busyTicksPerSec`
 * while it has not. A page costs Chromium ~10% of a core at four ticks a second (it lays out, paints and
 * composites what changed), and the kernel's thread a little more; on a machine whose cores the watched PDs
 * keep busy that time comes out of the PDs, each wakeup of the page's threads taking a core from one of them.
 * So the watcher steps back: while fewer than `BUSY_IDLE_CORES` cores were idle over the last second, it sends
 * one tick in `ticksPerSec / busyTicksPerSec`, and goes back to every tick once more than `CALM_IDLE_CORES`
 * were idle (two thresholds, so a page's own load at full rate does not flip it back and forth).
 *
 * Idle time is the host's, summed over its CPUs (`os.cpus()`, /proc/stat on Linux). Where that sees more CPUs
 * than this process may use (a container limited by CPU quota rather than a cpuset), the machine looks idler
 * than it is, and the dashboard does not step back.
 */

import { cpus } from "node:os";

/** Below this many idle cores over the last second, the machine is busy. */
export const BUSY_IDLE_CORES = 0.5;
/** Above this many, it is not busy any more. */
export const CALM_IDLE_CORES = 0.75;
/** How far back the idle time is measured. */
export const IDLE_WINDOW_MS = 1000;

/** The idle milliseconds of all the host's CPUs since boot, or undefined where the platform does not say. */
export function hostIdleMs(): number | undefined {
  const list = cpus();
  if (list.length === 0) return undefined;
  let idle = 0;
  for (const cpu of list) idle += cpu.times.idle;
  return idle;
}

export interface CadenceState {
  /** True while the machine has had no core to spare. */
  readonly busy: boolean;
  /** The ticks a second being sent now. */
  readonly ticksPerSec: number;
  /** Cores idle over the last second (undefined until a second has been seen, or where the host does not say). */
  readonly idleCores: number | undefined;
}

export class Cadence {
  readonly #tickMs: number;
  readonly #busyGapMs: number;
  readonly #ticksPerSec: number;
  readonly #busyTicksPerSec: number;
  readonly #readIdleMs: () => number | undefined;
  /** [time, idle ms] of the recent ticks, oldest first, back to one at least IDLE_WINDOW_MS old. */
  readonly #samples: Array<readonly [number, number]> = [];
  #busy = false;
  #idleCores: number | undefined;
  #lastSent = -Infinity;

  /** `busyTicksPerSec` above `ticksPerSec` is `ticksPerSec` (the dashboard never steps back). */
  constructor(ticksPerSec: number, busyTicksPerSec: number, readIdleMs: () => number | undefined = hostIdleMs) {
    this.#ticksPerSec = ticksPerSec;
    this.#busyTicksPerSec = Math.min(busyTicksPerSec, ticksPerSec);
    this.#tickMs = 1000 / ticksPerSec;
    this.#busyGapMs = 1000 / this.#busyTicksPerSec;
    this.#readIdleMs = readIdleMs;
  }

  /** Called on each of the dashboard's timer ticks (`ticksPerSec` a second): true when this one is sent. */
  tick(nowMs: number): boolean {
    this.#observe(nowMs);
    // Half a tick of slack: the timer fires a little late or early, and a gap of 999 ms is a second's.
    const due = !this.#busy || nowMs - this.#lastSent >= this.#busyGapMs - this.#tickMs / 2;
    if (due) this.#lastSent = nowMs;
    return due;
  }

  get state(): CadenceState {
    return { busy: this.#busy, ticksPerSec: this.#busy ? this.#busyTicksPerSec : this.#ticksPerSec, idleCores: this.#idleCores };
  }

  #observe(nowMs: number): void {
    const idle = this.#readIdleMs();
    if (idle === undefined || !Number.isFinite(idle)) {
      this.#idleCores = undefined;
      this.#busy = false;
      return;
    }
    const samples = this.#samples;
    samples.push([nowMs, idle]);
    // Keep exactly one sample at least a window old: the idle time is measured from it.
    while (samples.length > 2 && nowMs - samples[1]![0] >= IDLE_WINDOW_MS) samples.shift();
    const [then, idleThen] = samples[0]!;
    if (nowMs - then < IDLE_WINDOW_MS) return; // not a second seen yet: stay as it is
    const cores = Math.max(0, idle - idleThen) / (nowMs - then);
    this.#idleCores = cores;
    if (this.#busy ? cores > CALM_IDLE_CORES : cores < BUSY_IDLE_CORES) this.#busy = !this.#busy;
  }
}
