/**
 * The kernel in worker mode: one worker thread per PD.
 *
 * The kernel makes every shared buffer and hands each PD exactly its own: its doorbell, its control word, and
 * the buffer of each channel it holds an end of (plus the doorbells of its peers, which carry no data). It is
 * never on the path of a message; it watches the workers and, when one dies, does what the dead PD can no
 * longer do: marks its ends dead and wakes every PD blocked in a protected call to it (`PeerDied`).
 *
 * Every PD is hostile. What a worker posts goes through one decoder (control-decoder.ts) and must fit the PD's
 * state; what it prints goes through kernel/output.ts; no handler of a worker's events may throw out to the
 * process: `guard` turns any exception while serving PD X into a fault of X (recorded, with the cause), and
 * each step of a PD's clean-up runs on its own, so one that throws (on memory the PD scribbled on) does not
 * keep the others from marking its ends dead and waking its callers.
 */

import { fileURLToPath } from "node:url";
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from "node:worker_threads";
import { deserializeError, IpcError } from "../errors.ts";
import type { PdBootData, PdEndBootData, PdToKernel, WaitConfig } from "../protocol/control.ts";
import { DEFAULT_LIMITS, type Limits } from "../protocol/limits.ts";
import { createOutputRing } from "../shm/output-ring.ts";
import { ringGeometry } from "../shm/ring.ts";
import { decodeControl } from "./control-decoder.ts";
import { KernelOutput } from "./output.ts";
import { Observation, observedFromPlan, type SystemObserver, type SystemStats } from "./stats.ts";
import type { TraceOptions } from "./trace.ts";
import { confinedSes, scriptCodeCache, type SesFiles } from "./code-cache.ts";
import { cacheDirectory, compilePds, type CompiledProgram, type Confinement } from "./loader.ts";
import {
  CallState,
  CHANNEL_I32,
  CONTROL_BYTES,
  CONTROL_I32,
  DOORBELL_BYTES,
  EndDead,
  FaultLabel,
  KERNEL_BELL_BYTES,
  Verdict,
} from "../protocol/layout.ts";
import { Watchdog } from "./watchdog.ts";
import { Supervisor, type RestartPolicy } from "./supervisor.ts";
import { ChannelMemory } from "../shm/channel-memory.ts";
import { ringDoorbell } from "../shm/doorbell.ts";
import type { RateLimits } from "../protocol/syscall.ts";
import { IpcKernel, type IpcKernelStats } from "./ipc-kernel.ts";
import { AsyncChannels, type AsyncChannelDescription } from "./async-channels.ts";
import type { AsyncConsumer, AsyncProducer } from "../ipc/async/index.ts";
import { regionBuffer, type Plan, type PlannedPd } from "./plan.ts";
import { Events, type Listener, type PdFault, type PdState, type PdStatus, type RunningSystem, type SystemEvents } from "./system.ts";

const here = import.meta.url;
/**
 * After `shutdown`'s grace the kernel terminates the workers left; one stuck in native code (terminate stops
 * only JavaScript) is waited for this much longer, then left behind (unref'd) and reported as a fault.
 */
const TERMINATE_WAIT_MS = 1000;
const runningFromSource = here.endsWith(".ts");
const bootstrapUrl = new URL("../../bin/pd-worker.cjs", here);
/** The runtime's worker entry, which loader.ts bundles with each program: the same build (src or dist) as this kernel. */
const runtimePath = fileURLToPath(new URL(runningFromSource ? "../pd/worker-main.ts" : "../pd/worker-main.js", here));

interface KernelPd {
  readonly plan: PlannedPd;
  readonly doorbell: Int32Array;
  readonly control: Int32Array;
  readonly worker: Worker;
  state: PdState;
  readonly exited: Promise<number>;
  readonly initDone: Promise<void>;
  readonly pid: number;
  /** The kernel's end of the PD's syscall port. */
  readonly port: MessagePort;
  readonly markInitDone: () => void;
  /** What the PD has said on its control port: the protocol's state (see `control`). */
  loaded: boolean;
  saidInitDone: boolean;
  saidStopped: boolean;
  /** A child's fault waits for its parent's verdict: another fault report now breaks the protocol. */
  faultPending: boolean;
  hasExited: boolean;
  /** What the worker was started with: a restart starts the next generation from it. */
  readonly boot: PdBootData<MessagePort>;
  /** 0 for the first run, +1 per restart (docs/supervision.md). */
  readonly generation: number;
  /** The kernel is restarting this PD: its callers get PeerRestarted, and the next generation starts once it exited. */
  restarting: boolean;
  /**
   * The kernel stopped this child's worker (watchdog, heap) and waits for its parent's verdict: the worker's
   * exit is not yet its death.
   */
  held: boolean;
  /** Stops the watchdog timing this PD. */
  unwatch: () => void;
}

/** Per-PD resources from the description (Microkit `budget`, `stack_size`), in the watchdog's and Node's units. */
export interface PdResources {
  /** Watchdog budget of one entry point, ms. */
  readonly budgetMs?: number | undefined;
  /** Worker stack, MB. */
  readonly stackMb?: number | undefined;
}

/** Supervision options of a system (boot.ts): the restart policy of the top-level PDs and per-PD resources. */
export interface Supervision {
  readonly policy?: RestartPolicy | undefined;
  readonly resources?: ReadonlyMap<string, PdResources> | undefined;
}

interface KernelChannel {
  readonly i32: Int32Array;
  /** Names of the PDs at end 0 and end 1. */
  readonly pds: readonly [string, string];
  /** End 0, end 1 may be notified (the other end holds notify); a notify word without it is a forgery. */
  readonly notifiable: [boolean, boolean];
  /** One end holds pp: CALLED here is a call; elsewhere it is a forgery nobody serves. */
  calls: boolean;
}

/**
 * The kernel's one timer for output and trace: every KERNEL_TICK_MS it turns the output (kernel/output.ts: lines
 * in order within OUTPUT_WINDOW_MS) and then the trace (kernel/stats.ts `Observation.tick`: the newest records of
 * each ring that moved, the count tables once a second). One timer, not one each: on 2 cores each wakeup of the
 * kernel's thread takes a core from PDs that may be spinning on both, and a turn or tick with nothing to do
 * costs a load per ring. 10 ms keeps output prompt.
 */
const KERNEL_TICK_MS = 10;

export class WorkerSystem implements RunningSystem {
  readonly mode = "workers" as const;
  private readonly events = new Events();
  private readonly pdMap = new Map<string, KernelPd>();
  private readonly channels: KernelChannel[] = [];
  private readonly faultList: PdFault[] = [];
  private stopping = false;
  private readonly output: KernelOutput;
  /** The kernel tick (KERNEL_TICK_MS), from launch to shutdown. */
  private tick: NodeJS.Timeout | undefined;
  private readonly parentQueues = new Map<string, Promise<void>>();
  private shutdownPromise: Promise<void> | undefined;
  private readonly ipc: IpcKernel;
  private readonly limits: Limits;
  private planned: readonly PlannedPd[] = [];
  private watchdog = new Watchdog(0);
  private supervisor: Supervisor | undefined;
  private resources: ReadonlyMap<string, PdResources> = new Map();
  private rateLimits: Readonly<Record<string, RateLimits>> = {};
  private regionBuffers = new Map<string, SharedArrayBuffer>();
  /** Restarts begun and not yet finished: the system is not idle while one is. */
  private pendingRestarts = 0;
  /** Counters, trace and capability log (kernel/stats.ts): made in `launch`, once the plan is known. */
  private observation: Observation | undefined;
  private traceOptions: TraceOptions | undefined;
  /** ses's file and V8's code cache of it, for confined PDs' workers (kernel/code-cache.ts); each worker gets a copy. */
  private ses: SesFiles | undefined;

  private readonly asyncChannels: AsyncChannels;

  private constructor(asyncChannels: AsyncChannels, limits: Limits) {
    this.asyncChannels = asyncChannels;
    this.limits = limits;
    this.ipc = new IpcKernel(limits);
    this.ipc.asyncEnd = (pd, name, role) => this.asyncChannels.current(pd, name, role);
    this.output = new KernelOutput(
      limits,
      (pd, text) => this.events.emit("output", { pd, text }),
      (limit) => { this.ipc.quotaHit(limit); },
      (name, why) => {
        const pd = this.pdMap.get(name);
        if (pd !== undefined) this.violation(pd, new IpcError("InvalidMessage", `output: PD '${name}' broke its output ring: ${why}`, { operation: "output", pd: name }));
      },
    );
  }

  /** Starts every PD and resolves once each has finished `init()` (or died trying). */
  static async start(
    plan: Plan,
    wait: WaitConfig,
    onOutput: Listener<"output">,
    onState: Listener<"state"> | undefined,
    initTimeoutMs: number,
    rateLimits: Readonly<Record<string, RateLimits>> = {},
    asyncChannels: readonly AsyncChannelDescription[] = [],
    limits: Limits = DEFAULT_LIMITS,
    confinement: Confinement = { trusted: new Set(), packages: [] },
    trace?: TraceOptions,
    supervision: Supervision = {},
  ): Promise<WorkerSystem> {
    const system = new WorkerSystem(new AsyncChannels(asyncChannels, new Set(plan.pds.map((pd) => pd.name))), limits);
    system.traceOptions = trace;
    system.events.on("output", onOutput);
    if (onState !== undefined) system.events.on("state", onState);
    system.resources = supervision.resources ?? new Map();
    if (supervision.policy !== undefined) system.supervisor = new Supervisor(supervision.policy, plan.pds.filter((pd) => pd.parent === undefined).map((pd) => pd.name));
    await system.launch(plan, wait, initTimeoutMs, rateLimits, confinement);
    return system;
  }

  get faults(): readonly PdFault[] {
    return this.faultList;
  }

  pds(): PdStatus[] {
    return [...this.pdMap.values()].map((pd) => ({ name: pd.plan.name, priority: pd.plan.priority, state: pd.state, generation: pd.generation }));
  }

  on<K extends keyof SystemEvents>(event: K, listener: Listener<K>): () => void {
    return this.events.on(event, listener);
  }

  private async launch(plan: Plan, wait: WaitConfig, initTimeoutMs: number, rateLimits: Readonly<Record<string, RateLimits>>, confinement: Confinement): Promise<void> {
    this.planned = plan.pds;
    this.watchdog = new Watchdog(wait.sliceMs);
    // Every distinct program is compiled (in parallel, once) before any worker starts: a program that does not
    // compile fails the boot with its location, and no worker pays for a TypeScript loader of its own.
    // Each PD's program runs confined (pd/confine.ts) unless the boot lists the PD trusted.
    // A confined PD's worker compiles ses with the code cache made here (kernel/code-cache.ts), alongside.
    const [compiled, ses] = await Promise.all([
      compilePds(plan.pds, runtimePath, confinement),
      plan.pds.some((pd) => !confinement.trusted.has(pd.name)) ? confinedSes(cacheDirectory()) : undefined,
    ]);
    this.ses = ses;
    const compileFailures = plan.pds.flatMap((pd) => {
      const result = compiled.get(pd.name);
      return result instanceof Error ? [{ pd: pd.name, error: result }] : [];
    });
    if (compileFailures.length > 0) {
      await this.shutdown();
      throw loadError(compileFailures);
    }
    const doorbells = new Map<string, SharedArrayBuffer>();
    for (const pd of plan.pds) doorbells.set(pd.name, new SharedArrayBuffer(DOORBELL_BYTES));
    const buffers: SharedArrayBuffer[] = [];
    for (let i = 0; i < plan.channelCount; i++) buffers.push(ChannelMemory.create(i));
    for (const buffer of buffers) this.channels.push({ i32: new Int32Array(buffer), pds: ["", ""], notifiable: [false, false], calls: false });
    for (const pd of plan.pds) {
      for (const end of pd.ends) {
        const channel = this.channels[end.channel]!;
        (channel.pds as [string, string])[end.end] = pd.name;
        channel.notifiable[end.end] = end.peerNotifies;
        if (end.serves) channel.calls = true;
      }
    }

    this.observation = this.observe(plan);
    const regionBuffers = new Map(plan.regions.map((r) => [r.name, regionBuffer(r, () => new SharedArrayBuffer(r.size))]));
    this.regionBuffers = regionBuffers;
    this.rateLimits = rateLimits;
    const kernelBell = new SharedArrayBuffer(KERNEL_BELL_BYTES);
    this.ipc.attachBell(kernelBell);
    let pid = 0;
    for (const pd of plan.pds) {
      const control = new SharedArrayBuffer(CONTROL_BYTES);
      const { port1, port2 } = new MessageChannel();
      pid++;
      const ends: PdEndBootData[] = pd.ends.map((end) => ({
        id: end.id,
        buffer: buffers[end.channel]!,
        end: end.end,
        pp: end.pp,
        notify: end.notify,
        serves: end.serves,
        peerNotifies: end.peerNotifies,
        peer: end.peer,
        peerDoorbell: doorbells.get(end.peer)!,
      }));
      // Every failure threw above: each program here compiled.
      const program = compiled.get(pd.name) as CompiledProgram;
      const boot: PdBootData<MessagePort> = {
        name: pd.name,
        priority: pd.priority,
        passive: pd.passive,
        programUrl: pd.programUrl,
        runtimeUrl: program.runtimeUrl,
        moduleUrl: program.moduleUrl,
        ...(program.api === undefined ? {} : { confinedApi: program.api }),
        doorbell: doorbells.get(pd.name)!,
        control,
        ends,
        wait,
        hasParent: pd.parent !== undefined,
        supervised: pd.parent === undefined && this.supervisor !== undefined && this.supervisor.supervises(pd.name) && this.supervisor.typeOf(pd.name) !== "temporary",
        regions: pd.maps.map((m) => ({ symbol: m.symbol, region: m.region, perms: m.perms, buffer: regionBuffers.get(m.region)! })),
        pid,
        kernelPort: port2,
        kernelBell,
        asyncChannels: this.asyncChannels.endsOf(pd.name),
        output: createOutputRing(this.limits.outputLinesPerSec),
        trace: this.observation.traceBootData(pd.name),
      };
      this.spawn(pd, boot, port1);
    }
    // unref: the tick is no reason to keep a process alive (the workers keep it alive while they run)
    const observation = this.observation;
    this.tick = setInterval(() => {
      this.output.turn(false);
      observation.tick();
    }, KERNEL_TICK_MS).unref();
    for (const [pd, limits] of Object.entries(rateLimits)) this.ipc.setRateLimits(pd, limits);
    // init() of every PD runs concurrently, as on Microkit; a notify or ppcall made in init() to a PD that has
    // not started yet waits in the channel buffer until that PD's loop runs.
    const loadFailures: PdFault[] = [];
    const off = this.events.on("fault", (fault) => {
      if (fault.entry === "load") loadFailures.push(fault);
    });
    // An init() may block (a ppcall to a PD that never answers, a loop): boot does not wait for it forever.
    // Such a PD stays "starting" and whenIdle() does not see the system as idle while it does.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([...this.pdMap.values()].map((pd) => pd.initDone)),
      new Promise((resolve) => (timer = setTimeout(resolve, initTimeoutMs))),
    ]);
    clearTimeout(timer);
    off();
    if (loadFailures.length > 0) {
      await this.shutdown();
      throw loadError(loadFailures);
    }
  }

  private spawn(plan: PlannedPd, boot: PdBootData<MessagePort>, port: MessagePort, generation = 0): void {
    // The kernel's reader of the output ring takes its geometry now, before the worker holds the buffer.
    const outputGeometry = ringGeometry(boot.output);
    // stdout/stderr: true: a worker's raw console.log and process.stdout writes come to this thread as streams,
    // read by kernel/output.ts under the PD's name (by default they would go straight to the process's stdout).
    // resourceLimits: a PD over its heap is stopped by V8 (the 'error' below), one over its stack throws a
    // RangeError in its entry point; either faults that PD alone.
    const resourceLimits = { maxOldGenerationSizeMb: this.limits.heapMbPerPd, stackSizeMb: this.resources.get(plan.name)?.stackMb ?? this.limits.stackMbPerPd };
    // A confined PD gets its own copy of the code caches (structured clones): nothing it holds is another PD's.
    const workerData: PdBootData<MessagePort> = boot.confinedApi === undefined ? boot : { ...boot, runtimeCodeCache: scriptCodeCache(boot.runtimeUrl), sesCodeCache: this.ses?.codeCache, sesPath: this.ses?.path };
    const worker = new Worker(bootstrapUrl, { workerData, name: `isokit:${plan.name}`, transferList: [boot.kernelPort], stdout: true, stderr: true, resourceLimits, execArgv: workerExecArgv() });
    let markInitDone!: () => void;
    const initDone = new Promise<void>((resolve) => (markInitDone = resolve));
    const exited = new Promise<number>((resolve) => worker.once("exit", resolve));
    const pd: KernelPd = {
      plan,
      doorbell: new Int32Array(boot.doorbell),
      control: new Int32Array(boot.control),
      worker,
      state: "starting",
      exited,
      initDone,
      pid: boot.pid,
      port,
      markInitDone,
      loaded: false,
      saidInitDone: false,
      saidStopped: false,
      faultPending: false,
      hasExited: false,
      boot,
      generation,
      restarting: false,
      held: false,
      unwatch: () => undefined,
    };
    this.pdMap.set(plan.name, pd);
    pd.unwatch = this.watchdog.watch({
      name: plan.name,
      control: pd.control,
      budgetMs: this.budgetOf(plan.name),
      blocked: () => this.seenBlocked(pd),
      overBudget: (ranMs) => {
        this.guard(pd, "watchdog", () => { this.overBudget(pd, ranMs); });
      },
    });
    this.output.add(plan.name, boot.output, outputGeometry, [worker.stdout, worker.stderr]);
    this.ipc.addPd({
      pid: boot.pid,
      name: plan.name,
      control: pd.control,
      doorbell: boot.doorbell,
      post: (message, transfer) => { port.postMessage(message, transfer ?? []); },
      alive: () => pd.state === "starting" || pd.state === "running",
      connected: connectedTo(plan, this.planned),
      fault: (error) => {
        this.guard(pd, "syscall", () => {
          this.died(pd, "faulted", "syscall", error);
          markInitDone();
        });
      },
      take: () => receiveMessageOnPort(port),
    });

    worker.on("message", (message: unknown) => {
      this.guard(pd, "control", () => { this.control(pd, message); });
    });
    worker.on("messageerror", (error) => {
      this.guard(pd, "control", () => {
        this.violation(pd, new IpcError("InvalidMessage", `control: PD '${plan.name}' posted a message that cannot be read (${error.message})`, { operation: "control", pd: plan.name }, { cause: error }));
      });
    });
    worker.on("error", (error) => {
      this.guard(pd, "uncaught", () => {
        if ((error as NodeJS.ErrnoException).code === "ERR_WORKER_OUT_OF_MEMORY") {
          const heap = new IpcError("OutOfMemory", `memory: PD '${plan.name}' ran out of its heap (${this.limits.heapMbPerPd} MB, Limits.heapMbPerPd); its worker is stopped`, { operation: "memory", pd: plan.name }, { cause: error });
          this.kernelFault(pd, "memory", heap, FaultLabel.OUT_OF_MEMORY);
        } else {
          this.died(pd, "faulted", "uncaught", error);
        }
        markInitDone();
      });
    });
    worker.on("exit", (code) => {
      pd.hasExited = true;
      this.guard(pd, "exit", () => {
        if (pd.held) {
          // the kernel stopped it and its parent's verdict decides what happens (childFaulted)
        } else if (pd.state === "starting" || pd.state === "running") {
          this.died(pd, this.stopping ? "stopped" : "exited", "exit", new IpcError("PeerDied", `PD '${plan.name}' exited with code ${code}`, { pd: plan.name }));
        } else if (pd.state !== "faulted" && pd.state !== "stopped") {
          this.setState(pd, this.stopping ? "stopped" : "exited");
        }
        this.events.emit("exit", { pd: plan.name, code });
      });
      markInitDone();
    });
  }

  /**
   * One control message from PD `pd`'s worker (protocol/control.ts). It must decode and fit the PD's state:
   * `loaded` once, first; `init-done` once, after it; `fault` in `load` only before `loaded`, in an entry point
   * only after it, and for a child never while an earlier fault waits for its verdict; nothing after `stopped`.
   * Anything else faults the PD. Messages from a PD that is gone are ignored (its worker may still be draining).
   */
  private control(pd: KernelPd, raw: unknown): void {
    if (!isLive(pd)) return;
    const name = pd.plan.name;
    let message: PdToKernel;
    try {
      message = decodeControl(name, raw);
    } catch (error) {
      if (!(error instanceof IpcError)) throw error; // the guard reports it
      this.violation(pd, error);
      return;
    }
    // Returns undefined so each check below reads as one line: `{ misplaced(why)`.
    const misplaced = (why: string): void => {
      this.violation(pd, new IpcError("InvalidMessage", `control: PD '${name}' sent '${message.type}' ${why}`, { operation: "control", pd: name }));
    };
    if (pd.saidStopped) { misplaced("after 'stopped'"); return; }
    switch (message.type) {
      case "loaded": // ["loaded"]
        if (pd.loaded) { misplaced("twice"); return; }
        pd.loaded = true;
        return;
      case "init-done": // ["init-done"]
        if (!pd.loaded || pd.saidInitDone) { misplaced(pd.loaded ? "twice" : "before 'loaded'"); return; }
        pd.saidInitDone = true;
        if (pd.state === "starting") this.setState(pd, "running");
        pd.markInitDone();
        return;
      case "fault": {
        // ["fault", entry, error]
        if ((message.entry === "load") === pd.loaded) { misplaced(message.entry === "load" ? "in 'load' after 'loaded'" : `in '${message.entry}' before 'loaded'`); return; }
        if (pd.faultPending) { misplaced("while its earlier fault waits for its parent's verdict"); return; }
        // A child's runtime stores VERDICT = PENDING before it reports a fault and then waits for the verdict; a
        // report that finds the last verdict still there was not made by a waiting runtime (a forger posting
        // faults in a loop would otherwise get its parent's fault() run once per verdict).
        if (pd.plan.parent !== undefined && message.entry !== "load" && Atomics.load(pd.control, CONTROL_I32.VERDICT) !== Verdict.PENDING) {
          misplaced("before it took the verdict on its earlier fault");
          return;
        }
        const error = deserializeError(message.error);
        if (pd.plan.parent !== undefined && message.entry !== "load" && !this.stopping) {
          this.childFaulted(pd, message.entry, error);
        } else {
          this.died(pd, "faulted", message.entry, error);
          pd.markInitDone();
        }
        return;
      }
      case "stopped": // ["stopped"]
        pd.saidStopped = true;
        return;
    }
  }

  /** PD `pd` broke the control protocol: it is faulted (only it), and the violation counted. */
  private violation(pd: KernelPd, error: IpcError): void {
    this.ipc.quotaHit("protocol");
    this.died(pd, "faulted", "control", error);
    pd.markInitDone();
  }

  /**
   * Runs `body`, which serves PD `pd`; an exception out of it (the kernel choked on something the PD sent or
   * wrote) faults that PD, recorded with the cause, instead of reaching the process.
   */
  private guard(pd: KernelPd, what: string, body: () => void): void {
    try {
      body();
    } catch (cause) {
      const error = new IpcError(
        "InvalidMessage",
        `kernel: serving PD '${pd.plan.name}' (${what}) failed with ${describeError(cause)}; the PD is faulted`,
        { operation: what, pd: pd.plan.name },
        { cause },
      );
      try {
        if (isLive(pd)) this.died(pd, "faulted", "kernel", error);
        else this.recordFault({ pd: pd.plan.name, entry: "kernel", error, resumed: false });
        pd.markInitDone();
      } catch {
        // died() guards each of its steps; only a throwing event listener of the host can get here.
      }
    }
  }

  /**
   * A PD is gone. Mark each of its ends dead, then sweep every call it was serving to CALLEE_DIED and wake the
   * caller. Order matters: DEAD first, so a caller that publishes a call after the sweep sees DEAD on its
   * re-check (worker-runtime.ts, ppcall). Each step runs whatever an earlier one threw (a PD can scribble on
   * the memory the steps read): a failed step is recorded as a fault of the PD with entry `cleanup`.
   */
  private died(pd: KernelPd, state: PdState, entry: string, error: Error, record = true): void {
    if (!isLive(pd)) return;
    const name = pd.plan.name;
    const step = (what: string, body: () => void): void => {
      try {
        body();
      } catch (cause) {
        this.faultList.push({
          pd: name,
          entry: "cleanup",
          error: new IpcError("InvalidMessage", `clean-up of PD '${name}': ${what} failed with ${describeError(cause)}; the other steps went on`, { operation: "cleanup", pd: name }, { cause }),
          resumed: false,
        });
      }
    };
    pd.state = state; // first, so nothing below can see the PD alive (the event is emitted after the clean-up)
    pd.unwatch();
    // Before the sweep: a PD the policy restarts wakes its callers with PeerRestarted, not PeerDied.
    const restarting = pd.restarting || this.supervise(pd, state);
    const deadValue = restarting ? EndDead.RESTARTING : EndDead.DEAD;
    const swept = restarting ? CallState.CALLEE_RESTARTED : CallState.CALLEE_DIED;
    // Its capabilities go, its endpoints close, and every PD blocked sending to or calling it wakes (PeerDied, or
    // PeerRestarted if it is restarted).
    step("its capabilities and endpoints", () => { this.ipc.cleanupProcess(pd.pid, restarting); });
    step("its async channel ends", () => { this.asyncChannels.died(name, restarting); });
    for (const end of pd.plan.ends) {
      step(`its end of channel ${end.id}`, () => {
        const i32 = this.channels[end.channel]!.i32;
        Atomics.store(i32, end.end === 0 ? CHANNEL_I32.END0_DEAD : CHANNEL_I32.END1_DEAD, deadValue);
        if (end.serves) {
          Atomics.compareExchange(i32, CHANNEL_I32.CALL_STATE, CallState.CALLED, swept);
          Atomics.notify(i32, CHANNEL_I32.CALL_STATE);
        }
      });
    }
    // A faulted PD is stopped, as Microkit stops a faulting PD: its worker must not run on (nor one the
    // supervisor stops or restarts).
    if (state !== "exited") step("stopping its worker", () => { pd.worker.terminate().catch(() => undefined); });
    step("telling of its state", () => { this.events.emit("state", { pd: name, state }); });
    if ((state === "faulted" || state === "exited") && !this.stopping && record) {
      step("recording its fault", () => { this.recordFault({ pd: name, entry, error, resumed: false, restarted: restarting }); });
    }
  }

  private recordFault(fault: PdFault): void {
    this.faultList.push(fault);
    this.events.emit("fault", fault);
  }

  /**
   * A child faulted and waits for a verdict. Its parent's `fault()` decides (Microkit's fault handling): the
   * kernel posts the fault in the parent's control buffer, rings it, and waits for CHILD_VERDICT. Faults to
   * one parent are handled one at a time. A dead parent means stop, and so does no verdict within
   * `Limits.faultVerdictMs` of the fault (a parent that never runs must not leave the child's callers blocked).
   * One fault per child is pending at a time (`faultPending`; `control` refuses another).
   */
  private childFaulted(child: KernelPd, entry: string, error: Error, label: number = FaultLabel.ENTRY_POINT_THREW): void {
    const parentName = child.plan.parent!;
    const parent = this.pdMap.get(parentName);
    child.faultPending = true;
    // An object, not a `let`: the timer and the turn both settle, and the compiler must not narrow it.
    const fault = { settled: false };
    const isSettled = (): boolean => fault.settled;
    let wake!: () => void;
    const done = new Promise<void>((resolve) => (wake = resolve));
    const settle = (verdict: number, handledBy: string | undefined, recorded: Error): void => {
      if (fault.settled) return;
      fault.settled = true;
      clearTimeout(timer);
      wake();
      child.faultPending = false;
      // A child the kernel stopped (held) cannot resume: its worker is gone.
      const live = isLive(child) && !this.stopping;
      const resumed = verdict === Verdict.RESUME && live && !child.held;
      const restarted = verdict === Verdict.RESTART && live;
      if (isLive(child)) this.recordFault({ pd: child.plan.name, entry, error: recorded, handledBy, resumed, restarted });
      if (restarted) {
        // No verdict to the child: the kernel sweeps its calls (PeerRestarted) before its worker could (PeerDied).
        child.restarting = true;
        this.died(child, "faulted", entry, recorded, false);
        this.restartLater([child], "parent");
        child.markInitDone();
        return;
      }
      Atomics.store(child.control, CONTROL_I32.VERDICT, resumed ? Verdict.RESUME : Verdict.STOP);
      Atomics.notify(child.control, CONTROL_I32.VERDICT);
      if (!resumed) this.died(child, "faulted", entry, recorded, false);
      child.markInitDone();
    };
    const timer = setTimeout(() => {
      this.guard(child, "fault verdict", () => {
        const late = new IpcError(
          "Timeout",
          `fault: PD '${parentName}' gave no verdict on its child '${child.plan.name}' within ${this.limits.faultVerdictMs} ms (Limits.faultVerdictMs); the child is stopped`,
          { operation: "fault", pd: child.plan.name },
          { cause: error },
        );
        settle(Verdict.STOP, undefined, late);
      });
    }, this.limits.faultVerdictMs);
    const previous = this.parentQueues.get(parentName) ?? Promise.resolve();
    const turn = previous.then(async () => {
      if (parent === undefined || fault.settled) { settle(Verdict.STOP, undefined, error); return; }
      await Promise.race([parent.initDone, done]); // a fault in the child's init() may come before the parent's init() is done
      if (isSettled()) return;
      if (parent.state !== "running") { settle(Verdict.STOP, undefined, error); return; }
      const control = parent.control;
      const id = (child.plan.childId ?? 0) + 1;
      Atomics.store(control, CONTROL_I32.CHILD_VERDICT, Verdict.PENDING);
      Atomics.store(control, CONTROL_I32.CHILD_LABEL, label);
      Atomics.store(control, CONTROL_I32.CHILD_FAULT, id); // publishes the fault
      ringDoorbell(parent.doorbell);
      while (isAlive(parent) && !this.stopping && !isSettled()) {
        const wait = Atomics.waitAsync(control, CONTROL_I32.CHILD_VERDICT, Verdict.PENDING, 50);
        if (wait.async) await wait.value;
        const v = Atomics.load(control, CONTROL_I32.CHILD_VERDICT);
        if (v !== Verdict.PENDING) { settle(v, parentName, error); return; }
      }
      // Timed out (or stopping): withdraw the fault if the parent has not taken it, so it does not run fault() late.
      Atomics.compareExchange(control, CONTROL_I32.CHILD_FAULT, id, 0);
      settle(Verdict.STOP, undefined, error);
    });
    const guarded = turn.catch((cause: unknown) => {
      this.guard(child, "fault verdict", () => { throw cause; });
    });
    this.parentQueues.set(parentName, guarded);
  }

  /** The watchdog's budget for PD `name`, ms. */
  private budgetOf(name: string): number {
    return this.resources.get(name)?.budgetMs ?? this.limits.entryBudgetMs;
  }

  /**
   * The kernel sees PD `pd` blocked, from words it can check (kernel/watchdog.ts): a protected call of it is in
   * flight, a syscall of it is unanswered, or it waits for its parent's verdict.
   */
  private seenBlocked(pd: KernelPd): boolean {
    if (pd.faultPending) return true;
    if (Atomics.load(pd.control, CONTROL_I32.SYSCALL_REQ) !== Atomics.load(pd.control, CONTROL_I32.SYSCALL_DONE)) return true;
    for (const end of pd.plan.ends) {
      if (end.pp && Atomics.load(this.channels[end.channel]!.i32, CHANNEL_I32.CALL_STATE) === CallState.CALLED) return true;
    }
    return false;
  }

  private overBudget(pd: KernelPd, ranMs: number): void {
    const name = pd.plan.name;
    const error = new IpcError(
      "Timeout",
      `watchdog: PD '${name}' ran ${ranMs} ms in one entry point without waiting, past its budget of ${this.budgetOf(name)} ms (Limits.entryBudgetMs, or its budget attribute); its worker is stopped`,
      { operation: "watchdog", pd: name },
    );
    this.kernelFault(pd, "watchdog", error, FaultLabel.WATCHDOG);
  }

  /**
   * The kernel faulted PD `pd` (watchdog, heap): its worker cannot report it. A child's worker is stopped and
   * its parent's `fault()` decides (restart or stop; it cannot resume); any other PD dies.
   */
  private kernelFault(pd: KernelPd, entry: string, error: IpcError, label: number): void {
    if (!isLive(pd)) return;
    if (pd.plan.parent !== undefined && !this.stopping && !pd.faultPending) {
      pd.held = true;
      pd.unwatch();
      pd.worker.terminate().catch(() => undefined);
      this.childFaulted(pd, entry, error, label);
    } else {
      this.died(pd, "faulted", entry, error);
    }
    pd.markInitDone();
  }

  /**
   * Top-level PD `pd` ended: asks the restart policy (kernel/supervisor.ts). Returns true if `pd` is restarted;
   * the others of its group are stopped for restart here, and escalation stops every supervised PD.
   */
  private supervise(pd: KernelPd, state: PdState): boolean {
    const supervisor = this.supervisor;
    if (supervisor === undefined || this.stopping || pd.plan.parent !== undefined) return false;
    if (state !== "faulted" && state !== "exited") return false;
    const name = pd.plan.name;
    const decision = supervisor.decide(name, state === "faulted");
    if (decision.kind === "none") return false;
    if (decision.kind === "escalate") {
      const error = new IpcError(
        "ShutDown",
        `restart: PD '${name}' ended again, ${decision.restarts} restarts within ${decision.periodMs} ms, more than the policy's intensity of ${supervisor.policy.intensity ?? 1}; the supervisor gives up and stops every supervised PD`,
        { operation: "restart", pd: name },
      );
      this.recordFault({ pd: name, entry: "supervisor", error, resumed: false });
      this.events.emit("escalated", { pd: name, restarts: decision.restarts, periodMs: decision.periodMs });
      for (const other of this.pdMap.values()) {
        if (other !== pd && isLive(other) && supervisor.supervises(other.plan.name)) this.died(other, "stopped", "supervisor", error, false);
      }
      return false;
    }
    pd.restarting = true;
    const group = [pd];
    for (const otherName of decision.pds) {
      const other = this.pdMap.get(otherName);
      if (other === undefined || other === pd || !isLive(other)) continue;
      other.restarting = true;
      group.push(other);
      const why = new IpcError("PeerRestarted", `restart: PD '${otherName}' is restarted with PD '${name}' (${supervisor.policy.strategy})`, { operation: "restart", pd: otherName });
      this.died(other, "stopped", "supervisor", why, false);
    }
    this.restartLater(group, "policy");
    return true;
  }

  private restartLater(pds: readonly KernelPd[], by: "parent" | "policy"): void {
    this.pendingRestarts++;
    void this.restart(pds, by)
      .catch((cause: unknown) => {
        for (const pd of pds) this.guard(pd, "restart", () => { throw cause; });
      })
      .finally(() => { this.pendingRestarts--; });
  }

  /**
   * Starts the next generation of each of `pds` once its old worker has exited (a worker stuck in native code
   * past TERMINATE_WAIT_MS is not restarted: it still runs, and holds its buffers).
   */
  private async restart(pds: readonly KernelPd[], by: "parent" | "policy"): Promise<void> {
    await Promise.all(pds.map((pd) => settlesWithin(pd.exited, TERMINATE_WAIT_MS)));
    for (const old of pds) {
      if (this.stopping) return;
      const name = old.plan.name;
      if (!old.hasExited) {
        this.faultList.push({
          pd: name,
          entry: "restart",
          error: new IpcError("Timeout", `restart: PD '${name}' did not exit within ${TERMINATE_WAIT_MS} ms of terminate (stuck in native code?); not restarted`, { operation: "restart", pd: name }),
          resumed: false,
        });
        continue;
      }
      this.respawn(old, by);
    }
  }

  /**
   * The next generation of `old`, with what the description grants: its channel ends (alive again; a call
   * CALLEE_RESTARTED stays for its caller to take), its regions (zeroed if the policy says so), its parent and
   * children, its rate limits. What it got at run time went with the old generation (cleanupProcess).
   */
  private respawn(old: KernelPd, by: "parent" | "policy"): void {
    const plan = old.plan;
    for (const end of plan.ends) {
      const i32 = this.channels[end.channel]!.i32;
      if (end.serves) Atomics.compareExchange(i32, CHANNEL_I32.CALL_STATE, CallState.CALLEE_DIED, CallState.IDLE);
      Atomics.store(i32, end.end === 0 ? CHANNEL_I32.END0_DEAD : CHANNEL_I32.END1_DEAD, EndDead.ALIVE); // last: the end is callable again
    }
    if (this.supervisor?.policy.regions === "zero") {
      for (const map of plan.maps) new Uint8Array(this.regionBuffers.get(map.region)!).fill(0);
    }
    this.output.turn(false); // what the old generation printed, before its ring is replaced
    const { port1, port2 } = new MessageChannel();
    const boot: PdBootData<MessagePort> = {
      ...old.boot,
      control: new SharedArrayBuffer(CONTROL_BYTES),
      kernelPort: port2,
      output: createOutputRing(this.limits.outputLinesPerSec),
      asyncChannels: this.asyncChannels.endsOf(plan.name), // rewired on new rings when the old generation died
    };
    old.port.close();
    const generation = old.generation + 1;
    this.spawn(plan, boot, port1, generation);
    const limits = this.rateLimits[plan.name];
    if (limits !== undefined) this.ipc.setRateLimits(plan.name, limits);
    this.events.emit("restart", { pd: plan.name, generation, by });
  }

  private setState(pd: KernelPd, state: PdState): void {
    if (pd.state === state) return;
    pd.state = state;
    this.events.emit("state", { pd: pd.plan.name, state });
  }

  setRateLimits(pd: string, limits: RateLimits | undefined): void {
    this.ipc.setRateLimits(pd, limits);
  }

  asyncProducer(name: string): AsyncProducer {
    return this.asyncChannels.hostProducer(name);
  }

  asyncConsumer(name: string): AsyncConsumer {
    return this.asyncChannels.hostConsumer(name);
  }

  ipcStats(): IpcKernelStats {
    return this.ipc.stats();
  }

  stats(): SystemStats {
    return this.observer.stats();
  }

  get observer(): SystemObserver {
    if (this.observation === undefined) throw new IpcError("InvalidArgument", "observer: the system has not been launched", { operation: "observer" });
    return this.observation;
  }

  /**
   * The observation of this system: counters from the kernel's own records and, when traced, from each PD's
   * trace ring. A trace ring that breaks the ring's rules faults its PD, as a broken output ring does.
   */
  private observe(plan: Plan): Observation {
    const observation = new Observation(
      observedFromPlan(plan, this.asyncChannels.descriptions(), {
        state: (name) => this.pdMap.get(name)?.state ?? "starting",
        pendingCall: (index) => {
          const channel = this.channels[index];
          return channel !== undefined && channel.calls && Atomics.load(channel.i32, CHANNEL_I32.CALL_STATE) === CallState.CALLED ? 1 : 0;
        },
        capabilities: (pid) => this.ipc.capabilityCount(pid),
        kernelStats: () => this.ipc.stats(),
        inEntryMs: (name) => this.watchdog.inEntryMs(name),
      }),
      this.traceOptions,
      (name, why) => {
        const pd = this.pdMap.get(name);
        if (pd !== undefined) this.violation(pd, new IpcError("InvalidMessage", `trace: PD '${name}' broke its trace ring: ${why}`, { operation: "trace", pd: name }));
      },
    );
    this.events.on("output", (e) => { observation.output(e.pd); });
    this.events.on("fault", (f) => { observation.fault(f); });
    this.events.on("state", (e) => { observation.state(e.pd, e.state); });
    this.ipc.observe = (pid, request, result) => { observation.syscall(pid, request, result); };
    return observation;
  }

  async whenIdle(settleMs = 20): Promise<void> {
    let quietSamples = 0;
    while (quietSamples < 2) {
      await new Promise((r) => setTimeout(r, settleMs));
      quietSamples = this.isQuiet() ? quietSamples + 1 : 0;
    }
    this.output.turn(true);
  }

  private isQuiet(): boolean {
    if (this.pendingRestarts > 0) return false;
    for (const pd of this.pdMap.values()) {
      if (pd.state === "starting") return false;
      if (pd.state !== "running") continue;
      if (Atomics.load(pd.control, CONTROL_I32.IDLE) !== 1) return false;
    }
    for (const channel of this.channels) {
      const i32 = channel.i32;
      const alive = (end: 0 | 1): boolean => this.pdMap.get(channel.pds[end])?.state === "running";
      // Only words that mean something count: a CALLED on a channel without pp, or a notification to an end whose
      // peer may not notify, is a forgery the receiver ignores, and must not keep the system from being idle.
      if (channel.calls && Atomics.load(i32, CHANNEL_I32.CALL_STATE) === CallState.CALLED) return false;
      // A notification is pending while its count differs from the count the receiver took (protocol/layout.ts).
      if (channel.notifiable[0] && alive(0) && Atomics.load(i32, CHANNEL_I32.NOTIFY_TO_END0) !== Atomics.load(i32, CHANNEL_I32.NOTIFY_SEEN_BY_END0)) return false;
      if (channel.notifiable[1] && alive(1) && Atomics.load(i32, CHANNEL_I32.NOTIFY_TO_END1) !== Atomics.load(i32, CHANNEL_I32.NOTIFY_SEEN_BY_END1)) return false;
    }
    return true;
  }

  shutdown(graceMs = 2000): Promise<void> {
    this.shutdownPromise ??= this.stopAll(graceMs);
    return this.shutdownPromise;
  }

  private async stopAll(graceMs: number): Promise<void> {
    this.stopping = true;
    this.watchdog.stop();
    const pds = [...this.pdMap.values()];
    for (const pd of pds) {
      Atomics.store(pd.control, CONTROL_I32.STOP, 1); // read by the PD after every wake-up and sleep slice
      ringDoorbell(pd.doorbell);
    }
    const all = Promise.all(pds.map((pd) => pd.exited));
    if (!(await settlesWithin(all, graceMs))) {
      // A PD stuck in its own code (or with handles open in async mode) does not leave by itself.
      for (const pd of pds) if (!pd.hasExited) pd.worker.terminate().catch(() => undefined);
      if (!(await settlesWithin(all, TERMINATE_WAIT_MS))) {
        // terminate() stops JavaScript, not native code (a sync crypto call, execSync): such a worker exits when
        // that call returns. Shutdown does not wait for it; the process may go on (or end) without it.
        for (const pd of pds) {
          if (pd.hasExited) continue;
          pd.worker.unref();
          this.faultList.push({
            pd: pd.plan.name,
            entry: "shutdown",
            error: new IpcError("Timeout", `shutdown: PD '${pd.plan.name}' did not exit within ${graceMs} ms, nor ${TERMINATE_WAIT_MS} ms after terminate (stuck in native code?); left behind`, {
              operation: "shutdown",
              pd: pd.plan.name,
            }),
            resumed: false,
          });
          this.died(pd, "stopped", "shutdown", new IpcError("ShutDown", `PD '${pd.plan.name}' was left behind at shutdown`, { pd: pd.plan.name }));
        }
      }
    }
    this.ipc.stop();
    for (const pd of pds) pd.port.close();
    clearInterval(this.tick);
    this.tick = undefined;
    this.output.close();
    this.observation?.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }
}

/** The PDs `pd` is connected to by the description: the other end of each of its channels, its parent, its children. */
function connectedTo(pd: PlannedPd, all: readonly PlannedPd[]): ReadonlySet<string> {
  const names = new Set(pd.ends.map((end) => end.peer));
  if (pd.parent !== undefined) names.add(pd.parent);
  for (const other of all) if (other.parent === pd.name) names.add(other.name);
  return names;
}

/** Boot's error for PDs whose program did not compile or load: every one named, the first as the cause. */
function loadError(failures: readonly { readonly pd: string; readonly error: Error }[]): IpcError {
  const first = failures[0]!;
  return new IpcError("InvalidSystem", `boot: ${failures.map((f) => `PD '${f.pd}' failed to load: ${f.error.message}`).join("; ")}`, { operation: "boot", pd: first.pd }, { cause: first.error });
}

/** Read through a function so the compiler does not narrow a state that other callbacks change. */
function isAlive(pd: KernelPd): boolean {
  return pd.state === "running";
}

/** Starting or running: not yet faulted, exited or stopped. */
function isLive(pd: KernelPd): boolean {
  return pd.state === "starting" || pd.state === "running";
}

/** True if `promise` settles within `ms`. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => { resolve(false); }, ms)));
  try {
    return await Promise.race([promise.then(() => true, () => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message.length > 500 ? `${error.message.slice(0, 500)}...` : error.message}`;
  return `a thrown ${typeof error}`;
}

/**
 * The Node options a PD worker starts with: the kernel's, less its module hooks. A worker inherits
 * `process.execArgv` by default, so a kernel started with `--import tsx` (the repo's tests and bench, `isokit`
 * run from the sources) would start tsx and its hooks thread again in every PD: ~10 MB and tens of ms each, for
 * nothing, since kernel/loader.ts compiled the runtime and the program to JavaScript. Other options
 * (`--cpu-prof`, `--expose-gc`, `--inspect`, ...) pass through.
 */
function workerExecArgv(): string[] {
  const hooks = new Set(["--import", "--loader", "--experimental-loader", "--require", "-r"]);
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const name = arg.split("=", 1)[0]!;
    if (!hooks.has(name)) out.push(arg);
    else if (!arg.includes("=")) i++; // its value is the next argument
  }
  return out;
}
