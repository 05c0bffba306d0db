/**
 * `boot()`: the one way to start a system, in either mode.
 *
 * src/boot/ sits above both the kernel and the PD runtime: the workers mode is the kernel's alone (the PD runtime
 * runs in the workers, reached by URL, never imported), while the in-process mode wires the kernel's plan to PD
 * runtimes in this thread (in-process.ts). Keeping that wiring here lets `kernel` stay below `pd`.
 */

import { availableParallelism } from "node:os";
import { IpcError } from "../errors.ts";
import { defaultWaitOptions } from "../shm/wait.ts";
import type { SystemDescription } from "../sdf/description.ts";
import type { RateLimits } from "../protocol/syscall.ts";
import { resolveLimits, type Limits } from "../protocol/limits.ts";
import type { AsyncChannelDescription } from "../kernel/async-channels.ts";
import { InProcessSystem } from "./in-process.ts";
import { planSystem } from "../kernel/plan.ts";
import type { Listener, RunningSystem } from "../kernel/system.ts";
import { WorkerSystem, type PdResources } from "../kernel/worker-system.ts";
import { checkRestartPolicy, type RestartPolicy } from "../kernel/supervisor.ts";
import { MIN_BUDGET_MS } from "../kernel/watchdog.ts";
import { allProtectionDomains } from "../sdf/description.ts";
import type { TraceOptions } from "../kernel/trace.ts";

export interface BootOptions {
  /**
   * `workers` (default): one worker thread per PD, messages through shared memory.
   * `in-process`: every PD in this thread, a ppcall a direct call — for unit tests and hosts without
   * SharedArrayBuffer; no isolation.
   */
  readonly mode?: "workers" | "in-process";
  /** Directory that relative `program` paths are resolved against. Default: the current directory. */
  readonly baseDir?: string;
  /** Where `debugPrintln` output goes. Default: stdout, as `name: text`. */
  readonly onOutput?: Listener<"output">;
  /** Told of every PD state change from the start, including during boot (for progress displays). */
  readonly onState?: Listener<"state">;
  /**
   * How long `boot` waits for every `init()` to return (workers mode). A PD whose init() is still running then
   * stays `starting`; boot resolves anyway. Default 10,000 ms.
   */
  readonly initTimeoutMs?: number;
  /**
   * Memory the booting thread shares with the PDs: a memory region of the description with this name uses this
   * SharedArrayBuffer (at least the region's size) instead of a new one, so the host can exchange data with
   * the PDs that map it.
   */
  readonly regions?: Readonly<Record<string, SharedArrayBuffer>>;
  /**
   * Receiver-enforced rate limits on what each named PD sends through endpoints (workers mode), from the start.
   * Change them later with `RunningSystem.setRateLimits`.
   */
  readonly rateLimits?: Readonly<Record<string, RateLimits>>;
  /**
   * Asynchronous channels (bounded rings of fixed slots, one ring per producer) wired at boot between PDs, or
   * between a PD and this thread (`HOST`). A PD opens its end with `asyncProducer(name)` / `asyncConsumer(name)`;
   * this thread with `system.asyncProducer(name)` / `system.asyncConsumer(name)`. Workers mode.
   */
  readonly asyncChannels?: readonly AsyncChannelDescription[];
  /**
   * Quotas on what each PD can make the kernel or other PDs hold (protocol/limits.ts; workers mode): any of
   * them overrides its default. Each must be a positive integer.
   */
  readonly limits?: Partial<Limits>;
  /**
   * The restart policy of the top-level PDs (Erlang/OTP: strategy, intensity within a period, permanent /
   * transient / temporary; docs/supervision.md). Without one, a top-level PD that faults stays faulted. A child
   * PD is restarted by its parent's `fault()` returning "restart". Workers mode.
   */
  readonly restart?: RestartPolicy;
  /**
   * PDs whose programs run trusted, with their worker's whole authority: Node's APIs (files, `child_process`,
   * sockets, `process`), the runtime's internals and its SharedArrayBuffers. Every other PD's program runs
   * confined in a Hardened JavaScript compartment and reaches only the PD API (docs/confinement.md). Workers
   * mode; a name that is no PD of the description is refused. In-process mode confines nothing.
   */
  readonly trusted?: readonly string[];
  /**
   * Packages (by name, e.g. `capnp-es`) confined programs may import: bundled into each such program, they run
   * in its compartment, equally confined. Workers mode.
   */
  readonly packages?: readonly string[];
  /**
   * Record a trace (workers mode): each PD writes its calls, replies, entry points and endpoint messages into
   * a trace ring of its own, the kernel collects them into `system.observer.traceFile()` (Chrome Trace Event /
   * Perfetto JSON) and into the operations and latencies of `system.stats()`. Off by default: untraced, a PD
   * pays one branch per operation. `true` takes the default sizes.
   */
  readonly trace?: boolean | TraceOptions;
  /** Wait strategy defaults for every PD (a program may choose `wait: "async"` for itself). */
  readonly wait?: {
    readonly mode?: "sync" | "async";
    /** Spin budget before sleeping, µs. Default 20. */
    readonly spinMicros?: number;
    /** Longest sleep before re-checking liveness, ms. Default 50. */
    readonly sliceMs?: number;
  };
}

/**
 * Validates `system`, starts every PD and runs every `init()`. Resolves when all PDs have finished `init()`
 * (or faulted in it: see `faults`), or after `initTimeoutMs` if some init() is still running.
 * @throws IpcError `InvalidSystem` when the description breaks a rule or a program cannot be loaded
 */
export async function boot(system: SystemDescription, options: BootOptions = {}): Promise<RunningSystem> {
  const plan = planSystem(system, options.baseDir ?? process.cwd(), options.regions);
  const limits = resolveLimits(options.limits); // before any worker starts: a bad limit is the caller's error
  const onOutput = options.onOutput ?? ((e) => process.stdout.write(`${e.pd}: ${e.text}\n`));
  const trusted = new Set(options.trusted ?? []);
  for (const name of trusted) {
    if (!plan.pds.some((pd) => pd.name === name)) throw new IpcError("InvalidSystem", `boot: trusted names PD '${name}', which the description does not have`, { operation: "boot", pd: name });
  }
  if (options.mode === "in-process") {
    if ((options.asyncChannels ?? []).length > 0) {
      throw new IpcError("InvalidSystem", "boot: asyncChannels need the workers mode (their waits sleep on Atomics)", { operation: "boot" });
    }
    return InProcessSystem.start(plan, onOutput, options.onState);
  }
  return WorkerSystem.start(
    plan,
    {
      mode: options.wait?.mode ?? "sync",
      spinMicros: options.wait?.spinMicros ?? defaultWaitOptions.spinMicros,
      sliceMs: options.wait?.sliceMs ?? defaultWaitOptions.sliceMs,
      yieldAfterWake: plan.pds.length > availableParallelism(),
    },
    onOutput,
    options.onState,
    options.initTimeoutMs ?? 10_000,
    options.rateLimits ?? {},
    options.asyncChannels ?? [],
    limits,
    { trusted, packages: options.packages ?? [] },
    options.trace === true ? {} : options.trace === false ? undefined : options.trace,
    supervision(system, options.restart),
  );
}

/**
 * The restart policy, checked against the PDs, and each PD's resources from its Microkit attributes: `budget`
 * (µs) is its watchdog budget (at least the watchdog's resolution), `stack_size` (bytes) its worker stack (at
 * least 1 MB: a JavaScript runtime does not start in the few KiB a Microkit PD gets).
 */
function supervision(system: SystemDescription, policy: RestartPolicy | undefined): { policy?: RestartPolicy; resources: Map<string, PdResources> } {
  const all = allProtectionDomains(system);
  const resources = new Map<string, PdResources>();
  for (const { pd } of all) {
    resources.set(pd.name, {
      budgetMs: pd.budget === undefined ? undefined : Math.max(MIN_BUDGET_MS, Math.round(pd.budget / 1000)),
      stackMb: pd.stackSize === undefined ? undefined : Math.max(1, pd.stackSize / (1024 * 1024)),
    });
  }
  if (policy === undefined) return { resources };
  const topLevel = all.filter((p) => p.parent === undefined).map((p) => p.pd.name);
  const children = all.filter((p) => p.parent !== undefined).map((p) => p.pd.name);
  return { policy: checkRestartPolicy(policy, topLevel, children), resources };
}
