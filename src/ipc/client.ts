/**
 * The VeridianOS IPC API inside one PD: endpoints, send / receive / call / reply / replyRecv / receiveBatch,
 * capabilities (derive, grant, revoke, close), rate limits and statistics.
 *
 * The data path is the slot protocol of protocol/endpoint.ts and never involves the kernel: a sender writes
 * its own slot and rings the receiver; the receiver scans its senders' slots round-robin (one message per
 * sender per turn, so a flooding sender cannot starve the others: it only ever fills its own slot) and takes a
 * message only after checking, in the guard that no sender holds, that the slot's capability is still live.
 * The kernel is reached by syscall (`KernelLink`) for everything that changes authority.
 *
 * Trust: this code runs inside the PD, so its own checks (rights on a handle, message size) only give early,
 * clear errors. What binds is checked by the kernel (every syscall) and by the receiving side (revocation,
 * rate limits, message bounds), which the sender cannot reach.
 *
 * Waiting: every blocking operation takes `timeout` (undefined = wait forever, 0 = poll, else milliseconds)
 * and an `AbortSignal`. Waits spin briefly, then sleep in bounded slices and re-check the peer, the deadline,
 * the signal and the kernel's stop request after each. In a synchronous wait the thread's event loop does not
 * run, so a signal is honoured if it was aborted before the call or by another agent between slices; the
 * `*Async` forms wait with `Atomics.waitAsync` and honour it at once.
 */

import { IpcError } from "../errors.ts";
import {
  GUARD_I32,
  INLINE_BYTES,
  QUEUE_ENTRY_BYTES,
  QUEUE_I32,
  Refusal,
  SLOT,
  SLOT_I32,
  SlotGone,
  SlotState,
  SlotStatus,
  slotStatus,
} from "../protocol/endpoint.ts";
import type { CapabilityGrant, KernelMail, RateLimits, RegionGrant, SlotGrant, SyscallRequest } from "../protocol/syscall.ts";
import { Rights } from "../caps/token.ts";
import { CLOCK_MASK, sleepWhile, sleepWhileAsync, spinDeadline, spinWhile, wakeIfSleeping, type WaitOptions } from "../shm/wait.ts";
import { ringDoorbell, sleepOnDoorbell, sleepOnDoorbellAsync } from "../shm/doorbell.ts";
import { RingConsumer, RingFlag, RingProducer, type RingGeometry } from "../shm/ring.ts";
import { Capability, callerTrace, capabilityInternals, type CapabilityOwner, type DeriveOptions } from "./capability.ts";
import { RateLimiter, validateRateLimits } from "./rate-limit.ts";
import { OperationStats, type PerformanceStats } from "./stats.ts";
import type { TraceRingWriter } from "../shm/trace-ring.ts";
import { copyBytes } from "../shm/copy-bytes.ts";
import { RECEIVED_BY_SPIN, TraceKind } from "../protocol/trace.ts";
import { messageBuffers, NO_CAPS, type MessageBuffer } from "./message-buffer.ts";

/** Handles' private state (slot, endpoint, closed): kept where a confined program holding the handle cannot reach. */
const capState = capabilityInternals();

/** What the IPC client needs from the PD runtime and the kernel (implemented in src/pd). */
export interface KernelLink {
  readonly pdName: string;
  /** Makes a syscall and returns the kernel's value, or throws the kernel's `IpcError`. `transfer` is moved. */
  syscall(request: SyscallRequest, transfer?: readonly ArrayBuffer[]): unknown;
  /** True if the kernel may have posted mail since the last `takeMail` (one atomic load). */
  hasMail(): boolean;
  /** Mail posted by the kernel (non-blocking). */
  takeMail(): KernelMail[];
  /** This PD's doorbell: a receiver sleeps on RING; senders and the kernel ring it. */
  readonly doorbell: Int32Array;
  /** Throws the runtime's stop signal if the kernel asked the PD to stop. */
  checkStop(): void;
  readonly wait: WaitOptions;
}

/** How long to wait: `timeout` (ms; undefined = forever, 0 = poll) and a signal that cancels the wait. */
export interface WaitFor {
  readonly timeout?: number | undefined;
  readonly signal?: AbortSignal | undefined;
}

export interface SendOptions extends WaitFor {
  /** The message's label (u32), as seL4's MessageInfo label. Default 0. */
  readonly label?: number;
  /** Capabilities carried by the message, installed in the receiver's space (needs GRANT on each). */
  readonly grant?: readonly Capability[];
  /** Move the granted capabilities (the sender's stop working) instead of copying them. Default false. */
  readonly move?: boolean;
}

/** A message taken from an endpoint. */
export interface Received {
  /** A private copy of the message bytes (at most 64). */
  readonly data: Uint8Array;
  readonly label: number;
  /** The badge of the capability it was sent through (seL4): set by `derive`, never by the sender. */
  readonly badge: number;
  /** The name of the sending PD, from the kernel's records (not from the sender). */
  readonly sender: string;
  /** Capabilities the message carried, now in this PD's space. */
  readonly caps: readonly Capability[];
  /** Present if the message is a call: answer it with `reply` (once). */
  readonly reply: ReplyCapability | undefined;
}

/** A reply to a call. */
export interface Reply {
  readonly data: Uint8Array;
  readonly label: number;
}

/** The one-shot right to answer one call (seL4's reply capability). */
/** The runtime's access to a reply handle's private state (set by ReplyCapability's static block). */
let replyState: {
  slot(r: ReplyCapability): ReceiverSlot;
  seq(r: ReplyCapability): number;
  use(r: ReplyCapability): void;
};

export class ReplyCapability {
  readonly endpoint: number;
  readonly sender: string;
  // Private, so a confined program holding a reply handle cannot reach the slot's shared memory through it,
  // or mark a used handle unused: the runtime reaches them through `replyState` below.
  readonly #slot: ReceiverSlot;
  readonly #seq: number;
  #used = false;

  static {
    replyState = { slot: (r) => r.#slot, seq: (r) => r.#seq, use: (r) => void (r.#used = true) };
  }

  /** @internal */
  constructor(endpoint: number, slot: ReceiverSlot, seq: number, sender: string) {
    this.endpoint = endpoint;
    this.#slot = slot;
    this.#seq = seq;
    this.sender = sender;
  }

  /** True once the call was answered through this handle. */
  get used(): boolean {
    return this.#used;
  }
}

interface SenderSlot {
  readonly i32: Int32Array;
  readonly u8: Uint8Array;
  /** The slot's message bytes (INLINE_BYTES at SLOT.DATA): a MessageBuffer is copied to and from this view whole. */
  readonly data: Uint8Array;
  readonly endpoint: number;
  readonly index: number;
  readonly receiverDoorbell: Int32Array;
  readonly receiver: string;
  seq: number;
  /** 0: an endpoint slot; else the entries of a channel's queue slot. */
  readonly capacity: number;
  /** A queue slot's producer end (the one SPSC ring, shm/ring.ts), with the geometry the kernel granted. */
  readonly producer: RingProducer | undefined;
}

/** @internal */
export interface ReceiverSlot {
  readonly index: number;
  /** The slot's generation, and its guard STATUS word while live and while this receiver takes from it. */
  readonly generation: number;
  readonly live: number;
  /** The endpoint's guard (its STATUS words; the kernel's, shared by no sender). */
  readonly guard: Int32Array;
  readonly i32: Int32Array;
  readonly u8: Uint8Array;
  /** The slot's message bytes (INLINE_BYTES at SLOT.DATA), as the sender's `data`. */
  readonly data: Uint8Array;
  readonly badge: number;
  readonly sender: string;
  /** The buckets of the capability's limits and its ancestors' (shared with every slot under them). */
  readonly capLimiters: readonly RateLimiter[];
  /** The sending PD's bucket, if the kernel limits that PD (updated by "limits" mail). */
  pdLimiter: RateLimiter | undefined;
  /** 0: an endpoint slot; else the entries of a channel's queue slot. */
  readonly capacity: number;
  /** A queue slot's consumer end (the one SPSC ring, shm/ring.ts), with the geometry the kernel mailed. */
  readonly consumer: RingConsumer | undefined;
  /** A queue deferred for its rate limit: not looked at again before this time (performance.now()). */
  throttledUntil: number;
  /** A queue whose capability is gone: nothing more is taken from it. */
  retired: boolean;
  /** This receiver took the call waiting in the slot and has not answered it yet. */
  outstanding: boolean;
}

interface ReceiverEndpoint {
  readonly id: number;
  readonly guard: Int32Array;
  /** Every slot, in no particular order (for looks that visit all). */
  readonly slots: ReceiverSlot[];
  /** The slots grouped by sending PD: the round-robin is over PDs, then over each PD's slots. */
  readonly senders: SenderGroup[];
  /** The group the next round-robin scan starts at. */
  next: number;
  closed: boolean;
}

/** One sending PD's slots on one endpoint: it is served in turn with every other PD, however many it has. */
interface SenderGroup {
  readonly sender: string;
  readonly slots: ReceiverSlot[];
  next: number;
}

function newEndpoint(id: number, guard: SharedArrayBuffer): ReceiverEndpoint {
  return { id, guard: new Int32Array(guard), slots: [], senders: [], next: 0, closed: false };
}

const NEVER = Number.POSITIVE_INFINITY;
/** A queue slot's `data` (its entries are read through its ring). */
const NO_BYTES = new Uint8Array(0);
/** What a take into a MessageBuffer returns in place of a `Received` (the message is in the buffer). */
const INTO_BUFFER: Received = Object.freeze({ data: NO_BYTES, label: 0, badge: 0, sender: "", caps: NO_CAPS, reply: undefined });
/** Options of an operation called without any (shared: no allocation per call). */
const NO_OPTIONS: SendOptions = Object.freeze({});

export class IpcClient implements CapabilityOwner {
  private readonly link: KernelLink;
  private readonly caps = new Map<bigint, Capability>();
  private readonly endpoints = new Map<number, ReceiverEndpoint>();
  private readonly named = new Map<string, Capability>();
  /** Buffers the kernel holds for this PD, by name: how many it said it has (taken with `take-buffer`). */
  private readonly movedBuffers = new Map<string, number>();
  private readonly pdLimiters = new Map<string, RateLimiter>();
  private readonly capLimiters = new Map<number, RateLimiter>();
  private readonly pendingSlots: Extract<KernelMail, { kind: "slot" }>[] = [];
  private readonly stats = new OperationStats();
  /** The PD's trace ring when the system is traced (protocol/trace.ts); undefined costs one branch per operation. */
  private readonly trace: TraceRingWriter | undefined;
  /**
   * A traced call the receive loop's spin took and whose receive is not recorded yet: it is recorded with the
   * reply (ENDPOINT_REPLIED) or, if this PD takes another message first, then, as an ENDPOINT_RECEIVE marked
   * RECEIVED_BY_SPIN. `unrecordedSlot` undefined: none.
   */
  private unrecordedSlot: ReceiverSlot | undefined = undefined;
  private unrecordedEndpoint = 0;
  private unrecordedSeq = 0;
  private unrecordedLabel = 0;
  /** The last answer (`answer`) wrote a trace record. */
  private replyRecorded = false;

  constructor(link: KernelLink, trace?: TraceRingWriter) {
    this.link = link;
    this.trace = trace;
  }

  // ---- objects and capabilities -------------------------------------------------------------------------

  createEndpoint(): { id: number; cap: Capability } {
    const value = this.syscall({ op: "create-endpoint" }) as { grant: CapabilityGrant; guard: SharedArrayBuffer };
    this.endpoints.set(value.grant.object, newEndpoint(value.grant.object, value.guard));
    this.adoptPendingSlots();
    return { id: value.grant.object, cap: this.adopt(value.grant) };
  }

  deriveCapability(cap: Capability, rights: number, options: DeriveOptions): Capability {
    this.own(cap, "derive");
    if (!Number.isInteger(rights) || rights < 0) {
      throw new IpcError("InvalidArgument", `derive: rights must be a set of Rights bits (got ${String(rights)})`, { operation: "derive" });
    }
    const request: SyscallRequest = {
      op: "derive",
      token: cap.token,
      rights,
      ...(options.badge === undefined ? {} : { badge: options.badge }),
      ...(options.rateLimits === undefined ? {} : { limits: validateRateLimits(options.rateLimits, "derive") }),
    };
    return this.adopt(this.syscall(request) as CapabilityGrant);
  }

  revokeCapability(cap: Capability): number {
    this.own(cap, "revoke");
    const { count } = this.syscall({ op: "revoke", token: cap.token }) as { count: number };
    const at = callerTrace("revoke");
    this.forget(cap, `revoked at:\n${at}`);
    return count;
  }

  closeCapability(cap: Capability): void {
    this.own(cap, "close");
    this.syscall({ op: "close", token: cap.token });
    this.forget(cap, callerTrace("close"));
    const endpoint = this.endpoints.get(cap.object);
    if (endpoint !== undefined && (cap.rights & Rights.RECEIVE) !== 0) endpoint.closed = true;
  }

  /**
   * `sys_grant_cap`: installs a capability with `rights` (a subset of `cap`'s) in PD `to`'s space and returns
   * the token it has there. With `name`, the receiver finds it with `lookupCapability(name)`.
   */
  grantCapability(cap: Capability, to: string | number, rights: number, options: { name?: string; move?: boolean } = {}): bigint {
    this.own(cap, "grant");
    const { token } = this.syscall({
      op: "grant",
      token: cap.token,
      to,
      rights,
      move: options.move === true,
      ...(options.name === undefined ? {} : { name: options.name }),
    }) as { token: bigint };
    if (options.move === true) this.forget(cap, `moved to PD ${String(to)} at:\n${callerTrace("grant")}`);
    return token;
  }

  /** The handle of a token this PD holds (one it was told about in a message, say). */
  capability(token: bigint): Capability {
    this.drainMail();
    const cap = this.caps.get(token);
    if (cap !== undefined) return cap;
    // Not known here: the kernel decides — a handle if the token is in this PD's space, else why not (never
    // issued, or where it was closed or revoked).
    if (typeof token !== "bigint") {
      throw new IpcError("InvalidCapability", `capability: ${String(token)} is not a capability token (a bigint)`, { operation: "capability" });
    }
    return this.adopt(this.syscall({ op: "check", token, rights: 0 }) as CapabilityGrant);
  }

  /**
   * Waits until a capability granted to this PD under `name` has arrived, and returns it. A name is never
   * replaced; with `from`, the capability must have been granted by that PD (`PermissionDenied` otherwise:
   * another PD took the name first).
   */
  lookupCapability(name: string, options: WaitFor & { readonly from?: string } = {}): Capability {
    const deadline = deadlineOf(options.timeout);
    for (;;) {
      this.drainMail();
      const cap = this.named.get(name);
      if (cap !== undefined) {
        if (options.from !== undefined && cap.grantedBy !== options.from) {
          throw new IpcError("PermissionDenied", `lookupCapability: the capability named '${name}' was granted by PD '${cap.grantedBy ?? "?"}', not by PD '${options.from}'`, {
            operation: "lookupCapability",
            capability: cap.token,
          });
        }
        return cap;
      }
      this.checkWait("lookupCapability", deadline, options.signal, () => `no capability named '${name}' has been granted to PD '${this.link.pdName}'`);
      this.sleepUntil(deadline, () => this.link.hasMail());
    }
  }

  /** A shared region owned by this PD: a capability with every right, and its memory. */
  createRegion(size: number): { id: number; cap: Capability; buffer: SharedArrayBuffer } {
    const value = this.syscall({ op: "create-region", size }) as { grant: CapabilityGrant; buffer: SharedArrayBuffer };
    return { id: value.grant.object, cap: this.adopt(value.grant), buffer: value.buffer };
  }

  /** The memory of a region capability: needs RECEIVE (read); writable if the capability has SEND. */
  mapRegion(cap: Capability): RegionGrant {
    this.own(cap, "mapRegion");
    return this.syscall({ op: "map", token: cap.token }) as RegionGrant;
  }

  /** This PD's end of async channel `name` as the kernel wires it now (pd/async-channels.ts checks it on attach). */
  asyncEnd(name: string, role: "producer" | "consumer"): unknown {
    return this.syscall({ op: "async-end", name, role });
  }

  /**
   * Moves `buffer` to PD `to` by engine transfer: when this returns, `buffer` is detached here (length 0) —
   * enforced by the JavaScript engine, not by convention. The receiver gets it with `receiveBuffer(name)`.
   */
  moveBuffer(buffer: ArrayBuffer, to: string | number, name: string): void {
    if (!(buffer instanceof ArrayBuffer)) {
      throw new IpcError("InvalidArgument", "moveBuffer: only an ArrayBuffer can be moved (a SharedArrayBuffer is shared through a region)", { operation: "moveBuffer" });
    }
    // The target is checked first: once moved, the buffer is gone from here, and a misnamed target would lose it.
    this.pid(to);
    this.syscall({ op: "move-buffer", to, name, buffer }, [buffer]);
  }

  /** Waits for an ArrayBuffer another PD moved to this one under `name` (the kernel holds it until then). */
  receiveBuffer(name: string, options: WaitFor = {}): { buffer: ArrayBuffer; from: string } {
    const deadline = deadlineOf(options.timeout);
    for (;;) {
      this.drainMail();
      if ((this.movedBuffers.get(name) ?? 0) > 0) {
        this.movedBuffers.set(name, this.movedBuffers.get(name)! - 1);
        try {
          return this.syscall({ op: "take-buffer", name }) as { buffer: ArrayBuffer; from: string };
        } catch (error) {
          if (!(error instanceof IpcError) || error.code !== "WouldBlock") throw error;
        }
        continue;
      }
      this.checkWait("receiveBuffer", deadline, options.signal, () => `no buffer named '${name}' has been moved to PD '${this.link.pdName}'`);
      this.sleepUntil(deadline, () => this.link.hasMail());
    }
  }

  /** The ProcessId of a running PD (by name, or checks a number); `ProcessNotFound` otherwise. */
  pid(name: string | number): number {
    return (this.syscall({ op: "pid", name }) as { pid: number }).pid;
  }

  getPerformanceStats(): PerformanceStats {
    return this.stats.report();
  }

  // ---- sending ------------------------------------------------------------------------------------------

  /** seL4 Send: returns once the receiver has taken the message (or throws why it could not). */
  send(cap: Capability, data: Uint8Array, options: SendOptions = {}): void {
    const started = this.stats.shouldSample() ? performance.now() : -1;
    const slot = this.sendSlot(cap, "send");
    const trace = this.trace;
    // Before publishing, so the record precedes the receiver's (the message's number is the slot's next SEQ).
    if (trace !== undefined) trace.recordNumbered(TraceKind.ENDPOINT_SEND, slot.endpoint, slot.index, slot.capacity === 0 ? (slot.seq + 1) >>> 0 : slot.producer!.published, (options.label ?? 0) >>> 0);
    checkMessage(cap, data, options, "send");
    const slept = slot.capacity === 0 ? this.publish(cap, slot, SlotState.SENT, data, data.length, options.label ?? 0, options, "send") : this.enqueue(cap, slot, data, options);
    this.stats.record(started, slept);
  }

  /** A bounded channel: an endpoint whose every sender has a queue of `capacity` messages (see protocol/endpoint.ts). */
  createChannel(capacity: number): { id: number; send: Capability; receive: Capability } {
    const value = this.syscall({ op: "create-channel", capacity }) as { grant: CapabilityGrant; guard: SharedArrayBuffer };
    this.endpoints.set(value.grant.object, newEndpoint(value.grant.object, value.guard));
    this.adoptPendingSlots();
    const receive = this.adopt(value.grant);
    return { id: value.grant.object, send: receive.derive(Rights.SEND | Rights.GRANT), receive };
  }

  /**
   * Queues one message in a channel's queue slot; waits for room when it is full. Returns true if it slept.
   * The receiver takes it later; what it refuses (a revoked capability) is never taken.
   */
  private enqueue(cap: Capability, slot: SenderSlot, data: Uint8Array, options: SendOptions): boolean {
    if (options.grant !== undefined && options.grant.length > 0) {
      throw new IpcError("InvalidArgument", "send: capabilities travel through endpoints, not through a channel's queue", { operation: "send", capability: cap.token });
    }
    const deadline = deadlineOf(options.timeout);
    const i32 = slot.i32;
    const producer = slot.producer!;
    const label = (options.label ?? 0) | 0;
    let slept = false;
    for (;;) {
      if (Atomics.load(i32, QUEUE_I32.GONE) !== SlotGone.NO) throw this.gone(cap, slot, "send");
      if ((producer.flags() & RingFlag.ConsumerClosed) !== 0) {
        throw new IpcError("EndpointClosed", `send: PD '${slot.receiver}' refused the queue of ${cap.toString()} (a malformed entry); it takes nothing more from it`, {
          operation: "send",
          capability: cap.token,
          endpoint: slot.endpoint,
        });
      }
      // Publishes the entry if there is room (a receiver's TAIL ahead of HEAD is the ring's InvalidMessage).
      if (producer.tryPushTagged(label, data)) break;
      const why = this.waitProblem(deadline, options.signal);
      if (why !== undefined) {
        const details = { operation: "send", capability: cap.token, endpoint: slot.endpoint };
        if (Atomics.load(i32, QUEUE_I32.THROTTLED) !== 0) {
          throw new IpcError("RateLimitExceeded", `send: PD '${slot.receiver}' defers this queue for the rate limit of ${cap.toString()} or of PD '${this.link.pdName}'; it is full`, details);
        }
        if (why === "aborted") throw new IpcError("Aborted", `send: aborted waiting for room in the queue of ${cap.toString()}`, details, { cause: options.signal?.reason });
        if (deadline === -1) throw new IpcError("QueueFull", `send: the queue of ${cap.toString()} is full (${slot.capacity} messages)`, details);
        throw new IpcError("Timeout", `send: no room in the queue of ${cap.toString()} within the timeout`, details);
      }
      slept = true;
      this.link.checkStop();
      const slice = Math.max(0, Math.min(this.link.wait.sliceMs, deadline - performance.now()));
      // The ring's sleep for room: announce, look again, sleep on its producer bell (the receiver rings it after
      // freeing, the kernel when the slot goes).
      const bell = producer.beginWait();
      try {
        if (producer.free === 0 && Atomics.load(i32, QUEUE_I32.GONE) === SlotGone.NO && (producer.flags() & RingFlag.ConsumerClosed) === 0) producer.sleepSync(bell, slice);
      } finally {
        producer.endWait();
      }
    }
    ringDoorbell(slot.receiverDoorbell);
    return slept;
  }

  /** seL4 Call: sends and waits for the reply. */
  call(cap: Capability, data: Uint8Array, options: SendOptions = NO_OPTIONS): Reply {
    const started = this.stats.shouldSample() ? performance.now() : -1;
    const slot = this.callSlot(cap, "call");
    checkMessage(cap, data, options, "call");
    const slept = this.publish(cap, slot, SlotState.CALLED, data, data.length, options.label ?? 0, options, "call");
    const reply = this.readReply(cap, slot, "call");
    this.stats.record(started, slept);
    return reply;
  }

  /**
   * seL4 Call through this PD's own buffer: sends its first `length` bytes with its `label`, waits, and leaves
   * the reply in it (`length`, `label`, `bytes`). Nothing is allocated: the cost of `call` without its copies.
   */
  callInto(cap: Capability, buffer: MessageBuffer, options: Omit<SendOptions, "label"> = NO_OPTIONS): void {
    const started = this.stats.shouldSample() ? performance.now() : -1;
    const slot = this.callSlot(cap, "callInto");
    const bytes = messageBuffers.checked(buffer, "callInto");
    const slept = this.publish(cap, slot, SlotState.CALLED, bytes, buffer.length, buffer.label, options, "callInto");
    const length = this.replyLength(cap, slot, "callInto");
    bytes.set(slot.data); // all 64 bytes, one aligned copy; the reply is the first `length`
    buffer.length = length;
    buffer.label = slot.i32[SLOT_I32.LABEL]! >>> 0;
    this.stats.record(started, slept);
  }

  /** The slot a call goes through: an endpoint's (a channel's queue slot takes one-way messages only). */
  private callSlot(cap: Capability, operation: string): SenderSlot {
    const slot = this.sendSlot(cap, operation);
    if (slot.capacity !== 0) {
      throw new IpcError("InvalidArgument", `${operation}: ${cap.toString()} is a channel (one-way messages); calls go through an endpoint`, {
        operation,
        capability: cap.token,
      });
    }
    return slot;
  }

  /** A private copy of the reply of a call that ended REPLIED. */
  private readReply(cap: Capability, slot: SenderSlot, operation: string): Reply {
    const length = this.replyLength(cap, slot, operation);
    return { data: copyBytes(slot.u8, SLOT.DATA, SLOT.DATA + length), label: slot.i32[SLOT_I32.LABEL]! >>> 0 };
  }

  /** The length of the reply of a call that ended REPLIED (it stays REPLIED until the next call: one write per call). */
  private replyLength(cap: Capability, slot: SenderSlot, operation: string): number {
    const length = slot.i32[SLOT_I32.LENGTH]! >>> 0;
    if (length > INLINE_BYTES) {
      throw new IpcError("InvalidMessage", `${operation}: PD '${slot.receiver}' replied with ${length} bytes (at most ${INLINE_BYTES})`, {
        operation,
        capability: cap.token,
        endpoint: slot.endpoint,
      });
    }
    return length;
  }

  /**
   * Writes the message (the first `length` bytes of `bytes`, checked by the caller) into the slot, publishes it as
   * `kind` (SENT or CALLED), rings the receiver and waits until it is taken (send) or answered (call). Returns
   * true if the thread slept.
   */
  private publish(cap: Capability, slot: SenderSlot, kind: SlotState, bytes: Uint8Array, length: number, label: number, options: SendOptions, operation: string): boolean {
    const deadline = this.checkPublish(cap, slot, options, operation);
    let slept = false;
    for (let free = this.freeState(cap, slot, deadline, options, operation); free < 0; free = this.freeState(cap, slot, deadline, options, operation)) {
      slept = this.waitSlot(slot, -free - 1, deadline) || slept;
    }
    this.writeMessage(cap, slot, kind, bytes, length, label, options, operation);
    if (kind === SlotState.CALLED) this.traceCall(slot, label);
    for (let state = this.settle(cap, slot, kind, deadline, options.signal, operation); state >= 0; state = this.settle(cap, slot, kind, deadline, options.signal, operation)) {
      slept = this.waitSlot(slot, state, deadline) || slept;
    }
    return slept;
  }

  /** As `publish`, waiting with `Atomics.waitAsync`: the event loop runs, and an `AbortSignal` acts at once. */
  private async publishAsync(cap: Capability, slot: SenderSlot, kind: SlotState, data: Uint8Array, options: SendOptions, operation: string): Promise<void> {
    checkMessage(cap, data, options, operation);
    const label = options.label ?? 0;
    const deadline = this.checkPublish(cap, slot, options, operation);
    for (let free = this.freeState(cap, slot, deadline, options, operation); free < 0; free = this.freeState(cap, slot, deadline, options, operation)) {
      await this.waitSlotAsync(slot, -free - 1, deadline, options.signal);
    }
    this.writeMessage(cap, slot, kind, data, data.length, label, options, operation);
    if (kind === SlotState.CALLED) this.traceCall(slot, label);
    for (let state = this.settle(cap, slot, kind, deadline, options.signal, operation); state >= 0; state = this.settle(cap, slot, kind, deadline, options.signal, operation)) {
      await this.waitSlotAsync(slot, state, deadline, options.signal);
    }
  }

  /**
   * Records a call just published (message `slot.seq`): its clock read and stores overlap the receiver taking it,
   * and nothing is recorded on the way back; the kernel completes the record from the receiver's reply
   * (protocol/trace.ts, ENDPOINT_CALL).
   */
  private traceCall(slot: SenderSlot, label: number): void {
    const trace = this.trace;
    if (trace !== undefined) trace.recordNumbered(TraceKind.ENDPOINT_CALL, slot.endpoint, slot.index, slot.seq >>> 0, label >>> 0);
  }

  /** The checks before a (checked) message is written; returns the deadline. */
  private checkPublish(cap: Capability, slot: SenderSlot, options: SendOptions, operation: string): number {
    const deadline = deadlineOf(options.timeout);
    if (options.signal?.aborted === true) throw this.waitError("aborted", operation, cap, slot, options.signal);
    return deadline;
  }

  /**
   * The slot must be free: IDLE, or the end state of our last message (REPLIED, DELIVERED, REFUSED), which
   * stays until the next one so the sender writes the state line once per message. An earlier call this PD
   * gave up on may still be with the receiver (ABANDONED until the receiver lets go of it). Returns the free
   * state, or -(state + 1) to wait on; throws if the slot is gone or the wait is over.
   */
  private freeState(cap: Capability, slot: SenderSlot, deadline: number, options: SendOptions, operation: string): number {
    const state = Atomics.load(slot.i32, SLOT_I32.STATE);
    if (state === SlotState.IDLE || state === SlotState.REPLIED || state === SlotState.DELIVERED || state === SlotState.REFUSED) return state;
    if (state === SlotState.CLOSED) throw this.gone(cap, slot, operation);
    this.checkWait(operation, deadline, options.signal, () => `the previous call through ${cap.toString()} is still with PD '${slot.receiver}'`, "EndpointBusy");
    return -state - 1;
  }

  /** Writes the message into the (free) slot and publishes it as `kind`, then rings the receiver. */
  private writeMessage(cap: Capability, slot: SenderSlot, kind: SlotState, bytes: Uint8Array, length: number, label: number, options: SendOptions, operation: string): void {
    const i32 = slot.i32;
    const free = Atomics.load(i32, SLOT_I32.STATE);
    if (Atomics.load(i32, SLOT_I32.GONE) !== SlotGone.NO) throw this.gone(cap, slot, operation);
    const transfer = options.grant === undefined || options.grant.length === 0 ? 0 : this.transfer(cap, options.grant, options.move === true);
    slot.u8.set(bytes, SLOT.DATA); // plain stores, published by the CAS below (a buffer's all 64 bytes)
    i32[SLOT_I32.LENGTH] = length;
    i32[SLOT_I32.LABEL] = label | 0;
    i32[SLOT_I32.TRANSFER] = transfer;
    i32[SLOT_I32.SEQ] = slot.seq = (slot.seq + 1) | 0;
    if (Atomics.compareExchange(i32, SLOT_I32.STATE, free, kind) !== free) {
      throw this.gone(cap, slot, operation); // only the kernel moves a free slot: it closed it
    }
    ringDoorbell(slot.receiverDoorbell);
  }

  /**
   * One look at a published message: -1 when it is done (taken, or answered), else the state to wait on.
   * Throws how it ended otherwise, or gives up (timeout, abort): a send not yet taken is withdrawn (a taken one
   * is DELIVERED); a call is abandoned — the receiver may have taken it, so the slot stays the receiver's until
   * it lets go (its late reply is dropped, never delivered to a later call).
   */
  private settle(cap: Capability, slot: SenderSlot, kind: SlotState, deadline: number, signal: AbortSignal | undefined, operation: string): number {
    const i32 = slot.i32;
    for (;;) {
      const state = Atomics.load(i32, SLOT_I32.STATE); // acquire: the reply is visible after REPLIED
      if (state === SlotState.DELIVERED && kind === SlotState.SENT) return -1; // stays until the next message
      if (state === SlotState.REPLIED && kind === SlotState.CALLED) return -1;
      if (state === SlotState.REFUSED) throw this.refused(cap, slot, i32[SLOT_I32.ERROR]!, operation); // REFUSED stays
      if (state === SlotState.CLOSED) {
        // Closed after the receiver took, answered or refused the message: it ended so (CLOSED_FROM was
        // written before CLOSED was published).
        const from = Atomics.load(i32, SLOT_I32.CLOSED_FROM);
        if ((from === SlotState.DELIVERED && kind === SlotState.SENT) || (from === SlotState.REPLIED && kind === SlotState.CALLED)) return -1;
        if (from === SlotState.REFUSED) throw this.refused(cap, slot, i32[SLOT_I32.ERROR]!, operation);
        throw this.gone(cap, slot, operation);
      }
      if (state !== kind) {
        throw new IpcError("InvalidMessage", `${operation}: slot of ${cap.toString()} is in an unexpected state ${state}`, {
          operation,
          capability: cap.token,
        });
      }
      const why = this.waitProblem(deadline, signal);
      if (why === undefined) return state;
      const giveUp = kind === SlotState.SENT ? SlotState.IDLE : SlotState.ABANDONED;
      if (Atomics.compareExchange(i32, SLOT_I32.STATE, kind, giveUp) === kind) throw this.waitError(why, operation, cap, slot, signal);
      // it moved on while we decided: look again
    }
  }

  /** One bounded asynchronous sleep while the slot's STATE is `state` (the store-load pattern of shm/wait.ts). */
  private async waitSlotAsync(slot: SenderSlot, state: number, deadline: number, signal: AbortSignal | undefined): Promise<void> {
    const i32 = slot.i32;
    this.link.checkStop();
    const slice = Math.max(0, Math.min(this.link.wait.sliceMs, deadline - performance.now()));
    await sleepWhileAsync(i32, SLOT_I32.STATE, state, SLOT_I32.SENDER_SLEEPING, slice, signal);
  }

  /** seL4 Send, waiting without blocking the event loop (for PDs in `wait: "async"` mode). */
  async sendAsync(cap: Capability, data: Uint8Array, options: SendOptions = {}): Promise<void> {
    const slot = this.sendSlot(cap, "sendAsync");
    if (slot.capacity !== 0) {
      throw new IpcError("InvalidArgument", `sendAsync: ${cap.toString()} is a channel; use send (a queued send waits only when the queue is full)`, {
        operation: "sendAsync",
        capability: cap.token,
      });
    }
    // Stamped before publishing, recorded once the message has its number (SEQ moves as it is written).
    const trace = this.trace;
    const began = trace === undefined ? 0 : trace.now();
    await this.publishAsync(cap, slot, SlotState.SENT, data, options, "sendAsync");
    if (trace !== undefined && trace.sampledNumber(slot.seq >>> 0)) trace.recordAt(began, TraceKind.ENDPOINT_SEND, slot.endpoint, slot.index, slot.seq >>> 0, (options.label ?? 0) >>> 0);
  }

  /** seL4 Call, waiting without blocking the event loop. */
  async callAsync(cap: Capability, data: Uint8Array, options: SendOptions = {}): Promise<Reply> {
    const slot = this.callSlot(cap, "callAsync");
    await this.publishAsync(cap, slot, SlotState.CALLED, data, options, "callAsync");
    return this.readReply(cap, slot, "callAsync");
  }

  /** Waits while the slot's STATE is `state`, one bounded slice at most. Returns true if it slept. */
  private waitSlot(slot: SenderSlot, state: number, deadline: number): boolean {
    const i32 = slot.i32;
    // Spin first: a running receiver answers within microseconds.
    if (spinWhile(i32, SLOT_I32.STATE, state, this.link.wait.spinMicros)) return false;
    this.link.checkStop();
    const slice = Math.max(0, Math.min(this.link.wait.sliceMs, deadline - performance.now()));
    sleepWhile(i32, SLOT_I32.STATE, state, SLOT_I32.SENDER_SLEEPING, slice);
    return true;
  }

  private sendSlot(cap: Capability, operation: string): SenderSlot {
    const known = capState.sendState(cap) as SenderSlot | undefined; // undefined for anything not connected here
    if (known !== undefined && cap.heldBy(this)) return known;
    this.own(cap, operation);
    if ((cap.rights & Rights.SEND) === 0) {
      throw new IpcError("PermissionDenied", `${operation}: capability ${cap.toString()} has no SEND right`, { operation, capability: cap.token });
    }
    const grant = this.syscall({ op: "connect", token: cap.token }) as SlotGrant;
    const slot: SenderSlot = {
      i32: new Int32Array(grant.slot),
      u8: new Uint8Array(grant.slot),
      data: grant.capacity === 0 ? new Uint8Array(grant.slot, SLOT.DATA, INLINE_BYTES) : NO_BYTES,
      endpoint: grant.endpoint,
      index: grant.index,
      receiverDoorbell: new Int32Array(grant.receiverDoorbell),
      receiver: grant.receiver,
      seq: 0,
      capacity: grant.capacity,
      producer: grant.capacity === 0 ? undefined : new RingProducer(grant.slot, queueGeometry(grant.capacity)),
    };
    capState.setSendState(cap, slot);
    return slot;
  }

  private transfer(through: Capability, caps: readonly Capability[], move: boolean): number {
    caps.forEach((c) => { this.own(c, "send"); });
    const { transfer } = this.syscall({ op: "transfer", through: through.token, tokens: caps.map((c) => c.token), move }) as { transfer: number };
    if (move) for (const c of caps) this.forget(c, `moved in a message at:\n${callerTrace("send")}`);
    return transfer;
  }

  // ---- receiving ----------------------------------------------------------------------------------------

  /** Waits for one message on the endpoint `cap` receives (needs RECEIVE). */
  receive(cap: Capability, options: WaitFor = NO_OPTIONS): Received {
    return this.receiveWith(this.receiveEndpoint(cap, "receive"), cap, undefined, options, "receive");
  }

  /**
   * As `receive`, into this PD's own buffer (seL4 Recv into the IPC buffer): its `bytes`, `length`, `label`,
   * `badge`, `sender` and `caps` are the message's, and for a call it holds the right to answer it
   * (`holdsCall`; answer with `replyInto` or `replyRecvInto`). Nothing is allocated for a message without
   * capabilities. A buffer that still holds an unanswered call is refused (`InvalidArgument`): answer it first.
   */
  receiveInto(cap: Capability, buffer: MessageBuffer, options: WaitFor = NO_OPTIONS): void {
    const endpoint = this.receiveEndpoint(cap, "receiveInto");
    this.checkReceiveBuffer(buffer, "receiveInto");
    this.receiveWith(endpoint, cap, buffer, options, "receiveInto");
  }

  private checkReceiveBuffer(buffer: MessageBuffer, operation: string): void {
    if (!messageBuffers.is(buffer)) throw new IpcError("InvalidArgument", `${operation}: expected a MessageBuffer`, { operation });
    if (buffer.holdsCall) {
      throw new IpcError("InvalidArgument", `${operation}: the buffer holds the unanswered call of PD '${buffer.sender}': answer it first (replyInto)`, {
        operation,
        endpoint: messageBuffers.heldEndpoint(buffer),
      });
    }
  }

  /**
   * The receive loop: one message into `into` (returning INTO_BUFFER), or as a new `Received`. `afterRecord`:
   * called right after this PD wrote a trace record (the reply of a replyRecv), so a message its first poll
   * takes is taken within a poll of that record, as one the spin caught is within a poll of its publication:
   * either way the trace file can date the receive from the call and the PD's previous record (traceReceive).
   * Without it, a server that is always a little behind its caller would read the clock on every call's path,
   * and stay behind.
   */
  private receiveWith(endpoint: ReceiverEndpoint, cap: Capability, into: MessageBuffer | undefined, options: WaitFor, operation: string, afterRecord = false): Received {
    const deadline = deadlineOf(options.timeout);
    let slept = false;
    let spun = afterRecord;
    for (;;) {
      if (this.link.hasMail()) this.drainMail();
      const message = this.poll(endpoint, into, spun);
      if (message !== undefined) {
        // Counted, not timed: a receive's wait is the senders' idle time, not the cost of IPC.
        this.stats.record(-1, slept);
        return message;
      }
      if (endpoint.closed) throw closedError(cap, operation);
      // (Only a bounded wait needs the check and its message: a wait forever allocates nothing per look.)
      if (deadline !== NEVER || options.signal !== undefined) this.checkWait(operation, deadline, options.signal, () => `nothing to receive on ${cap.toString()}`, "WouldBlock");
      else this.link.checkStop();
      if ((spun = this.spinFor(endpoint))) continue;
      slept = true;
      // A queue deferred for its rate limit is looked at again within a millisecond, not a whole slice.
      const wake = endpoint.slots.some((s) => s.throttledUntil !== 0) ? Math.min(deadline, performance.now() + 1) : deadline;
      this.sleepUntil(wake, () => this.link.hasMail() || hasPending(endpoint));
    }
  }

  /**
   * As `receive`, waiting with `Atomics.waitAsync` (no spinning): the event loop runs meanwhile, and the
   * `AbortSignal` ends the wait at once. For PDs in `wait: "async"` mode.
   */
  async receiveAsync(cap: Capability, options: WaitFor = {}): Promise<Received> {
    const endpoint = this.receiveEndpoint(cap, "receiveAsync");
    const deadline = deadlineOf(options.timeout);
    const doorbell = this.link.doorbell;
    for (;;) {
      if (this.link.hasMail()) this.drainMail();
      const message = this.poll(endpoint, undefined);
      if (message !== undefined) return message;
      if (endpoint.closed) throw closedError(cap, "receiveAsync");
      this.checkWait("receiveAsync", deadline, options.signal, () => `nothing to receive on ${cap.toString()}`, "WouldBlock");
      const wake = endpoint.slots.some((x) => x.throttledUntil !== 0) ? Math.min(deadline, performance.now() + 1) : deadline;
      const slice = Math.max(0, Math.min(this.link.wait.sliceMs, wake - performance.now()));
      await sleepOnDoorbellAsync(doorbell, () => this.link.hasMail() || hasPending(endpoint), slice, options.signal);
    }
  }

  /** Up to `max` messages: waits for the first as `receive` does, then takes whatever else is waiting. */
  receiveBatch(cap: Capability, max: number, options: WaitFor = {}): Received[] {
    if (!Number.isInteger(max) || max < 1) {
      throw new IpcError("InvalidArgument", `receiveBatch: max must be a positive integer (got ${String(max)})`, { operation: "receiveBatch" });
    }
    const batch = [this.receive(cap, options)];
    const endpoint = this.endpoints.get(cap.object)!;
    while (batch.length < max) {
      const message = this.poll(endpoint, undefined);
      if (message === undefined) break;
      batch.push(message);
    }
    return batch;
  }

  /**
   * Answers the call `to` came with. Returns false (and sends nothing) if the caller gave up or died; a reply
   * capability works once.
   */
  reply(to: ReplyCapability, data: Uint8Array, options: { label?: number } = {}): boolean {
    if (!(to instanceof ReplyCapability)) {
      throw new IpcError("InvalidCapability", "reply: not a reply capability (use the `reply` of a received call)", { operation: "reply" });
    }
    if (to.used) throw new IpcError("InvalidCapability", `reply: this call from PD '${to.sender}' was already answered`, { operation: "reply", endpoint: to.endpoint });
    if (!(data instanceof Uint8Array) || data.length > INLINE_BYTES) {
      throw new IpcError(data instanceof Uint8Array ? "MessageTooLarge" : "InvalidArgument", `reply: the reply must be a Uint8Array of at most ${INLINE_BYTES} bytes`, {
        operation: "reply",
        endpoint: to.endpoint,
      });
    }
    const label = options.label ?? 0;
    if (!Number.isInteger(label) || label < 0 || label > 0xffff_ffff) {
      throw new IpcError("InvalidArgument", `reply: label must be a u32 (got ${String(label)})`, { operation: "reply" });
    }
    replyState.use(to);
    return this.answer(replyState.slot(to), replyState.seq(to), to.endpoint, data, data.length, label);
  }

  /** seL4 ReplyRecv: answers one call and waits for the next message, in one operation. */
  replyRecv(to: ReplyCapability, data: Uint8Array, cap: Capability, options: WaitFor & { label?: number } = {}): Received {
    this.reply(to, data, options.label === undefined ? {} : { label: options.label });
    return this.receiveWith(this.receiveEndpoint(cap, "receive"), cap, undefined, options, "receive", this.replyRecorded);
  }

  /**
   * Answers the call `buffer` holds (from `receiveInto`) with its first `length` bytes and its `label`; the
   * buffer no longer holds it. Returns false (and sends nothing) if the caller gave up or died.
   */
  replyInto(buffer: MessageBuffer): boolean {
    const bytes = messageBuffers.checked(buffer, "replyInto");
    const slot = messageBuffers.heldSlot(buffer) as ReceiverSlot | undefined;
    if (slot === undefined) {
      throw new IpcError("InvalidCapability", "replyInto: the buffer holds no call to answer (receive one with receiveInto)", { operation: "replyInto" });
    }
    const seq = messageBuffers.heldSeq(buffer);
    const endpoint = messageBuffers.heldEndpoint(buffer);
    messageBuffers.hold(buffer, undefined, 0, 0);
    return this.answer(slot, seq, endpoint, bytes, buffer.length, buffer.label);
  }

  /** seL4 ReplyRecv through this PD's buffer: `replyInto`, then `receiveInto` the same buffer. */
  replyRecvInto(cap: Capability, buffer: MessageBuffer, options: WaitFor = NO_OPTIONS): void {
    const endpoint = this.receiveEndpoint(cap, "replyRecvInto");
    this.replyInto(buffer);
    this.receiveWith(endpoint, cap, buffer, options, "replyRecvInto", this.replyRecorded);
  }

  /**
   * Publishes the reply to the call `seq` in `slot` (the first `length` of `bytes`, checked by the caller), if
   * the caller still waits for it; else drops it and lets go of the slot. Returns true if it was delivered.
   */
  private answer(slot: ReceiverSlot, seq: number, endpoint: number, bytes: Uint8Array, length: number, label: number): boolean {
    const i32 = slot.i32;
    const state = Atomics.load(i32, SLOT_I32.STATE);
    let delivered = false;
    slot.outstanding = false;
    if (state === SlotState.CALLED && i32[SLOT_I32.SEQ] === seq) {
      slot.u8.set(bytes, SLOT.DATA);
      i32[SLOT_I32.LENGTH] = length;
      i32[SLOT_I32.LABEL] = label | 0;
      // publishes the reply; a CAS, so an ABANDONED (or the kernel's CLOSED) is never overwritten
      delivered = Atomics.compareExchange(i32, SLOT_I32.STATE, SlotState.CALLED, SlotState.REPLIED) === SlotState.CALLED;
      // A caller that died leaves its taken call CALLED (the kernel marks the slot SENDER_DEAD in the guard, which
      // no sender can write): the reply went nowhere.
      if (delivered && revokedWhy(slot.guard, GUARD_I32.STATUS + slot.index, slot) === Refusal.SENDER_DEAD) delivered = false;
    }
    // The caller gave up: drop the reply and let go of its slot, for its next call.
    if (!delivered) Atomics.compareExchange(i32, SLOT_I32.STATE, SlotState.ABANDONED, SlotState.IDLE);
    wakeIfSleeping(i32, SLOT_I32.STATE, SLOT_I32.SENDER_SLEEPING);
    // Recorded after the reply is published: the clock read overlaps the caller taking it. A call the spin took
    // has its receive in the same record (ENDPOINT_REPLIED, the call's label in `extra`).
    const trace = this.trace;
    if (trace !== undefined) {
      if (slot === this.unrecordedSlot && seq === this.unrecordedSeq) {
        this.unrecordedSlot = undefined;
        trace.recordAt(trace.now(), TraceKind.ENDPOINT_REPLIED, endpoint, slot.index, seq >>> 0, label >>> 0, this.unrecordedLabel);
        this.replyRecorded = true;
      } else if ((this.replyRecorded = trace.sampledNumber(seq >>> 0))) trace.record(TraceKind.ENDPOINT_REPLY, endpoint, slot.index, seq >>> 0, label >>> 0);
    }
    this.stats.record(-1, false); // counted; its cost is inside the caller's timed call
    return delivered;
  }

  /**
   * One round-robin pass over the endpoint's sending PDs, starting after the last one served, and within each
   * PD over its slots: a PD with a thousand capabilities to this endpoint gets one turn, as a PD with one
   * does. Returns the first message taken, or undefined.
   */
  private poll(endpoint: ReceiverEndpoint, into: MessageBuffer | undefined, spun = false): Received | undefined {
    const groups = endpoint.senders;
    const n = groups.length;
    for (let k = 0; k < n; k++) {
      const g = (endpoint.next + k) % n;
      const group = groups[g]!;
      const slots = group.slots;
      const m = slots.length;
      for (let j = 0; j < m; j++) {
        const i = (group.next + j) % m;
        const message = this.tryTake(endpoint, slots[i]!, into, spun);
        if (message !== undefined) {
          group.next = i + 1;
          endpoint.next = g + 1;
          return message;
        }
      }
    }
    return undefined;
  }

  /**
   * A message from `slot`, if one is waiting and may be taken: in `into` (returning INTO_BUFFER), or a new
   * `Received`. `spun`: the receive loop's spin saw it arrive (poll).
   */
  private tryTake(endpoint: ReceiverEndpoint, slot: ReceiverSlot, into: MessageBuffer | undefined, spun: boolean): Received | undefined {
    if (slot.capacity !== 0) return queuePending(slot) ? this.takeQueued(endpoint, slot, into) : undefined;
    const state = Atomics.load(slot.i32, SLOT_I32.STATE);
    if (state === SlotState.SENT || (state === SlotState.CALLED && !slot.outstanding)) return this.take(endpoint, slot, state, into, spun);
    if (state === SlotState.ABANDONED && !slot.outstanding) letGo(slot); // a call given up before it was taken
    return undefined;
  }

  /**
   * Takes the message in `slot` if its capability is still live: the revocation protocol of protocol/endpoint.ts
   * (STATUS read LIVE before the message is looked at; a send commits at its slot's CAS, a call at a second read
   * of STATUS, LIVE). Nothing here waits or writes the guard, and nothing the sender writes can make it throw.
   * `spun`: the receive loop's spin saw the message arrive, so it was published within a poll of being taken.
   */
  private take(endpoint: ReceiverEndpoint, slot: ReceiverSlot, state: number, into: MessageBuffer | undefined, spun: boolean): Received | undefined {
    const guard = endpoint.guard;
    const at = GUARD_I32.STATUS + slot.index;
    const i32 = slot.i32;
    if (Atomics.load(guard, at) !== slot.live) {
      refuse(slot, state, revokedWhy(guard, at, slot)); // revoked, its sender dead, or a record of an older slot
      return undefined;
    }
    const length = i32[SLOT_I32.LENGTH]! >>> 0;
    const why = length > INLINE_BYTES ? Refusal.INVALID_MESSAGE : !this.allowed(slot, length) ? Refusal.RATE_LIMITED : Refusal.NONE;
    if (why !== Refusal.NONE) {
      refuse(slot, state, why); // a refused message's capabilities stay in transit until the kernel drops them
      return undefined;
    }
    // A private copy, the sender may keep writing: into the buffer, all 64 bytes in one aligned copy.
    const data = into === undefined ? copyBytes(slot.u8, SLOT.DATA, SLOT.DATA + length) : NO_BYTES;
    if (into !== undefined) messageBuffers.bytes(into).set(slot.data);
    const label = i32[SLOT_I32.LABEL]! >>> 0;
    const seq = i32[SLOT_I32.SEQ]!;
    const transfer = i32[SLOT_I32.TRANSFER]! >>> 0;
    if (state === SlotState.SENT) {
      // A send commits here: the kernel's revoke refuses a SENT slot with a CAS on the same word.
      // (STATUS was LIVE before it, and the kernel exchanges STATUS before its CAS.)
      const taken = Atomics.compareExchange(i32, SLOT_I32.STATE, SlotState.SENT, SlotState.DELIVERED) === SlotState.SENT;
      if (!taken) return undefined; // withdrawn by its sender, or refused or closed by the kernel
      wakeIfSleeping(i32, SLOT_I32.STATE, SLOT_I32.SENDER_SLEEPING);
    } else {
      // A call commits here, at a read of STATUS after the copy (sequentially consistent, so ordered against the
      // kernel's exchange), without a write to the slot (the caller spins on that line) or to the guard: the
      // receiver remembers it, and the slot stays CALLED until the reply (or ABANDONED until the receiver lets go).
      if (Atomics.load(guard, at) !== slot.live) {
        refuse(slot, state, revokedWhy(guard, at, slot)); // revoked (or its sender died) while we looked
        return undefined;
      }
      slot.outstanding = true;
    }
    const caps = transfer === 0 ? NO_CAPS : this.claimTransfer(endpoint.id, slot.index, transfer);
    if (this.trace !== undefined) this.traceReceive(endpoint.id, slot, state, seq, label, spun);
    if (into !== undefined) {
      fill(into, length, label, slot, caps);
      if (state === SlotState.CALLED) messageBuffers.hold(into, slot, seq, endpoint.id);
      return INTO_BUFFER;
    }
    return {
      data,
      label,
      badge: slot.badge,
      sender: slot.sender,
      caps,
      reply: state === SlotState.CALLED ? new ReplyCapability(endpoint.id, slot, seq, slot.sender) : undefined,
    };
  }

  /**
   * Takes the oldest entry of a queue slot if its capability is still live and its rate limit allows it. The
   * entry is looked at in place (`peek`) and taken (`skip`) only once the take commits, at a read of STATUS after
   * the copy (as a call's, in `take`).
   */
  private takeQueued(endpoint: ReceiverEndpoint, slot: ReceiverSlot, into: MessageBuffer | undefined): Received | undefined {
    const guard = endpoint.guard;
    const at = GUARD_I32.STATUS + slot.index;
    const i32 = slot.i32;
    const consumer = slot.consumer!;
    if (Atomics.load(guard, at) !== slot.live) {
      slot.retired = true; // what is queued there is never taken
      return undefined;
    }
    const payload = consumer.peek(); // a view into the slot, checked by the ring against our own geometry
    const length = payload === undefined ? -1 : payload.length;
    if (payload !== undefined && length > INLINE_BYTES) {
      // Well formed for the ring, not for a queue (a message split across entries): only a sender writing
      // against the protocol makes one. Refused as the ring refuses a malformed slot: for good.
      consumer.refuseRing(`an entry of ${payload.length} bytes in a queue of ${QUEUE_ENTRY_BYTES}-byte entries`);
    }
    if (payload === undefined || consumer.refused !== undefined) {
      if (consumer.refused !== undefined) slot.retired = true;
      return undefined;
    }
    if (!this.allowed(slot, length)) {
      // Deferred, not refused: the entry stays queued until the bucket refills; the sender sees a full queue.
      if (i32[QUEUE_I32.THROTTLED] === 0) Atomics.store(i32, QUEUE_I32.THROTTLED, 1);
      slot.throttledUntil = performance.now() + 1;
      return undefined;
    }
    const label = consumer.tag; // the entry's tag word
    const data = into === undefined ? copyBytes(payload, 0, length) : NO_BYTES; // private copy: the sender may keep writing
    if (into !== undefined) messageBuffers.bytes(into).set(payload);
    // The take commits here: the kernel's revoke exchanges STATUS, so this reads it if it came first.
    if (Atomics.load(guard, at) !== slot.live) {
      slot.retired = true;
      return undefined;
    }
    consumer.skip(); // frees the entry (and rings the sender if it waits for room)
    if (i32[QUEUE_I32.THROTTLED] !== 0) Atomics.store(i32, QUEUE_I32.THROTTLED, 0);
    if (into !== undefined) {
      fill(into, length, label, slot, NO_CAPS);
      return INTO_BUFFER;
    }
    return { data, label, badge: slot.badge, sender: slot.sender, caps: NO_CAPS, reply: undefined };
  }

  private allowed(slot: ReceiverSlot, length: number): boolean {
    const pd = slot.pdLimiter;
    const caps = slot.capLimiters;
    if (caps.length === 0 && pd === undefined) return true;
    // Check every bucket before taking from any, so a refused message costs no bucket anything.
    const now = performance.now();
    for (const limiter of caps) if (!limiter.allows(length, now)) return false;
    if (pd !== undefined && !pd.allows(length, now)) return false;
    for (const limiter of caps) limiter.take(length);
    pd?.take(length);
    return true;
  }

  /**
   * Capabilities a message carried: the kernel holds them in transit until this claim, and hands over only the
   * transfer it made for this very slot (an id the sender wrote that is not that slot's gives nothing). If this
   * PD's space has no room they are dropped, and the message arrives without them.
   */
  private claimTransfer(endpoint: number, index: number, id: number): readonly Capability[] {
    let grants: readonly CapabilityGrant[];
    try {
      ({ grants } = this.syscall({ op: "claim", endpoint, index, transfer: id }) as { grants: readonly CapabilityGrant[] });
    } catch (error) {
      if (error instanceof IpcError && error.code === "OutOfMemory") return NO_CAPS;
      throw error;
    }
    return grants.length === 0 ? NO_CAPS : grants.map((g) => this.adopt(g));
  }

  /**
   * Records a receive. A call the spin took (so published within a poll of now), or that the first poll took
   * right after this PD's previous record (`spun` either way, receiveWith), is not stamped now, on the way to
   * its handler: its receive goes into the record of its reply, and the trace file dates it from the caller's
   * record of the call and this PD's previous record (protocol/trace.ts, ENDPOINT_REPLIED). One such call is
   * kept; taking any other message before answering it records its receive now, marked to be dated from the
   * call too (RECEIVED_BY_SPIN).
   */
  private traceReceive(endpoint: number, slot: ReceiverSlot, state: number, seq: number, label: number, spun: boolean): void {
    const trace = this.trace!;
    const pending = this.unrecordedSlot;
    if (pending !== undefined) {
      this.unrecordedSlot = undefined;
      trace.recordAt(trace.now(), TraceKind.ENDPOINT_RECEIVE, this.unrecordedEndpoint, pending.index, this.unrecordedSeq >>> 0, this.unrecordedLabel, RECEIVED_BY_SPIN);
    }
    if (!trace.sampledNumber(seq >>> 0)) return;
    if (spun && state === SlotState.CALLED) {
      this.unrecordedSlot = slot;
      this.unrecordedEndpoint = endpoint;
      this.unrecordedSeq = seq;
      this.unrecordedLabel = label;
    } else trace.record(TraceKind.ENDPOINT_RECEIVE, endpoint, slot.index, seq >>> 0, label);
  }

  /** Spins on the endpoint's slots for the spin budget. True if something arrived. */
  private spinFor(endpoint: ReceiverEndpoint): boolean {
    const spinMicros = this.link.wait.spinMicros;
    if (spinMicros <= 0) return false;
    // Mail is looked at with the clock (shm/wait.ts: every CLOCK_EVERY rounds, never on the first).
    let deadline = 0;
    for (let i = 1; ; i++) {
      if (hasPending(endpoint)) return true;
      if ((i & CLOCK_MASK) === 0) {
        if (this.link.hasMail()) return true;
        if ((deadline = spinDeadline(deadline, spinMicros)) < 0) return false;
      }
    }
  }

  /** One bounded sleep on this PD's doorbell (shm/doorbell.ts), at most until `deadline`. */
  private sleepUntil(deadline: number, ready: () => boolean): void {
    this.link.checkStop();
    sleepOnDoorbell(this.link.doorbell, ready, Math.max(0, Math.min(this.link.wait.sliceMs, deadline - performance.now())));
  }

  private receiveEndpoint(cap: Capability, operation: string): ReceiverEndpoint {
    const known = capState.receiveState(cap) as ReceiverEndpoint | undefined;
    if (known !== undefined && cap.heldBy(this)) return known;
    this.own(cap, operation);
    if ((cap.rights & Rights.RECEIVE) === 0) {
      throw new IpcError("PermissionDenied", `${operation}: capability ${cap.toString()} has no RECEIVE right`, { operation, capability: cap.token });
    }
    const endpoint = this.endpoints.get(cap.object);
    if (endpoint === undefined) {
      throw new IpcError("PermissionDenied", `${operation}: endpoint ${cap.object} is received by the PD that created it, not by '${this.link.pdName}'`, {
        operation,
        capability: cap.token,
        endpoint: cap.object,
      });
    }
    capState.setReceiveState(cap, endpoint);
    return endpoint;
  }

  // ---- kernel mail --------------------------------------------------------------------------------------

  private drainMail(): void {
    for (const mail of this.link.takeMail()) this.deliver(mail);
  }

  private deliver(mail: KernelMail): void {
    switch (mail.kind) {
      case "slot": // ["slot", endpoint, index, generation, slot, badge, sender, limits]
        this.pendingSlots.push(mail);
        this.adoptPendingSlots();
        break;
      case "limits": // ["limits", sender, limits]
        if (mail.limits === undefined) this.pdLimiters.delete(mail.sender);
        else this.pdLimiters.set(mail.sender, new RateLimiter(mail.limits));
        for (const endpoint of this.endpoints.values()) {
          for (const slot of endpoint.slots) if (slot.sender === mail.sender) slot.pdLimiter = this.pdLimiters.get(mail.sender);
        }
        break;
      case "named": {
        // ["named", name, grant, from]: the kernel never replaces a name, so the first one stays
        const cap = this.adopt(mail.grant);
        capState.setGrantedBy(cap, mail.from);
        if (mail.name !== "" && !this.named.has(mail.name)) this.named.set(mail.name, cap);
        break;
      }
      case "buffer": // ["buffer", name, from]: held by the kernel until `take-buffer`
        this.movedBuffers.set(mail.name, (this.movedBuffers.get(mail.name) ?? 0) + 1);
        break;
      case "endpoint": // ["endpoint", endpoint, guard]
        if (!this.endpoints.has(mail.endpoint)) this.endpoints.set(mail.endpoint, newEndpoint(mail.endpoint, mail.guard));
        this.adoptPendingSlots();
        break;
    }
  }

  /**
   * Slots whose endpoint this PD knows. (A slot's mail cannot overtake its endpoint's, but be safe.) A slot
   * at an index replaces the older one there: the older one's capability is gone (its STATUS generation moved
   * on), and all that is left of it is an outstanding call this PD may still answer through its ReplyCapability.
   */
  private adoptPendingSlots(): void {
    for (let i = 0; i < this.pendingSlots.length; ) {
      const mail = this.pendingSlots[i]!;
      const endpoint = this.endpoints.get(mail.endpoint);
      if (endpoint === undefined) {
        i++;
        continue;
      }
      this.pendingSlots.splice(i, 1);
      if (mail.pdLimits !== undefined && !this.pdLimiters.has(mail.sender)) this.pdLimiters.set(mail.sender, new RateLimiter(mail.pdLimits));
      const slot: ReceiverSlot = {
        index: mail.index,
        generation: mail.generation,
        live: slotStatus(mail.generation, SlotStatus.LIVE),
        guard: endpoint.guard,
        i32: new Int32Array(mail.slot),
        u8: new Uint8Array(mail.slot),
        data: mail.capacity === 0 ? new Uint8Array(mail.slot, SLOT.DATA, INLINE_BYTES) : NO_BYTES,
        badge: mail.badge,
        sender: mail.sender,
        capacity: mail.capacity,
        consumer: mail.capacity === 0 ? undefined : new RingConsumer(mail.slot, queueGeometry(mail.capacity)),
        throttledUntil: 0,
        retired: false,
        outstanding: false,
        pdLimiter: this.pdLimiters.get(mail.sender),
        capLimiters: mail.capLimits.map((bucket) => {
          let limiter = this.capLimiters.get(bucket.id);
          if (limiter === undefined) this.capLimiters.set(bucket.id, (limiter = new RateLimiter(bucket.limits)));
          return limiter;
        }),
      };
      removeSlotAt(endpoint, mail.index);
      endpoint.slots.push(slot);
      let group = endpoint.senders.find((g) => g.sender === mail.sender);
      if (group === undefined) endpoint.senders.push((group = { sender: mail.sender, slots: [], next: 0 }));
      group.slots.push(slot);
    }
  }

  // ---- helpers ------------------------------------------------------------------------------------------

  private syscall(request: SyscallRequest, transfer?: readonly ArrayBuffer[]): unknown {
    const value = this.link.syscall(request, transfer);
    this.drainMail();
    return value;
  }

  private adopt(grant: CapabilityGrant): Capability {
    const known = this.caps.get(grant.token);
    if (known !== undefined) return known;
    const cap = new Capability(grant, this);
    this.caps.set(grant.token, cap);
    return cap;
  }

  /** The handle must be this PD's and open (an early, clear error; the kernel checks again). */
  private own(cap: Capability, operation: string): void {
    if (!(cap instanceof Capability) || !cap.heldBy(this)) {
      if (cap instanceof Capability) cap.assertOpen(operation);
      throw new IpcError("InvalidCapability", `${operation}: not a capability this PD holds`, {
        operation,
        ...(cap instanceof Capability ? { capability: cap.token } : {}),
      });
    }
  }

  private forget(cap: Capability, at: string): void {
    capState.markClosed(cap, at);
    this.caps.delete(cap.token);
    for (const [name, named] of this.named) if (named === cap) this.named.delete(name);
  }

  private checkWait(operation: string, deadline: number, signal: AbortSignal | undefined, what: () => string, pollCode: "WouldBlock" | "EndpointBusy" = "WouldBlock"): void {
    const why = this.waitProblem(deadline, signal);
    if (why === "timeout" && deadline === -1) throw new IpcError(pollCode, `${operation}: ${what()} (timeout 0: not waiting)`, { operation });
    if (why === "timeout") throw new IpcError("Timeout", `${operation}: ${what()} within the timeout`, { operation });
    if (why === "aborted") throw new IpcError("Aborted", `${operation}: aborted while waiting: ${what()}`, { operation }, { cause: signal?.reason });
    this.link.checkStop();
  }

  private waitProblem(deadline: number, signal: AbortSignal | undefined): "timeout" | "aborted" | undefined {
    if (signal?.aborted === true) return "aborted";
    if (deadline === -1 || (deadline !== NEVER && performance.now() >= deadline)) return "timeout";
    return undefined;
  }

  private waitError(why: "timeout" | "aborted", operation: string, cap: Capability, slot: SenderSlot, signal: AbortSignal | undefined): IpcError {
    const details = { operation, capability: cap.token, endpoint: slot.endpoint };
    if (why === "aborted") return new IpcError("Aborted", `${operation}: aborted waiting for PD '${slot.receiver}'`, details, { cause: signal?.reason });
    return new IpcError("Timeout", `${operation}: PD '${slot.receiver}' did not ${operation === "call" ? "reply" : "take the message"} within the timeout`, details);
  }

  private refused(cap: Capability, slot: SenderSlot, why: number, operation: string): IpcError {
    const details = { operation, capability: cap.token, endpoint: slot.endpoint };
    switch (why) {
      case Refusal.RATE_LIMITED:
        return new IpcError("RateLimitExceeded", `${operation}: PD '${slot.receiver}' refused the message: over the rate limit of ${cap.toString()} or of PD '${this.link.pdName}'`, details);
      case Refusal.INVALID_MESSAGE:
        return new IpcError("InvalidMessage", `${operation}: PD '${slot.receiver}' refused a malformed message`, details);
      case Refusal.REVOKED:
      case Refusal.SENDER_DEAD:
        return this.revokedError(cap, operation);
      default:
        return new IpcError("InvalidMessage", `${operation}: PD '${slot.receiver}' refused the message (reason ${why})`, details);
    }
  }

  private gone(cap: Capability, slot: SenderSlot, operation: string): IpcError {
    const gone = Atomics.load(slot.i32, slot.capacity === 0 ? SLOT_I32.GONE : QUEUE_I32.GONE);
    const details = { operation, capability: cap.token, endpoint: slot.endpoint, pd: slot.receiver };
    if (gone === SlotGone.RECEIVER_DIED) return new IpcError("PeerDied", `${operation}: PD '${slot.receiver}', which receives on endpoint ${slot.endpoint}, has died`, details);
    if (gone === SlotGone.RECEIVER_RESTARTED) {
      return new IpcError("PeerRestarted", `${operation}: PD '${slot.receiver}' was restarted; endpoint ${slot.endpoint} closed with its old generation (use the capability its new generation grants)`, details);
    }
    if (gone === SlotGone.ENDPOINT_CLOSED) return new IpcError("EndpointClosed", `${operation}: endpoint ${slot.endpoint} was closed by PD '${slot.receiver}'`, details);
    return this.revokedError(cap, operation);
  }

  /** The kernel knows where a capability was revoked or closed: ask it, for the error message. */
  private revokedError(cap: Capability, operation: string): IpcError {
    try {
      this.link.syscall({ op: "check", token: cap.token, rights: 0 });
    } catch (error) {
      if (error instanceof IpcError && error.code === "InvalidCapability") {
        this.forget(cap, error.message);
        return new IpcError("InvalidCapability", `${operation}: ${error.message.replace(/^check: /, "")}`, { operation, capability: cap.token }, { cause: error });
      }
      throw error;
    }
    return new IpcError("InvalidCapability", `${operation}: capability ${cap.toString()} no longer reaches its endpoint`, { operation, capability: cap.token });
  }
}

/** The sender's early checks on a message (the receiver checks again what binds). */
function checkMessage(cap: Capability, data: Uint8Array, options: SendOptions, operation: string): void {
  if (!(data instanceof Uint8Array)) {
    throw new IpcError("InvalidArgument", `${operation}: the message must be a Uint8Array`, { operation, capability: cap.token });
  }
  if (data.length > INLINE_BYTES) {
    throw new IpcError(
      "MessageTooLarge",
      `${operation}: ${data.length} bytes do not fit an inline message (at most ${INLINE_BYTES}); larger messages go through a shared region`,
      { operation, capability: cap.token, endpoint: cap.object },
    );
  }
  const label = options.label ?? 0;
  if (!Number.isInteger(label) || label < 0 || label > 0xffff_ffff) {
    throw new IpcError("InvalidArgument", `${operation}: label must be a u32 (got ${String(label)})`, { operation, capability: cap.token });
  }
}

/** Why a take from `slot` is refused when its STATUS word is not its LIVE: its sender died, or it was revoked. */
function revokedWhy(guard: Int32Array, at: number, slot: ReceiverSlot): Refusal {
  return Atomics.load(guard, at) === slotStatus(slot.generation, SlotStatus.SENDER_DEAD) ? Refusal.SENDER_DEAD : Refusal.REVOKED;
}

/** Writes what a receive tells about a message into the buffer it was taken into. */
function fill(into: MessageBuffer, length: number, label: number, slot: ReceiverSlot, caps: readonly Capability[]): void {
  into.length = length;
  into.label = label;
  into.badge = slot.badge;
  into.sender = slot.sender;
  into.caps = caps;
}

function refuse(slot: ReceiverSlot, state: number, why: Refusal): void {
  slot.i32[SLOT_I32.ERROR] = why; // published by the CAS
  if (Atomics.compareExchange(slot.i32, SLOT_I32.STATE, state, SlotState.REFUSED) === state) {
    wakeIfSleeping(slot.i32, SLOT_I32.STATE, SLOT_I32.SENDER_SLEEPING);
  }
}

function hasPending(endpoint: ReceiverEndpoint): boolean {
  const slots = endpoint.slots;
  for (let i = 0; i < slots.length; i++) {
    const slot = slots[i]!;
    if (slot.capacity !== 0) {
      if (queuePending(slot)) return true;
      continue;
    }
    const state = Atomics.load(slot.i32, SLOT_I32.STATE);
    if (state === SlotState.SENT) return true;
    if ((state === SlotState.CALLED || state === SlotState.ABANDONED) && !slot.outstanding) return true;
  }
  return false;
}

/** The receiver lets go of a slot whose caller gave up: the caller may send again. */
function letGo(slot: ReceiverSlot): void {
  if (Atomics.compareExchange(slot.i32, SLOT_I32.STATE, SlotState.ABANDONED, SlotState.IDLE) === SlotState.ABANDONED) {
    wakeIfSleeping(slot.i32, SLOT_I32.STATE, SLOT_I32.SENDER_SLEEPING);
  }
}

/** A queue slot has an entry to take now (not retired, not deferred for its rate limit). */
function queuePending(slot: ReceiverSlot): boolean {
  if (slot.retired) return false;
  const consumer = slot.consumer!;
  if (consumer.ready() === 0) {
    if (consumer.refused !== undefined) slot.retired = true; // HEAD too far ahead: the ring refused the queue
    return false;
  }
  if (slot.throttledUntil !== 0) {
    if (performance.now() < slot.throttledUntil) return false;
    slot.throttledUntil = 0;
  }
  return true;
}

/** A queue slot's ring geometry, from the kernel's capacity (never from the shared header). */
function queueGeometry(capacity: number): RingGeometry {
  return { capacity, slotBytes: QUEUE_ENTRY_BYTES };
}

function closedError(cap: Capability, operation: string): IpcError {
  return new IpcError("EndpointClosed", `${operation}: endpoint ${cap.object} is closed`, { operation, capability: cap.token, endpoint: cap.object });
}

/** -1 = poll (timeout 0), +Infinity = forever, else the performance.now() deadline. */
function deadlineOf(timeout: number | undefined): number {
  if (timeout === undefined || timeout === Number.POSITIVE_INFINITY) return NEVER;
  if (typeof timeout !== "number" || Number.isNaN(timeout) || timeout < 0) {
    throw new IpcError("InvalidArgument", `timeout must be a non-negative number of milliseconds (got ${String(timeout)})`, {});
  }
  return timeout === 0 ? -1 : performance.now() + timeout;
}

export type { RateLimits };

/** Forgets the record of the slot at `index` (a newer slot takes the index), and a sender group left empty. */
function removeSlotAt(endpoint: ReceiverEndpoint, index: number): void {
  const at = endpoint.slots.findIndex((s) => s.index === index);
  if (at < 0) return;
  const [old] = endpoint.slots.splice(at, 1);
  const g = endpoint.senders.findIndex((group) => group.slots.includes(old!));
  if (g < 0) return;
  const group = endpoint.senders[g]!;
  group.slots.splice(group.slots.indexOf(old!), 1);
  if (group.slots.length === 0) endpoint.senders.splice(g, 1);
}
