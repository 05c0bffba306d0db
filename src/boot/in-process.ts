/**
 * The system in in-process mode: every PD in the booting thread. Notifications are delivered by a scheduler
 * that runs after the current entry points return, highest priority first (as seL4 would pick the
 * highest-priority runnable PD); a ppcall is a direct call into the callee.
 *
 * It wires the kernel's plan to PD runtimes in this thread (pd/in-process-runtime.ts), so it lives above both,
 * in src/boot/: the kernel never imports `pd`.
 *
 * Each PD gets its own instance of its program module (the import URL carries the PD's name), so two PDs
 * running the same program do not share module state, as they would not in worker mode.
 */

import { IpcError } from "../errors.ts";
import { enterPd } from "../pd/context.ts";
import { InProcessPd, type InProcessEnd, type InProcessScheduler } from "../pd/in-process-runtime.ts";
import { Child, isProtectionDomainProgram } from "../pd/program.ts";
import { makeMappedRegion } from "../pd/regions.ts";
import { FaultLabel } from "../protocol/layout.ts";
import { MessageInfo } from "../protocol/message-info.ts";
import type { IpcKernelStats } from "../kernel/ipc-kernel.ts";
import { regionBuffer, type Plan } from "../kernel/plan.ts";
import { Events, type Listener, type PdFault, type PdState, type PdStatus, type RunningSystem, type SystemEvents } from "../kernel/system.ts";
import { Observation, observedFromPlan, type SystemObserver, type SystemStats } from "../kernel/stats.ts";

/** Notification deliveries per scheduler turn before yielding to the event loop (a PD notifying itself forever must not freeze the thread). */
const DELIVERIES_PER_TURN = 1000;

export class InProcessSystem implements RunningSystem, InProcessScheduler {
  readonly mode = "in-process" as const;
  private readonly events = new Events();
  private readonly pdMap = new Map<string, InProcessPd>();
  private readonly states = new Map<string, PdState>();
  private readonly faultList: PdFault[] = [];
  private scheduled = false;
  private running = 0;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];
  /** States, faults and output counted (kernel/stats.ts); in one thread there is no trace ring to read. */
  private observation: Observation | undefined;

  private constructor() {}

  static async start(plan: Plan, onOutput: Listener<"output">, onState?: Listener<"state">): Promise<InProcessSystem> {
    const system = new InProcessSystem();
    const observation = new Observation(
      observedFromPlan(plan, [], { state: (name) => system.states.get(name) ?? "starting", pendingCall: () => 0, capabilities: () => 0, kernelStats: () => system.ipcStats(), inEntryMs: () => 0 }),
      undefined,
      () => undefined,
    );
    system.observation = observation;
    system.events.on("output", (e) => { observation.output(e.pd); });
    system.events.on("fault", (f) => { observation.fault(f); });
    system.events.on("output", onOutput);
    if (onState !== undefined) system.events.on("state", onState);
    const programs = await Promise.all(
      plan.pds.map(async (pd) => {
        const url = `${pd.programUrl}${pd.programUrl.includes("?") ? "&" : "?"}isokit-pd=${encodeURIComponent(pd.name)}`;
        let module: { default?: unknown };
        try {
          module = (await import(url)) as { default?: unknown };
        } catch (error) {
          throw new IpcError("InvalidSystem", `boot: PD '${pd.name}' failed to load: ${String(error)}`, { operation: "boot", pd: pd.name }, { cause: error });
        }
        if (!isProtectionDomainProgram(module.default)) {
          throw new IpcError("InvalidSystem", `boot: PD '${pd.name}' failed to load: program ${pd.programUrl} must default-export protectionDomain({...})`, {
            operation: "boot",
            pd: pd.name,
          });
        }
        return module.default;
      }),
    );
    // Without SharedArrayBuffer (a page without cross-origin isolation) regions are plain ArrayBuffers: in one
    // thread they are shared all the same.
    const regionBuffers = new Map(
      plan.regions.map((r) => [r.name, regionBuffer(r, () => (typeof SharedArrayBuffer === "function" ? new SharedArrayBuffer(r.size) : new ArrayBuffer(r.size)))]),
    );
    plan.pds.forEach((pd, i) => {
      const ends = new Map<number, InProcessEnd>();
      for (const end of pd.ends) {
        const peerPlan = plan.pds.find((p) => p.name === end.peer)!;
        const peerEnd = peerPlan.ends.find((e) => e.channel === end.channel && e.end !== end.end)!;
        ends.set(end.id, { id: end.id, pp: end.pp, notify: end.notify, peer: end.peer, peerId: peerEnd.id });
      }
      const parent = pd.parent === undefined ? undefined : { name: pd.parent, childId: pd.childId ?? 0 };
      const regions = pd.maps.map((m) => makeMappedRegion(m.symbol, m.region, regionBuffers.get(m.region)!, m.perms));
      system.pdMap.set(pd.name, new InProcessPd(pd.name, pd.priority, programs[i]!.handler, ends, system, parent, regions));
      system.states.set(pd.name, "starting");
    });
    // Higher priority first, as the seL4 scheduler would run the inits.
    for (const pd of [...system.pdMap.values()].sort((a, b) => b.priority - a.priority)) {
      system.enter(pd, "init", () => {
        pd.runInit();
      });
      if (!pd.dead) system.setState(pd.name, "running");
    }
    return system;
  }

  get faults(): readonly PdFault[] {
    return this.faultList;
  }

  pds(): PdStatus[] {
    return [...this.pdMap.values()].map((pd) => ({ name: pd.name, priority: pd.priority, state: this.states.get(pd.name)! }));
  }

  on<K extends keyof SystemEvents>(event: K, listener: Listener<K>): () => void {
    return this.events.on(event, listener);
  }

  private setState(pd: string, state: PdState): void {
    if (this.states.get(pd) === state) return;
    this.states.set(pd, state);
    this.events.emit("state", { pd, state });
  }

  // ---- InProcessScheduler -------------------------------------------------------------------------------

  lookup(name: string): InProcessPd | undefined {
    return this.pdMap.get(name);
  }

  schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.turn();
    });
  }

  fault(pd: InProcessPd, entry: string, error: unknown): boolean {
    if (pd.dead) return false;
    const err = error instanceof Error ? error : new Error(String(error));
    // A child's fault goes to its parent's fault(), as on Microkit; true lets the child go on serving.
    const parent = pd.parent === undefined ? undefined : this.pdMap.get(pd.parent.name);
    let resumed = false;
    let handledBy: string | undefined;
    if (parent !== undefined && !parent.dead && !this.stopped) {
      const childId = pd.parent!.childId;
      const verdict = this.enter(parent, "fault", () => parent.runFault(new Child(childId), new MessageInfo(FaultLabel.ENTRY_POINT_THREW, 0)));
      resumed = verdict === true;
      // A parent whose fault() threw has faulted itself (enter reported it): the child is not handled.
      handledBy = verdict === undefined ? undefined : parent.name;
    }
    if (!resumed) {
      pd.dead = true;
      this.setState(pd.name, "faulted");
    }
    const fault: PdFault = { pd: pd.name, entry, error: err, handledBy, resumed };
    this.faultList.push(fault);
    this.events.emit("fault", fault);
    return resumed;
  }

  output(pd: string, text: string): void {
    this.events.emit("output", { pd, text });
  }

  // ---- delivery ---------------------------------------------------------------------------------------

  private turn(): void {
    this.scheduled = false;
    for (let n = 0; n < DELIVERIES_PER_TURN && !this.stopped; n++) {
      let next: InProcessPd | undefined;
      for (const pd of this.pdMap.values()) if (pd.hasPending && (next === undefined || pd.priority > next.priority)) next = pd;
      if (next === undefined) break;
      const pd = next;
      const channels = pd.takePending();
      this.enter(pd, "notified", () => {
        pd.runNotified(channels);
      });
    }
    if ([...this.pdMap.values()].some((pd) => pd.hasPending) && !this.stopped) this.schedule();
    else this.releaseIdleWaiters();
  }

  /** Runs an entry point of `pd`; a throw is `pd`'s fault. Returns the body's value, undefined if it threw. */
  private enter<T>(pd: InProcessPd, entry: string, body: () => T): T | undefined {
    this.running++;
    try {
      return enterPd(pd, body);
    } catch (error) {
      this.fault(pd, entry, error);
      return undefined;
    } finally {
      this.running--;
    }
  }

  private isQuiet(): boolean {
    return this.stopped || (!this.scheduled && this.running === 0 && ![...this.pdMap.values()].some((pd) => pd.hasPending));
  }

  private releaseIdleWaiters(): void {
    if (!this.isQuiet()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  setRateLimits(): void {
    throw new IpcError("NotInitialized", "setRateLimits: endpoints and rate limits need the worker mode", { operation: "setRateLimits" });
  }

  asyncProducer(name: string): never {
    throw new IpcError("NotInitialized", `asyncProducer: no async channel '${name}' (async channels need the workers mode)`, { operation: "asyncProducer" });
  }

  asyncConsumer(name: string): never {
    throw new IpcError("NotInitialized", `asyncConsumer: no async channel '${name}' (async channels need the workers mode)`, { operation: "asyncConsumer" });
  }

  ipcStats(): IpcKernelStats {
    return { objectsCreated: 0, objectsDestroyed: 0, liveCapabilities: 0, endpointsLive: 0, slotsLive: 0, syscalls: 0, quotaHits: {} };
  }

  stats(): SystemStats {
    return this.observer.stats();
  }

  get observer(): SystemObserver {
    if (this.observation === undefined) throw new IpcError("InvalidArgument", "observer: the system has not started", { operation: "observer" });
    return this.observation;
  }

  whenIdle(): Promise<void> {
    if (this.isQuiet()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  shutdown(): Promise<void> {
    this.stopped = true;
    for (const pd of this.pdMap.values()) {
      if (!pd.dead) this.setState(pd.name, "stopped");
      pd.dead = true;
    }
    this.releaseIdleWaiters();
    return Promise.resolve();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }
}
