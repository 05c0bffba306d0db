/**
 * The kernel in worker mode: one worker thread per PD.
 *
 * The kernel makes every shared buffer and hands each PD exactly its own: its doorbell, its control word, and
 * the buffer of each channel it holds an end of (plus the doorbells of its peers, which carry no data). It is
 * never on the path of a message; it watches the workers and, when one dies, does what the dead PD can no
 * longer do: marks its ends dead and wakes every PD blocked in a protected call to it (`PeerDied`).
 */

import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from "node:worker_threads";
import { deserializeError, IpcError } from "../errors.ts";
import type { PdBootData, PdEndBootData, PdToKernel, WaitConfig } from "../protocol/control.ts";
import {
  CallState,
  CHANNEL_I32,
  CONTROL_BYTES,
  CONTROL_I32,
  DOORBELL_BYTES,
  DOORBELL_I32,
  FaultLabel,
  KERNEL_BELL_BYTES,
  Verdict,
} from "../protocol/layout.ts";
import { ChannelMemory } from "../shm/channel-memory.ts";
import type { RateLimits } from "../protocol/syscall.ts";
import { IpcKernel, type IpcKernelStats } from "./ipc-kernel.ts";
import { AsyncChannels, type AsyncChannelDescription } from "./async-channels.ts";
import type { AsyncConsumer, AsyncProducer } from "../ipc/async/index.ts";
import { regionBuffer, type Plan, type PlannedPd } from "./plan.ts";
import { Events, type Listener, type PdFault, type PdState, type PdStatus, type RunningSystem, type SystemEvents } from "./system.ts";

const here = import.meta.url;
/** How long PD output waits so lines from different workers can be put in the order they were written. */
const OUTPUT_WINDOW_MS = 15;
const runningFromSource = here.endsWith(".ts");
const bootstrapUrl = new URL("../../bin/pd-worker.mjs", here);
const runtimeUrl = new URL(runningFromSource ? "../pd/worker-main.ts" : "../pd/worker-main.js", here).href;

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
}

interface KernelChannel {
  readonly i32: Int32Array;
  /** Names of the PDs at end 0 and end 1. */
  readonly pds: readonly [string, string];
}

export class WorkerSystem implements RunningSystem {
  readonly mode = "workers" as const;
  private readonly events = new Events();
  private readonly pdMap = new Map<string, KernelPd>();
  private readonly channels: KernelChannel[] = [];
  private readonly faultList: PdFault[] = [];
  private stopping = false;
  private readonly output: { pd: string; text: string; at: number }[] = [];
  private outputTimer: NodeJS.Timeout | undefined;
  private readonly parentQueues = new Map<string, Promise<void>>();
  private shutdownPromise: Promise<void> | undefined;
  private readonly ipc = new IpcKernel();
  private planned: readonly PlannedPd[] = [];

  private readonly asyncChannels: AsyncChannels;

  private constructor(asyncChannels: AsyncChannels) {
    this.asyncChannels = asyncChannels;
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
  ): Promise<WorkerSystem> {
    const system = new WorkerSystem(new AsyncChannels(asyncChannels, new Set(plan.pds.map((pd) => pd.name))));
    system.events.on("output", onOutput);
    if (onState !== undefined) system.events.on("state", onState);
    await system.launch(plan, wait, initTimeoutMs, rateLimits);
    return system;
  }

  get faults(): readonly PdFault[] {
    return this.faultList;
  }

  pds(): PdStatus[] {
    return [...this.pdMap.values()].map((pd) => ({ name: pd.plan.name, priority: pd.plan.priority, state: pd.state }));
  }

  on<K extends keyof SystemEvents>(event: K, listener: Listener<K>): () => void {
    return this.events.on(event, listener);
  }

  private async launch(plan: Plan, wait: WaitConfig, initTimeoutMs: number, rateLimits: Readonly<Record<string, RateLimits>>): Promise<void> {
    this.planned = plan.pds;
    const doorbells = new Map<string, SharedArrayBuffer>();
    for (const pd of plan.pds) doorbells.set(pd.name, new SharedArrayBuffer(DOORBELL_BYTES));
    const buffers: SharedArrayBuffer[] = [];
    for (let i = 0; i < plan.channelCount; i++) buffers.push(ChannelMemory.create(i));
    const channelPds: [string, string][] = buffers.map(() => ["", ""]);
    for (const pd of plan.pds) for (const end of pd.ends) channelPds[end.channel]![end.end] = pd.name;
    buffers.forEach((buffer, i) => this.channels.push({ i32: new Int32Array(buffer), pds: channelPds[i]! }));

    const regionBuffers = new Map(plan.regions.map((r) => [r.name, regionBuffer(r, () => new SharedArrayBuffer(r.size))]));
    const kernelBell = new SharedArrayBuffer(KERNEL_BELL_BYTES);
    this.ipc.attachBell(kernelBell);
    const useTsx = runningFromSource || plan.pds.some((pd) => /\.[cm]?tsx?$/.test(pd.programUrl));
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
        peer: end.peer,
        peerDoorbell: doorbells.get(end.peer)!,
      }));
      const boot: PdBootData = {
        name: pd.name,
        priority: pd.priority,
        passive: pd.passive,
        programUrl: pd.programUrl,
        runtimeUrl,
        useTsx,
        doorbell: doorbells.get(pd.name)!,
        control,
        ends,
        wait,
        hasParent: pd.parent !== undefined,
        regions: pd.maps.map((m) => ({ symbol: m.symbol, region: m.region, perms: m.perms, buffer: regionBuffers.get(m.region)! })),
        pid,
        kernelPort: port2,
        kernelBell,
        asyncChannels: this.asyncChannels.endsOf(pd.name),
      };
      this.spawn(pd, boot, port1);
    }
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
      const first = loadFailures[0]!;
      throw new IpcError(
        "InvalidSystem",
        `boot: ${loadFailures.map((f) => `PD '${f.pd}' failed to load: ${f.error.message}`).join("; ")}`,
        { operation: "boot", pd: first.pd },
        { cause: first.error },
      );
    }
  }

  private spawn(plan: PlannedPd, boot: PdBootData, port: MessagePort): void {
    const worker = new Worker(bootstrapUrl, { workerData: boot, name: `isokit:${plan.name}`, transferList: [boot.kernelPort] });
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
    };
    this.pdMap.set(plan.name, pd);
    this.ipc.addPd({
      pid: boot.pid,
      name: plan.name,
      control: pd.control,
      doorbell: boot.doorbell,
      post: (message, transfer) => { port.postMessage(message, transfer ?? []); },
      alive: () => pd.state === "starting" || pd.state === "running",
      connected: connectedTo(plan, this.planned),
      fault: (error) => {
        this.died(pd, "faulted", "syscall", error);
        markInitDone();
      },
      take: () => receiveMessageOnPort(port),
    });

    worker.on("message", (message: PdToKernel) => {
      switch (message.type) {
        case "loaded": // ["loaded"]
          break;
        case "init-done": // ["init-done"]
          if (pd.state === "starting") this.setState(pd, "running");
          markInitDone();
          break;
        case "output": // ["output", text, at]
          this.bufferOutput(plan.name, message.text, message.at);
          break;
        case "fault": // ["fault", entry, error]
          if (plan.parent !== undefined && message.entry !== "load" && !this.stopping) {
            void this.childFaulted(pd, message.entry, deserializeError(message.error), markInitDone);
          } else {
            this.died(pd, "faulted", message.entry, deserializeError(message.error));
            markInitDone();
          }
          break;
        case "stopped": // ["stopped"]
          break;
        default:
          // Deny by default: a worker runs untrusted code, so an unknown control message is reported, not obeyed.
          this.died(pd, "faulted", "control", new IpcError("InvalidArgument", `PD '${plan.name}' sent an unknown control message`));
      }
    });
    worker.on("error", (error) => {
      this.died(pd, "faulted", "uncaught", error);
      markInitDone();
    });
    worker.on("exit", (code) => {
      if (pd.state === "starting" || pd.state === "running") {
        this.died(pd, this.stopping ? "stopped" : "exited", "exit", new IpcError("PeerDied", `PD '${plan.name}' exited with code ${code}`, { pd: plan.name }));
      } else if (pd.state !== "faulted") {
        this.setState(pd, this.stopping ? "stopped" : "exited");
      }
      this.events.emit("exit", { pd: plan.name, code });
      markInitDone();
    });
  }

  /**
   * A PD is gone. Mark each of its ends dead, then sweep every call it was serving to CALLEE_DIED and wake the
   * caller. Order matters: DEAD first, so a caller that publishes a call after the sweep sees DEAD on its
   * re-check (worker-runtime.ts, ppcall).
   */
  private died(pd: KernelPd, state: PdState, entry: string, error: Error, record = true): void {
    if (pd.state === "faulted" || pd.state === "exited" || pd.state === "stopped") return;
    this.setState(pd, state);
    // Its capabilities go, its endpoints close, and every PD blocked sending to or calling it wakes (PeerDied).
    this.ipc.cleanupProcess(pd.pid);
    this.asyncChannels.died(pd.plan.name);
    for (const end of pd.plan.ends) {
      const i32 = this.channels[end.channel]!.i32;
      Atomics.store(i32, end.end === 0 ? CHANNEL_I32.END0_DEAD : CHANNEL_I32.END1_DEAD, 1);
      if (end.serves) {
        Atomics.compareExchange(i32, CHANNEL_I32.CALL_STATE, CallState.CALLED, CallState.CALLEE_DIED);
        Atomics.notify(i32, CHANNEL_I32.CALL_STATE);
      }
    }
    if ((state === "faulted" || state === "exited") && !this.stopping && record) {
      this.recordFault({ pd: pd.plan.name, entry, error, resumed: false });
    }
    // A faulted PD is stopped, as Microkit stops a faulting PD: its worker must not run on.
    if (state === "faulted") void pd.worker.terminate();
  }

  /**
   * Lines from different workers reach this thread through different ports, in no particular order. Each
   * carries the time it was written; lines wait `OUTPUT_WINDOW_MS` and are emitted sorted by that time, so a
   * reply printed by a callee comes before the caller's line about it.
   */
  private bufferOutput(pd: string, text: string, at: number): void {
    this.output.push({ pd, text, at: Number.isFinite(at) ? at : performance.timeOrigin + performance.now() });
    this.outputTimer ??= setTimeout(() => {
      this.outputTimer = undefined;
      this.flushOutput(false);
    }, OUTPUT_WINDOW_MS);
  }

  private flushOutput(all: boolean): void {
    const horizon = all ? Infinity : performance.timeOrigin + performance.now() - OUTPUT_WINDOW_MS;
    this.output.sort((a, b) => a.at - b.at);
    let n = 0;
    while (n < this.output.length && this.output[n]!.at <= horizon) n++;
    for (const line of this.output.splice(0, n)) this.events.emit("output", { pd: line.pd, text: line.text });
    if (this.output.length > 0) {
      this.outputTimer ??= setTimeout(() => {
        this.outputTimer = undefined;
        this.flushOutput(false);
      }, OUTPUT_WINDOW_MS);
    }
  }

  private recordFault(fault: PdFault): void {
    this.faultList.push(fault);
    this.events.emit("fault", fault);
  }

  /**
   * A child faulted and waits for a verdict. Its parent's `fault()` decides (Microkit's fault handling): the
   * kernel posts the fault in the parent's control buffer, rings it, and waits for CHILD_VERDICT. Faults to
   * one parent are handled one at a time. A dead parent means stop.
   */
  private async childFaulted(child: KernelPd, entry: string, error: Error, markInitDone: () => void): Promise<void> {
    const parentName = child.plan.parent!;
    const parent = this.pdMap.get(parentName);
    const previous = this.parentQueues.get(parentName) ?? Promise.resolve();
    let verdict: number = Verdict.STOP;
    const turn = previous.then(async () => {
      if (parent === undefined) return;
      await parent.initDone; // a fault in the child's init() may come before the parent's init() is done
      if (parent.state !== "running") return;
      const control = parent.control;
      Atomics.store(control, CONTROL_I32.CHILD_VERDICT, Verdict.PENDING);
      Atomics.store(control, CONTROL_I32.CHILD_LABEL, FaultLabel.ENTRY_POINT_THREW);
      Atomics.store(control, CONTROL_I32.CHILD_FAULT, (child.plan.childId ?? 0) + 1); // publishes the fault
      Atomics.store(parent.doorbell, DOORBELL_I32.RING, 1);
      Atomics.notify(parent.doorbell, DOORBELL_I32.RING);
      while (isAlive(parent) && !this.stopping) {
        const wait = Atomics.waitAsync(control, CONTROL_I32.CHILD_VERDICT, Verdict.PENDING, 50);
        if (wait.async) await wait.value;
        const v = Atomics.load(control, CONTROL_I32.CHILD_VERDICT);
        if (v !== Verdict.PENDING) {
          verdict = v;
          break;
        }
      }
    });
    this.parentQueues.set(parentName, turn);
    await turn;
    const resumed = verdict === Verdict.RESUME && child.state !== "faulted" && !this.stopping;
    this.recordFault({ pd: child.plan.name, entry, error, handledBy: parent?.state === "running" ? parentName : undefined, resumed });
    Atomics.store(child.control, CONTROL_I32.VERDICT, resumed ? Verdict.RESUME : Verdict.STOP);
    Atomics.notify(child.control, CONTROL_I32.VERDICT);
    if (!resumed) this.died(child, "faulted", entry, error, false);
    markInitDone();
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

  async whenIdle(settleMs = 20): Promise<void> {
    let quietSamples = 0;
    while (quietSamples < 2) {
      await new Promise((r) => setTimeout(r, settleMs));
      quietSamples = this.isQuiet() ? quietSamples + 1 : 0;
    }
    this.flushOutput(true);
  }

  private isQuiet(): boolean {
    for (const pd of this.pdMap.values()) {
      if (pd.state === "starting") return false;
      if (pd.state !== "running") continue;
      if (Atomics.load(pd.control, CONTROL_I32.IDLE) !== 1) return false;
    }
    for (const channel of this.channels) {
      const i32 = channel.i32;
      const alive = (end: 0 | 1): boolean => this.pdMap.get(channel.pds[end])?.state === "running";
      if (Atomics.load(i32, CHANNEL_I32.CALL_STATE) === CallState.CALLED) return false;
      if (alive(0) && Atomics.load(i32, CHANNEL_I32.NOTIFY_TO_END0) !== 0) return false;
      if (alive(1) && Atomics.load(i32, CHANNEL_I32.NOTIFY_TO_END1) !== 0) return false;
    }
    return true;
  }

  shutdown(graceMs = 2000): Promise<void> {
    this.shutdownPromise ??= this.stopAll(graceMs);
    return this.shutdownPromise;
  }

  private async stopAll(graceMs: number): Promise<void> {
    this.stopping = true;
    for (const pd of this.pdMap.values()) {
      Atomics.store(pd.control, CONTROL_I32.STOP, 1); // read by the PD after every wake-up and sleep slice
      Atomics.store(pd.doorbell, DOORBELL_I32.RING, 1);
      Atomics.notify(pd.doorbell, DOORBELL_I32.RING);
    }
    const all = Promise.all([...this.pdMap.values()].map((pd) => pd.exited));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<"late">((resolve) => (timer = setTimeout(() => { resolve("late"); }, graceMs)));
    const outcome = await Promise.race([all, late]);
    clearTimeout(timer);
    if (outcome === "late") {
      // A PD stuck in its own code (or with handles open in async mode) does not leave by itself.
      await Promise.all([...this.pdMap.values()].map((pd) => pd.worker.terminate()));
    }
    await all;
    this.ipc.stop();
    for (const pd of this.pdMap.values()) pd.port.close();
    clearTimeout(this.outputTimer);
    this.outputTimer = undefined;
    this.flushOutput(true);
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

/** Read through a function so the compiler does not narrow a state that other callbacks change. */
function isAlive(pd: KernelPd): boolean {
  return pd.state === "running";
}
