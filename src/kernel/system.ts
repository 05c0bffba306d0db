/**
 * What `boot()` returns, in both modes: the running system, its PDs' states, their output and faults, and a
 * clean shutdown.
 */

import type { RateLimits } from "../protocol/syscall.ts";
import type { IpcKernelStats } from "./ipc-kernel.ts";
import type { AsyncConsumer, AsyncProducer } from "../ipc/async/index.ts";
import type { SystemObserver, SystemStats } from "./stats.ts";

export type PdState = "starting" | "running" | "faulted" | "exited" | "stopped";

export interface PdStatus {
  readonly name: string;
  readonly priority: number;
  readonly state: PdState;
  /** How many times the PD was restarted (docs/supervision.md): 0 for the first run. Workers mode. */
  readonly generation?: number | undefined;
}

export interface PdFault {
  readonly pd: string;
  /**
   * The entry point that threw (`init`, `notified`, `protected`, `fault`), or `load`, or `exit`; or what the
   * kernel found: `control` (the PD broke the control protocol), `syscall` (the syscall protocol), `kernel`
   * (serving the PD threw), `cleanup` (a step of its clean-up threw; the others ran), `shutdown` (its worker
   * did not exit and was left behind).
   */
  readonly entry: string;
  readonly error: Error;
  /** The parent whose `fault()` handled it, if the PD is a child whose parent was alive. */
  readonly handledBy?: string | undefined;
  /** The parent's verdict: the child went on serving. */
  readonly resumed: boolean;
  /** The PD was restarted after this fault, by its parent's `fault()` or by the restart policy. */
  readonly restarted?: boolean | undefined;
}

export interface SystemEvents {
  output: { readonly pd: string; readonly text: string };
  fault: PdFault;
  exit: { readonly pd: string; readonly code: number };
  /** A PD changed state (`running` once its init() returned). */
  state: { readonly pd: string; readonly state: PdState };
  /**
   * A PD was started again as generation `generation` (after the old worker exited, before its init() ran),
   * by its parent's `fault()` or by the restart policy.
   */
  restart: { readonly pd: string; readonly generation: number; readonly by: "parent" | "policy" };
  /**
   * The restart policy gave up: PD `pd` ended once more than `intensity` restarts within the period allowed;
   * every supervised PD was stopped (docs/supervision.md).
   */
  escalated: { readonly pd: string; readonly restarts: number; readonly periodMs: number };
}

export type Listener<K extends keyof SystemEvents> = (event: SystemEvents[K]) => void;

export interface RunningSystem extends AsyncDisposable {
  readonly mode: "workers" | "in-process";
  /** Every PD and its state now. */
  pds(): PdStatus[];
  /** Faults so far, oldest first. */
  readonly faults: readonly PdFault[];
  on<K extends keyof SystemEvents>(event: K, listener: Listener<K>): () => void;
  /**
   * Resolves when the system is quiescent: every live PD waits for an event and none is pending or in
   * flight, seen twice `settleMs` apart. (A PD in `async` wait mode may still have timers of its own.)
   */
  whenIdle(settleMs?: number): Promise<void>;
  /**
   * Receiver-enforced limits on everything PD `pd` sends through endpoints (undefined removes them). Each
   * receiver keeps its own buckets for the sender: the limit is per sender and receiver.
   */
  setRateLimits(pd: string, limits: RateLimits | undefined): void;
  /** This thread's producer end of the async channel `name` (wired with `HOST` among its producers). */
  asyncProducer(name: string): AsyncProducer;
  /** This thread's consumer end of the async channel `name` (wired with `HOST` as its consumer). */
  asyncConsumer(name: string): AsyncConsumer;
  /** The kernel's registry statistics: objects created and destroyed, live capabilities, endpoints, slots. */
  ipcStats(): IpcKernelStats;
  /**
   * Live statistics (kernel/stats.ts): per PD state, faults, restarts, capabilities, queue depth and output; per
   * channel and endpoint operations and p50/p99/max latencies (those need `BootOptions.trace`); kernel counters
   * and warnings. `isokit run --stats` prints it.
   */
  stats(): SystemStats;
  /** The same statistics plus the topology, the capability log, the trace and its live feed (the dashboard's source). */
  readonly observer: SystemObserver;
  /** Stops every PD: asks each to leave its loop, then terminates any that has not after `graceMs`. */
  shutdown(graceMs?: number): Promise<void>;
}

/** A small typed event hub shared by both modes. */
export class Events {
  private readonly listeners = new Map<keyof SystemEvents, Set<(event: never) => void>>();

  on<K extends keyof SystemEvents>(event: K, listener: Listener<K>): () => void {
    let set = this.listeners.get(event);
    if (set === undefined) this.listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  emit<K extends keyof SystemEvents>(event: K, value: SystemEvents[K]): number {
    const set = this.listeners.get(event);
    if (set === undefined) return 0;
    for (const listener of set) (listener as Listener<K>)(value);
    return set.size;
  }
}
