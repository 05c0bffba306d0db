/**
 * The entry-point watchdog: a PD that runs in one entry point (init, notified, protected, fault) longer than
 * its budget without waiting is terminated and faulted by the kernel, so that it cannot hang its callers.
 *
 * What counts is time running, not time blocked. The kernel samples two words of each PD's control buffer
 * (protocol/layout.ts) on a timer and asks the worker system whether it sees the PD blocked:
 *
 *   ENTRY   odd while the PD is inside an entry point; it moves at every entry and return. An odd ENTRY that
 *           has not moved since the last sample means the PD is still in the same entry point.
 *   SLEEPS  moves before every sleep slice of an endpoint or syscall wait (the waits of ipc/client.ts). A
 *           PD whose SLEEPS moved within the last sleep slice (`sliceMs`, plus a tick) is asleep in such a
 *           wait: a slice may be longer than a tick, so one sample without a move does not mean it woke.
 *   blocked the kernel's own view, which the PD cannot forge: a protected call of the PD is in flight (CALLED
 *           on a channel it calls on), a syscall of it is unanswered, or it waits for its parent's verdict.
 *
 * A sample counts as running when the PD is in the same entry as at the last sample, has not slept lately and
 * the kernel does not see it blocked; the time since the last sample is added to its running time, which
 * starts from 0 at every new entry. Running time past the budget faults the PD.
 *
 * Trust: ENTRY and SLEEPS are written by the PD's runtime, outside the program's compartment (the program
 * cannot reach the control buffer). A runtime that lies about them can only make itself look blocked, which an
 * honest PD can also be forever (a receive nobody sends to): the watchdog bounds running, and a PD that lies
 * gains nothing it could not get by waiting. A PD that stops moving ENTRY looks stuck and is faulted.
 * The kernel's work per tick is one pass over the PDs, whatever they write.
 */

import { CONTROL_I32 } from "../protocol/layout.ts";

const ENTRY = CONTROL_I32.ENTRY;
const SLEEPS = CONTROL_I32.SLEEPS;

/** A PD as the watchdog sees it. */
export interface WatchedPd {
  readonly name: string;
  readonly control: Int32Array;
  /** Longest running time in one entry point, ms. */
  readonly budgetMs: number;
  /** The kernel sees the PD blocked in a wait it can check (see the file comment). */
  blocked(): boolean;
  /** The PD ran `ranMs` in one entry point without waiting: the caller faults it. Called once. */
  overBudget(ranMs: number): void;
}

/** The watchdog cannot time finer than its tick: a budget below this is raised to it. */
export const MIN_BUDGET_MS = 100;
const MAX_TICK_MS = 250;

interface Watch {
  readonly pd: WatchedPd;
  entry: number;
  sleeps: number;
  /** When SLEEPS was last seen to move (ms, performance.now()). */
  sleptAt: number;
  ranMs: number;
  fired: boolean;
  /** When a tick first saw the PD in its current entry point (ms, performance.now()), or 0 outside one. */
  enteredAt: number;
}

export class Watchdog {
  private readonly watches = new Set<Watch>();
  private readonly byName = new Map<string, Watch>();
  /** The PDs' longest sleep slice (WaitConfig.sliceMs): a PD that slept within it may still be asleep. */
  private readonly sliceMs: number;
  private timer: NodeJS.Timeout | undefined;
  private tickMs = MAX_TICK_MS;
  private lastTick = 0;

  constructor(sliceMs: number) {
    this.sliceMs = sliceMs;
  }

  /** Starts timing `pd`; the returned function stops it (when the PD dies or restarts). */
  watch(pd: WatchedPd): () => void {
    const w: Watch = { pd, entry: Atomics.load(pd.control, ENTRY), sleeps: Atomics.load(pd.control, SLEEPS), sleptAt: 0, ranMs: 0, fired: false, enteredAt: 0 };
    this.watches.add(w);
    this.byName.set(pd.name, w);
    // A fifth of the smallest budget: a PD is faulted at most a fifth of its budget late (plus the host's delays).
    const tick = Math.min(MAX_TICK_MS, Math.max(MIN_BUDGET_MS, pd.budgetMs) / 5);
    if (this.timer === undefined || tick < this.tickMs) {
      this.tickMs = tick;
      clearInterval(this.timer);
      this.lastTick = performance.now();
      // unref: timing PDs is no reason to keep a process alive (the workers do that while they run)
      this.timer = setInterval(() => { this.tick(); }, tick).unref();
    }
    return () => {
      this.watches.delete(w);
      if (this.byName.get(pd.name) === w) this.byName.delete(pd.name);
    };
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.watches.clear();
    this.byName.clear();
  }

  /**
   * How long PD `name` has been in its current entry point, running or blocked, in ms as of the last tick (0
   * outside one): from its ENTRY word, so with tracing off too. For the "may never return" warning.
   */
  inEntryMs(name: string): number {
    const w = this.byName.get(name);
    return w === undefined || w.enteredAt === 0 ? 0 : Math.round(this.lastTick - w.enteredAt);
  }

  private tick(): void {
    const now = performance.now();
    const elapsed = now - this.lastTick;
    this.lastTick = now;
    for (const w of this.watches) {
      if (w.fired) continue;
      const control = w.pd.control;
      const entry = Atomics.load(control, ENTRY);
      const sleeps = Atomics.load(control, SLEEPS);
      const same = entry === w.entry;
      if (sleeps !== w.sleeps) w.sleptAt = now;
      w.entry = entry;
      w.sleeps = sleeps;
      if ((entry & 1) === 0) w.enteredAt = 0;
      else if (!same || w.enteredAt === 0) w.enteredAt = now;
      if ((entry & 1) === 0 || !same) {
        w.ranMs = 0; // not in an entry point, or in a new one since the last sample
        continue;
      }
      if (now - w.sleptAt <= this.sliceMs + this.tickMs || w.pd.blocked()) continue;
      w.ranMs += elapsed;
      if (w.ranMs >= Math.max(MIN_BUDGET_MS, w.pd.budgetMs)) {
        w.fired = true;
        w.pd.overBudget(Math.round(w.ranMs));
      }
    }
  }
}
