/**
 * The runtime of a PD in its own worker thread: the event loop over shared memory.
 *
 * The PD holds, from the kernel: its doorbell (shared with its peers), its control word (shared with the
 * kernel only), and one buffer per channel end (shared with that channel's other PD only). See
 * protocol/layout.ts for who writes which word.
 *
 * Loop (sync mode; async mode is the same with `await` on the sleep):
 *
 *   init()
 *   repeat until STOP:
 *     scan every end: a pending call (CALL_STATE == CALLED, where this PD serves) is served;
 *                     pending notifications (NOTIFY_TO_ME moved past the count taken) are gathered into one ChannelSet
 *     spin, polling the channel words themselves, for the spin budget
 *     then sleep on the doorbell (shm/doorbell.ts: announce, look once more, one bounded slice; look again after it)
 *
 * ppcall (caller side): write the registers, CALL_STATE IDLE -> CALLED, ring the callee, wait while CALLED.
 * The wait re-checks the callee's DEAD flag after every sleep slice, so a callee that dies is noticed even if
 * the kernel's wake-up were lost.
 */

import { parentPort, type MessagePort } from "node:worker_threads";
import { IpcError, serializeError } from "../errors.ts";
import type { FaultEntry, PdBootData, PdToKernel } from "../protocol/control.ts";
import { CallState, CHANNEL_I32, CONTROL_I32, EndDead, Verdict } from "../protocol/layout.ts";
import { MessageInfo } from "../protocol/message-info.ts";
import { ChannelMemory } from "../shm/channel-memory.ts";
import { ASYNC_SPIN_MICROS, CLOCK_MASK, spinDeadline, spinUntil, SyncWait, wakeIfSleeping } from "../shm/wait.ts";
import { ringDoorbell, sleepOnDoorbell, sleepOnDoorbellAsync } from "../shm/doorbell.ts";
import { ChannelSet, MAX_CHANNEL_ID } from "./channel.ts";
import { Child, type FaultVerdict, type Handler } from "./program.ts";
import { makeMappedRegion } from "./regions.ts";
import { PdRuntime, type EndRights } from "./runtime.ts";
import { IpcClient } from "../ipc/client.ts";
import { WorkerKernelLink } from "./kernel-link.ts";
import { OutputRingWriter } from "../shm/output-ring.ts";
import { endpointServerOf } from "./serve.ts";
import { TraceRingWriter } from "../shm/trace-ring.ts";
import { TraceKind } from "../protocol/trace.ts";
import { installRingTracer } from "../ipc/async/trace.ts";

interface WorkerEnd extends EndRights {
  readonly memory: ChannelMemory;
  readonly serves: boolean;
  /**
   * The peer may notify this PD (its end has notify="true"). Checked here, on the receiving side: the peer's
   * runtime checks it too, but that runtime runs in the untrusted isolate, and the notify word is in memory
   * the peer can write.
   */
  readonly peerNotifies: boolean;
  readonly peerDoorbell: Int32Array;
  /** This end's place in `endList`: the scan starts after the end served last. */
  slot: number;
  /** The peer's NOTIFY_TO_ME count this PD has taken (private: taking a notification writes no shared word). */
  notifySeen: number;
  /** `notifySeen` as last published in NOTIFY_SEEN_BY_ME (before a sleep, for the kernel's quiescence check). */
  notifyPublished: number;
  /** Notifications this PD has sent on this end: its NOTIFY_TO_PEER, which only this PD writes. */
  notifySent: number;
  /** Calls made and served on this end: the numbers the kernel joins a call to its serving by (trace only). */
  calls: number;
  served: number;
}

/** Thrown inside the PD when the kernel asked it to stop while it was blocked; ends the loop quietly. */
class StopRequested extends Error {}

export class WorkerPd extends PdRuntime {
  private readonly doorbell: Int32Array;
  private readonly control: Int32Array;
  /**
   * Ends in increasing id order. Scans (and the spin) start at `nextEnd`, just after the end whose call was
   * served last, and go round: a caller that calls again at once cannot keep a PD from the ends after its own
   * (with a fixed start, a re-caller on channel 0 took 21 calls for each one of an honest caller on channel 1).
   */
  private readonly endList: readonly WorkerEnd[];
  private nextEnd = 0;
  /** Notifications found on ends whose peer may not notify: cleared and counted, never delivered. */
  forgedNotifications = 0;
  private readonly outputRing: OutputRingWriter;
  private readonly ends: ReadonlyMap<number, WorkerEnd>;
  private readonly syncWait: SyncWait;
  private readonly async: boolean;
  private readonly spinMicros: number;
  /** WaitConfig.yieldAfterWake: more PDs than cores. */
  private readonly yieldAfterWake: boolean;
  /** This turn woke a sleeping peer (with `yieldAfterWake`): the next spin is skipped. */
  private wokePeer = false;
  private readonly sliceMs: number;
  private faulted = false;
  /** This PD's ENTRY count (control word): only this PD writes it. */
  private entries: number;
  /** The end whose call the last `hasPendingWork` saw (the spin's shortcut to `serve`). */
  private callReady: WorkerEnd | undefined;
  private readonly hasParent: boolean;
  private readonly boot: PdBootData<MessagePort>;
  private client: IpcClient | undefined;
  /**
   * The trace ring, when the system is traced. Read once per operation into a local: tracing off is one
   * well-predicted branch on a field, never a read of shared memory.
   */
  private readonly trace: TraceRingWriter | undefined;

  constructor(boot: PdBootData<MessagePort>, handler: Handler) {
    const ends = new Map<number, WorkerEnd>();
    for (const e of boot.ends) {
      const memory = new ChannelMemory(e.buffer, e.end);
      // A restarted PD goes on from the counts in the buffer: what its last generation published as taken, and
      // what it sent (so the peer sees the next notification as a change).
      const seen = Atomics.load(memory.i32, memory.notifySeenByMe);
      ends.set(e.id, {
        id: e.id,
        pp: e.pp,
        notify: e.notify,
        peer: e.peer,
        serves: e.serves,
        peerNotifies: e.peerNotifies,
        memory,
        notifySeen: seen,
        notifyPublished: seen,
        notifySent: Atomics.load(memory.i32, memory.notifyToPeer),
        peerDoorbell: new Int32Array(e.peerDoorbell),
        slot: 0,
        calls: 0,
        served: 0,
      });
    }
    super(
      boot.name,
      handler,
      ends,
      boot.regions.map((r) => makeMappedRegion(r.symbol, r.region, r.buffer, r.perms)),
    );
    this.ends = ends;
    this.endList = [...ends.values()].sort((a, b) => a.id - b.id);
    this.endList.forEach((end, i) => (end.slot = i));
    this.outputRing = new OutputRingWriter(boot.output);
    this.doorbell = new Int32Array(boot.doorbell);
    this.control = new Int32Array(boot.control);
    this.entries = Atomics.load(this.control, CONTROL_I32.ENTRY) & ~1; // even: not inside an entry point
    const waitOptions = { spinMicros: boot.wait.spinMicros, sliceMs: boot.wait.sliceMs };
    // ppcall waits synchronously in both modes: a protected call blocks its caller by definition.
    this.syncWait = new SyncWait(waitOptions);
    this.async = boot.wait.mode === "async";
    this.spinMicros = boot.wait.spinMicros;
    this.yieldAfterWake = boot.wait.yieldAfterWake === true;
    this.hasParent = boot.hasParent;
    this.sliceMs = boot.wait.sliceMs;
    this.boot = boot;
    this.trace = boot.trace === undefined ? undefined : new TraceRingWriter(boot.trace.buffer, boot.trace.timeOrigin, boot.trace.sampleEvery);
    if (this.trace !== undefined) installRingTracer(this.trace, boot.asyncChannels); // its async ends record their batches
  }

  asyncEnd(name: string, role: "producer" | "consumer", operation: string): unknown {
    const end = this.boot.asyncChannels.find((e) => e.name === name && e.role === role);
    if (end === undefined) {
      const held = this.boot.asyncChannels.map((e) => `'${e.name}' (${e.role})`).join(", ");
      throw new IpcError("InvalidArgument", `${operation}: PD '${this.name}' is not a ${role} of an async channel '${name}' (it holds ${held === "" ? "none" : held})`, {
        operation,
        pd: this.name,
      });
    }
    return end.descriptor;
  }

  ipcClient(): IpcClient {
    this.client ??= new IpcClient(
      new WatchedKernelLink(this.name, this.boot.kernelPort, this.control, new Int32Array(this.boot.kernelBell), this.doorbell, this.syncWait.options, () => {
        throw new StopRequested();
      }),
      this.trace,
    );
    return this.client;
  }

  // ---- PdContext ------------------------------------------------------------------------------------------

  notify(channel: number, operation: string): void {
    const end = this.endForNotify(channel, operation) as WorkerEnd; // an array lookup: notify is a hot path
    const i32 = end.memory.i32;
    if (Atomics.load(i32, end.memory.peerDead) !== 0) throw this.peerDied(end, operation);
    // Publishes the notification: our count moves (coalescing with any the peer has not taken yet). The line is
    // ours alone; the peer only reads it.
    Atomics.store(i32, end.memory.notifyToPeer, (end.notifySent = (end.notifySent + 1) | 0));
    // A peer woken from its sleep needs a core: with more PDs than cores, this PD then gives its own back at
    // the end of its turn rather than spinning on it (spinForWork).
    if (ringDoorbell(end.peerDoorbell) && this.yieldAfterWake) this.wokePeer = true;
    const trace = this.trace;
    if (trace !== undefined && trace.sampled()) trace.record(TraceKind.NOTIFY, channel, 0, 0, 0);
  }

  ppcall(channel: number, info: MessageInfo): MessageInfo {
    const end = this.endForPpcall(channel) as WorkerEnd;
    const memory = end.memory;
    const i32 = memory.i32;
    if (Atomics.load(i32, memory.peerDead) !== 0) throw this.peerDied(end, "ppcall");
    // A finished call leaves REPLIED in place: the next call starts from it, so the caller writes the call line
    // once per call (storing IDLE after each reply would cost one more line transfer per round trip).
    const idle = Atomics.load(i32, CHANNEL_I32.CALL_STATE);
    if (idle === CallState.CALLEE_DIED) throw this.peerDied(end, "ppcall");
    // CALLEE_RESTARTED left by a call whose caller never took it (it was stopped): the line is free again.
    const free = idle === CallState.CALLEE_RESTARTED ? CallState.IDLE : idle;
    if (free !== idle) Atomics.compareExchange(i32, CHANNEL_I32.CALL_STATE, idle, free);
    // Anything but IDLE or REPLIED means the line is not ours to write (only a peer that writes CALL_STATE
    // itself, against the protocol, can cause it): refuse before touching the message area.
    if (free !== CallState.IDLE && free !== CallState.REPLIED) throw this.notFree(end, idle);
    memory.writeMessage(info, this.ipc); // plain stores, published by the CAS below
    const previous = Atomics.compareExchange(i32, CHANNEL_I32.CALL_STATE, free, CallState.CALLED);
    if (previous !== free) throw previous === CallState.CALLEE_DIED ? this.peerDied(end, "ppcall") : this.notFree(end, previous);
    // Re-check after publishing: the kernel sets DEAD before it sweeps CALLED -> CALLEE_DIED, so either its
    // sweep saw our CALLED or we see its DEAD here.
    if (Atomics.load(i32, memory.peerDead) !== 0) {
      Atomics.compareExchange(i32, CHANNEL_I32.CALL_STATE, CallState.CALLED, CallState.CALLEE_DIED);
      throw this.peerDied(end, "ppcall");
    }
    this.ring(end);
    // Recorded after publishing and ringing, so its clock read and stores overlap the callee taking the call; the
    // kernel completes the record from the callee's (protocol/trace.ts, PPCALL): nothing is recorded on the way
    // back, where the caller's next call waits for it.
    const trace = this.trace;
    if (trace !== undefined && trace.sampledNumber((end.calls = (end.calls + 1) >>> 0))) trace.record(TraceKind.PPCALL, channel, 0, end.calls, info.label >>> 0);
    // The wait below spins first (shm/wait.ts: no clock read within its first 1024 loads), so a callee that
    // is awake is caught there; it also handles sleeping, death and shutdown.
    for (;;) {
      const state = Atomics.load(i32, CHANNEL_I32.CALL_STATE); // acquire: the reply registers are visible after REPLIED
      if (state === CallState.REPLIED) break;
      if (state === CallState.CALLEE_DIED) throw this.peerDied(end, "ppcall");
      if (state === CallState.CALLEE_RESTARTED) {
        Atomics.store(i32, CHANNEL_I32.CALL_STATE, CallState.IDLE);
        throw new IpcError("PeerRestarted", `ppcall: PD '${end.peer}' was restarted while serving the call on channel ${channel}; call again`, {
          operation: "ppcall",
          channel,
          pd: end.peer,
        });
      }
      if (state === CallState.CALLEE_FAULTED) {
        Atomics.store(i32, CHANNEL_I32.CALL_STATE, CallState.IDLE);
        throw new IpcError(
          "EntryPointFailed",
          `ppcall: PD '${end.peer}' faulted serving the call on channel ${channel}; its parent let it resume`,
          { operation: "ppcall", channel, pd: end.peer },
        );
      }
      if (state !== CallState.CALLED) {
        throw new IpcError("InvalidArgument", `ppcall: channel ${channel} is in an unknown call state ${state}`, {
          operation: "ppcall",
          channel,
          pd: this.name,
        });
      }
      if (!this.syncWait.waitWhile(i32, CHANNEL_I32.CALL_STATE, CallState.CALLED, CHANNEL_I32.CALLER_SLEEPING)) {
        // A sleep slice passed: re-check what a lost wake-up could hide.
        if (Atomics.load(i32, memory.peerDead) !== 0) {
          Atomics.compareExchange(i32, CHANNEL_I32.CALL_STATE, CallState.CALLED, CallState.CALLEE_DIED);
        }
        if (Atomics.load(this.control, CONTROL_I32.STOP) !== 0) throw new StopRequested();
      }
    }
    const reply = memory.readMessage(this.ipc); // CALL_STATE stays REPLIED: the channel is free for the next call
    if (reply === undefined) {
      throw new IpcError("InvalidArgument", `ppcall: PD '${end.peer}' replied on channel ${channel} with a malformed message`, {
        operation: "ppcall",
        channel,
        pd: this.name,
      });
    }
    return reply;
  }

  output(text: string): void {
    // The wall-clock time lets the kernel print lines of different PDs in the order they were written. A line
    // that finds the ring full is dropped (and counted in the ring): printing never blocks a PD.
    this.outputRing.write(text, performance.timeOrigin + performance.now());
  }

  // ---- the loop -------------------------------------------------------------------------------------------

  /** Runs `init`, then serves events until the kernel says STOP. Returns when the PD is done. */
  runSync(): void {
    if (!this.start()) return;
    for (;;) {
      if (this.stopRequested()) return;
      if (!this.scanOnce()) return;
      const served = this.serveEndpointsSync();
      if (served === undefined) return;
      if (served) continue;
      // Hot path: work that arrives while spinning is scanned at once, without going round the loop.
      while (this.spinForWork()) {
        if (this.stopRequested()) return;
        // A call seen while spinning is served at once; anything else goes through a full scan.
        const ready = this.callReady;
        this.callReady = undefined;
        if (ready !== undefined ? !this.serve(ready, true) : !this.scanOnce()) return;
      }
      this.publishSeen(); // before IDLE: the kernel reads them once it sees IDLE
      Atomics.store(this.control, CONTROL_I32.IDLE, 1);
      // After a slice with no ring, look anyway: a peer may have cleared SLEEPING so that its ring was skipped.
      while (!sleepOnDoorbell(this.doorbell, this.lastLook, this.sliceMs) && !this.pendingOrStop());
      Atomics.store(this.control, CONTROL_I32.IDLE, 0);
    }
  }

  /** As `runSync`, but sleeps with `Atomics.waitAsync` so timers, I/O and promises keep running. */
  async runAsync(): Promise<void> {
    if (!this.start()) return;
    for (;;) {
      if (this.stopRequested()) return;
      if (!this.scanOnce()) return;
      const served = await this.serveEndpointsAsync();
      if (served === undefined) return;
      if (served) continue;
      const budget = this.wokePeer ? 0 : Math.min(this.spinMicros, ASYNC_SPIN_MICROS);
      this.wokePeer = false;
      if (spinUntil(this.pendingOrStop, budget)) continue;
      this.publishSeen();
      Atomics.store(this.control, CONTROL_I32.IDLE, 1);
      while (!(await sleepOnDoorbellAsync(this.doorbell, this.lastLook, this.sliceMs)) && !this.pendingOrStop());
      Atomics.store(this.control, CONTROL_I32.IDLE, 0);
    }
  }

  private readonly pendingOrStop = (): boolean => this.hasPendingWork() || this.stopRequested();
  /** The look before sleeping, made after SLEEPING is set: served endpoints (pd/serve.ts) too, whose senders ring the same doorbell. */
  private readonly lastLook = (): boolean => this.pendingOrStop() || endpointServerOf(this)?.look() === true;

  /**
   * The sync loop's spin: polls the channel words directly for up to `spinMicros` (the kernel's control words
   * every 64 rounds, the clock every 1024), so a call is seen within a few loads of being published. Returns
   * true if something is pending; `callReady` names the end if it is a call. The clock is read as in every
   * spin (shm/wait.ts: not before round 1024), so a call served within the spin costs no clock read.
   */
  private spinForWork(): boolean {
    const ends = this.endList;
    const count = ends.length;
    const control = this.control;
    // After waking a peer that needs a core (yieldAfterWake): one look, then sleep.
    const budget = this.wokePeer ? 0 : this.spinMicros;
    this.wokePeer = false;
    let deadline = 0;
    for (let i = 0; ; i++) {
      // From just after the end served last, round (see `nextEnd`); with one end, k stays 0.
      for (let m = 0, k = this.nextEnd; m < count; m++) {
        const end = ends[k]!;
        const i32 = end.memory.i32;
        if (end.serves && Atomics.load(i32, CHANNEL_I32.CALL_STATE) === CallState.CALLED) {
          this.callReady = end;
          return true;
        }
        // A moved count goes to the scan, which delivers it only if the peer may notify (a forged one is taken and
        // counted there, never delivered: it costs this PD a look, as a false ring of its doorbell does). Left
        // for a later scan, a forgery seen here stayed pending through the sleep that followed, unpublished.
        if (Atomics.load(i32, end.memory.notifyToMe) !== end.notifySeen) {
          this.callReady = undefined;
          return true;
        }
        if (++k === count) k = 0;
      }
      if ((i & 63) === 0) {
        if (Atomics.load(control, CONTROL_I32.CHILD_FAULT) !== 0 || Atomics.load(control, CONTROL_I32.STOP) !== 0) {
          this.callReady = undefined;
          return true;
        }
        if (budget <= 0) return false;
        if (i !== 0 && (i & CLOCK_MASK) === 0 && (deadline = spinDeadline(deadline, budget)) < 0) return false;
      }
    }
  }

  get isAsync(): boolean {
    return this.async;
  }

  private start(): boolean {
    try {
      this.entered();
      this.runInit();
      this.left();
    } catch (error) {
      this.left();
      if (!this.fail("init", error, undefined)) return false;
    }
    this.post({ type: "init-done" });
    return true;
  }

  /**
   * One message from each endpoint the program serves (pd/serve.ts), if any: true if it handled one, false if
   * none was waiting, undefined if a handler failed and the PD is not resumed (the loop must end).
   */
  private serveEndpointsSync(): boolean | undefined {
    const server = endpointServerOf(this);
    if (server === undefined) return false;
    try {
      return server.handleSync();
    } catch (error) {
      return this.fail("serve", error, undefined) ? true : undefined;
    }
  }

  private async serveEndpointsAsync(): Promise<boolean | undefined> {
    const server = endpointServerOf(this);
    if (server === undefined) return false;
    try {
      return await server.handleAsync();
    } catch (error) {
      return this.fail("serve", error, undefined) ? true : undefined;
    }
  }

  /** One pass over every end. Returns false if the PD faulted or was stopped (the loop must end). */
  private scanOnce(): boolean {
    if (Atomics.load(this.control, CONTROL_I32.CHILD_FAULT) !== 0 && !this.handleChildFault()) return false;
    let low = 0;
    let high = 0;
    const ends = this.endList;
    const count = ends.length;
    // From just after the end served last, round (see `nextEnd`): serving moves nextEnd, not this pass's start.
    for (let m = 0, k = this.nextEnd; m < count; m++, k = k + 1 === count ? 0 : k + 1) {
      const end = ends[k]!;
      const i32 = end.memory.i32;
      if (end.serves && Atomics.load(i32, CHANNEL_I32.CALL_STATE) === CallState.CALLED) {
        if (!this.serve(end)) return false;
      }
      const sent = Atomics.load(i32, end.memory.notifyToMe); // a count only the peer moves
      if (sent !== end.notifySeen) {
        end.notifySeen = sent; // taken: several since the last look are one delivery (they coalesce)
        if (!end.peerNotifies) {
          this.forgedNotifications++; // the peer holds no notify right: cleared, never delivered
          continue;
        }
        if (end.id < 31) low |= 1 << end.id;
        else high |= 1 << (end.id - 31);
      }
    }
    if (low !== 0 || high !== 0) {
      const trace = this.trace !== undefined && this.trace.sampled() ? this.trace : undefined;
      if (trace !== undefined) trace.record(TraceKind.NOTIFIED_BEGIN, low, high, 0, 0);
      try {
        this.entered();
        this.runNotified(new ChannelSet(low, high)); // allocation: one small object per delivery
      } catch (error) {
        this.left();
        return this.fail("notified", error, undefined);
      }
      this.left();
      if (trace !== undefined) trace.record(TraceKind.NOTIFIED_END, low, high, 0, 0);
    }
    return true;
  }

  /**
   * Serves the call pending on `end`. Returns false if `protected()` failed (the PD faults). `spun`: the call was
   * seen by the spin (spinForWork), within a line transfer of being published, so a trace takes its start from the
   * caller's record instead of reading the clock before `protected()` runs.
   */
  private serve(end: WorkerEnd, spun = false): boolean {
    const memory = end.memory;
    const i32 = memory.i32;
    if (Atomics.load(i32, CHANNEL_I32.CALL_STATE) !== CallState.CALLED) return true; // nothing (left) to serve
    const next = end.slot + 1;
    this.nextEnd = next === this.endList.length ? 0 : next;
    const request = memory.readMessage(this.ipc);
    const trace = this.trace;
    if (request === undefined) {
      if (trace !== undefined) end.served = (end.served + 1) >>> 0; // a refused call still has its number
      // A malformed request is the caller's fault, not ours: refuse it and keep serving.
      memory.u32[CHANNEL_I32.MSG_COUNT] = 0xffff_ffff; // the caller's readMessage refuses this reply
      Atomics.compareExchange(i32, CHANNEL_I32.CALL_STATE, CallState.CALLED, CallState.REPLIED);
      wakeIfSleeping(i32, CHANNEL_I32.CALL_STATE, CHANNEL_I32.CALLER_SLEEPING);
      return true;
    }
    const sampled = trace !== undefined && trace.sampledNumber((end.served = (end.served + 1) >>> 0));
    const began = sampled && !spun ? trace.now() : -1;
    let reply: MessageInfo;
    try {
      this.entered();
      reply = this.runProtected(end.id, request);
    } catch (error) {
      this.left();
      return this.fail("protected", error, end);
    }
    this.left();
    memory.writeMessage(reply, this.ipc);
    // publishes the reply registers; CAS so a CALLEE_DIED written by the kernel is never overwritten
    Atomics.compareExchange(i32, CHANNEL_I32.CALL_STATE, CallState.CALLED, CallState.REPLIED);
    wakeIfSleeping(i32, CHANNEL_I32.CALL_STATE, CHANNEL_I32.CALLER_SLEEPING);
    // One record, written after the reply is published: its clock read overlaps the caller taking the reply.
    if (began >= 0) trace!.recordCall(TraceKind.PROTECTED, end.id, began, end.served, request.label >>> 0, reply.label >>> 0);
    else if (sampled) trace.recordAt(trace.now(), TraceKind.PROTECTED_REPLIED, end.id, 0, end.served, request.label >>> 0, reply.label >>> 0);
    return true;
  }

  /**
   * The kernel posted a child's fault (CHILD_FAULT = id + 1): run `fault()` and leave the verdict for the
   * kernel. Returns false if `fault()` itself threw and this PD is not resumed.
   */
  private handleChildFault(): boolean {
    const control = this.control;
    const child = Atomics.load(control, CONTROL_I32.CHILD_FAULT) - 1;
    const label = Atomics.load(control, CONTROL_I32.CHILD_LABEL);
    let verdict: FaultVerdict;
    try {
      this.entered();
      verdict = child >= 0 && child <= MAX_CHANNEL_ID && this.runFaultVerdict(new Child(child), new MessageInfo(label, 0));
    } catch (error) {
      this.left();
      this.reportVerdict(false);
      return this.fail("fault", error, undefined);
    }
    this.left();
    this.reportVerdict(verdict);
    return true;
  }

  private reportVerdict(verdict: FaultVerdict): void {
    const control = this.control;
    Atomics.store(control, CONTROL_I32.CHILD_VERDICT, verdict === "restart" ? Verdict.RESTART : verdict ? Verdict.RESUME : Verdict.STOP);
    Atomics.store(control, CONTROL_I32.CHILD_FAULT, 0);
    Atomics.notify(control, CONTROL_I32.CHILD_VERDICT); // the kernel waits with waitAsync
  }

  /** Anything left to do: a call to serve or a notification to deliver. Read-only, for the sleep decision. */
  private hasPendingWork(): boolean {
    this.callReady = undefined;
    if (Atomics.load(this.control, CONTROL_I32.CHILD_FAULT) !== 0) return true;
    const ends = this.endList;
    for (let k = 0; k < ends.length; k++) {
      const end = ends[k]!;
      const i32 = end.memory.i32;
      if (end.serves && Atomics.load(i32, CHANNEL_I32.CALL_STATE) === CallState.CALLED) {
        this.callReady = end;
        return true;
      }
      if (Atomics.load(i32, end.memory.notifyToMe) !== end.notifySeen) return true; // forged or not: the scan decides
    }
    return false;
  }

  /**
   * ENTRY moves to odd as an entry point starts and back to even as it ends (also when it throws, before the
   * fault is reported): the kernel's watchdog (kernel/watchdog.ts) times an odd ENTRY that does not move. The
   * program cannot reach this word; a runtime that lies about it hides only its own running time.
   */
  private entered(): void {
    // A plain store of our own count, not an Atomics.add: the line is the PD's and stays in its cache between
    // the watchdog's samples, and a locked add (a fence) twice per call showed on the hot path.
    this.control[CONTROL_I32.ENTRY] = this.entries = (this.entries + 1) | 0;
  }

  private left(): void {
    this.control[CONTROL_I32.ENTRY] = this.entries = (this.entries + 1) | 0;
  }

  /**
   * Before sleeping: publishes, for each end whose count moved, the notifications taken (NOTIFY_SEEN_BY_ME), so
   * the kernel's quiescence check sees what is still pending. Only here, not per notification: the word shares
   * the line the peer polls for our notifications to it, and a store per notification would move that line.
   */
  private publishSeen(): void {
    const ends = this.endList;
    for (let k = 0; k < ends.length; k++) {
      const end = ends[k]!;
      if (end.notifySeen !== end.notifyPublished) Atomics.store(end.memory.i32, end.memory.notifySeenByMe, (end.notifyPublished = end.notifySeen));
    }
  }

  private stopRequested(): boolean {
    return Atomics.load(this.control, CONTROL_I32.STOP) !== 0;
  }

  private ring(end: WorkerEnd): void {
    ringDoorbell(end.peerDoorbell); // after the event was published
  }

  private notFree(end: WorkerEnd, state: number): IpcError {
    return new IpcError("ResourceBusy", `ppcall: channel ${end.id} is not free for a call (state ${state})`, {
      operation: "ppcall",
      channel: end.id,
      pd: this.name,
    });
  }

  private peerDied(end: WorkerEnd, operation: string): IpcError {
    if (Atomics.load(end.memory.i32, end.memory.peerDead) === EndDead.RESTARTING) {
      return new IpcError("PeerRestarted", `${operation}: PD '${end.peer}' at the other end of channel ${end.id} is being restarted; try again`, {
        operation,
        channel: end.id,
        pd: end.peer,
      });
    }
    return new IpcError("PeerDied", `${operation}: PD '${end.peer}' at the other end of channel ${end.id} has died`, {
      operation,
      channel: end.id,
      pd: end.peer,
    });
  }

  /**
   * The PD faulted in `entry` (while serving `serving`, if it was a protected call).
   *
   * A child PD reports to the kernel and waits for its parent's verdict: resumed, it answers the call it was
   * serving with CALLEE_FAULTED and goes on serving (returns true). Otherwise — no parent, or the parent says
   * stop — it releases every caller it serves and marks its ends dead (the kernel does the same when it hears
   * of the fault or sees the worker exit; doing it here first wakes callers without a round trip), then
   * returns false and the loop ends.
   */
  private fail(entry: FaultEntry, error: unknown, serving: WorkerEnd | undefined): boolean {
    if (this.faulted) return false;
    const stopping = this.stopRequested() || isStopRequested(error);
    if (!stopping && this.hasParent) {
      Atomics.store(this.control, CONTROL_I32.VERDICT, Verdict.PENDING);
      this.post({ type: "fault", entry, error: serializeError(error) });
      const verdict = this.awaitVerdict();
      if (verdict === Verdict.RESUME) {
        if (serving !== undefined) {
          const i32 = serving.memory.i32;
          Atomics.compareExchange(i32, CHANNEL_I32.CALL_STATE, CallState.CALLED, CallState.CALLEE_FAULTED);
          Atomics.notify(i32, CHANNEL_I32.CALL_STATE);
        }
        return true;
      }
      this.die();
      return false;
    }
    // A supervised PD leaves its ends to the kernel: it wakes the callers with PeerRestarted if the policy
    // restarts this PD, PeerDied if not.
    if (this.boot.supervised === true && !stopping) this.faulted = true;
    else this.die();
    if (!stopping) this.post({ type: "fault", entry, error: serializeError(error) });
    return false;
  }

  private awaitVerdict(): number {
    for (;;) {
      const verdict = Atomics.load(this.control, CONTROL_I32.VERDICT);
      if (verdict !== Verdict.PENDING) return verdict;
      if (this.stopRequested()) return Verdict.STOP;
      this.syncWait.waitWhile(this.control, CONTROL_I32.VERDICT, Verdict.PENDING, CONTROL_I32.VERDICT_SLEEPING);
    }
  }

  private die(): void {
    this.faulted = true;
    for (const end of this.endList) {
      const i32 = end.memory.i32;
      Atomics.store(i32, end.memory.selfDead, 1);
      if (end.serves && Atomics.compareExchange(i32, CHANNEL_I32.CALL_STATE, CallState.CALLED, CallState.CALLEE_DIED) === CallState.CALLED) {
        Atomics.notify(i32, CHANNEL_I32.CALL_STATE);
      }
    }
  }

  private post(message: PdToKernel): void {
    parentPort?.postMessage(message);
  }
}

function isStopRequested(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) if (e instanceof StopRequested) return true;
  return false;
}

/**
 * The kernel link of a worker PD, counting for the watchdog: every endpoint and syscall wait calls `checkStop`
 * before each sleep slice, so SLEEPS moves while the PD sleeps in one (kernel/watchdog.ts).
 */
class WatchedKernelLink extends WorkerKernelLink {
  private readonly controlWords: Int32Array;

  constructor(...args: ConstructorParameters<typeof WorkerKernelLink>) {
    super(...args);
    this.controlWords = args[2];
  }

  override checkStop(): void {
    Atomics.add(this.controlWords, CONTROL_I32.SLEEPS, 1);
    super.checkStop();
  }
}
