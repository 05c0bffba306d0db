/**
 * The kernel's half of the IPC layer: it holds every capability space (caps/space.ts), makes endpoints and
 * their senders' slots, answers syscalls, carries out derive / grant / revoke / close, and cleans up after a
 * PD that died. It is never on the path of a message.
 *
 * Every syscall is checked against the calling PD's own capability space before anything changes, and every
 * operation either completes or changes nothing (the registry's all-or-nothing grant).
 *
 * When a capability leaves a space (closed, revoked, moved, its endpoint closed, its holder dead) the slot it
 * was connected to is retired, in this order (protocol/endpoint.ts): the guard's STATUS first, so the
 * receiver takes nothing more from it; then a wait until the receiver is not in the middle of a take from it;
 * then the slot itself, so a sender blocked in it wakes with an error. Only then does the syscall return: after
 * `revoke` returns, no message is taken through any revoked capability, including one already waiting.
 */

import { IpcError, serializeError } from "../errors.ts";
import { CapabilityRegistry, type CapabilityInfo, type RegistryStats, type RemovalReason } from "../caps/space.ts";
import { isSubset, Rights } from "../caps/token.ts";
import { CONTROL_I32, DOORBELL_I32, KERNEL_BELL_I32 } from "../protocol/layout.ts";
import {
  GUARD_BYTES,
  GUARD_I32,
  MAX_QUEUE_CAPACITY,
  MAX_SLOTS,
  QUEUE_I32,
  QUEUE_MAGIC,
  queueBytes,
  Refusal,
  SLOT_BYTES,
  SLOT_I32,
  SLOT_MAGIC,
  SlotGone,
  SlotState,
  SlotStatus,
} from "../protocol/endpoint.ts";
import type {
  CapabilityGrant,
  KernelMail,
  KernelToPd,
  LimitedBucket,
  RateLimits,
  SlotGrant,
  SyscallMessage,
  SyscallRequest,
} from "../protocol/syscall.ts";
import { RateLimiter, validateRateLimits } from "../ipc/rate-limit.ts";
import { DEFAULT_LIMITS, type Limits } from "../protocol/limits.ts";

/** What the kernel holds for each PD that can make syscalls. */
export interface IpcPd {
  readonly pid: number;
  readonly name: string;
  /** Posts a reply or mail on the PD's kernel port (moving the ArrayBuffers in `transfer`). */
  post(message: KernelToPd, transfer?: readonly ArrayBuffer[]): void;
  readonly control: Int32Array;
  readonly doorbell: SharedArrayBuffer;
  alive(): boolean;
  /**
   * The names of the PDs this one is connected to by the system description: a Microkit channel between them
   * (either way), or a parent/child relation. Such a PD may grant into this one by name (authority follows
   * capabilities: see `grant`).
   */
  readonly connected: ReadonlySet<string>;
  /** The next message the PD posted on its kernel port, if any (non-blocking; `receiveMessageOnPort`). */
  take(): { readonly message: unknown } | undefined;
  /** The kernel faults this PD (it broke the syscall protocol): the system stops it as if it had thrown. */
  fault(error: Error): void;
}

interface EndpointRecord {
  readonly id: number;
  readonly owner: number;
  readonly guard: SharedArrayBuffer;
  readonly guardI32: Int32Array;
  /** 0: an endpoint (one-message slots); else a channel whose senders each get a queue of this many entries. */
  readonly capacity: number;
  nextIndex: number;
  closed: boolean;
}

interface SlotRecord {
  readonly endpoint: EndpointRecord;
  readonly index: number;
  readonly holder: number;
  readonly buffer: SharedArrayBuffer;
  readonly i32: Int32Array;
}

interface CapMeta {
  readonly badge: number;
  /** The limits of this capability and of its ancestors, each with its bucket's id. */
  readonly limits: readonly LimitedBucket[];
}

export interface IpcKernelStats extends RegistryStats {
  readonly endpointsLive: number;
  readonly slotsLive: number;
  readonly syscalls: number;
}

/** The largest shared region a PD may create. */
const MAX_REGION_BYTES = 1 << 30;

/** Longest the syscall loop runs before it lets the event loop (worker events, timers) have a turn. */
const PASS_BUDGET_MS = 4;

/** How long `revoke` waits for a receiver that is in the middle of taking a message (it takes ~100 ns). */
const BUSY_WAIT_LIMIT_MS = 2000;

export class IpcKernel {
  private readonly registry = new CapabilityRegistry({ onRemove: (info, reason) => this.removed.push({ info, reason }) });
  private readonly pds = new Map<number, IpcPd>();
  private readonly names = new Map<string, number>();
  private readonly endpoints = new Map<number, EndpointRecord>();
  private readonly slots = new Map<bigint, SlotRecord>();
  private readonly meta = new Map<bigint, CapMeta>();
  private readonly pdLimits = new Map<number, RateLimits>();
  private readonly regions = new Map<number, SharedArrayBuffer>();
  private removed: { info: CapabilityInfo; reason: RemovalReason }[] = [];
  /** The PD being cleaned up: its own capabilities' slots are marked SENDER_DEAD, not revoked. */
  private dying: number | undefined;
  private nextTransfer = 1;
  private nextBucket = 1;
  private syscalls = 0;
  private readonly scratch = new Int32Array(new SharedArrayBuffer(4));
  private bell: Int32Array | undefined;
  private stopped = false;
  private readonly seenReq = new Map<number, number>();
  private readonly syscallBuckets = new Map<number, RateLimiter>();
  private readonly quotaHits = new Map<string, number>();
  readonly limits: Limits;

  constructor(limits: Limits = DEFAULT_LIMITS) {
    this.limits = limits;
  }

  addPd(pd: IpcPd): void {
    this.pds.set(pd.pid, pd);
    this.names.set(pd.name, pd.pid);
    this.registry.addProcess(pd.pid);
    this.seenReq.set(pd.pid, 0);
    const perSec = this.limits.syscallsPerSec;
    this.syscallBuckets.set(pd.pid, new RateLimiter({ maxMessagesPerSec: perSec, maxBytesPerSec: perSec, burstMultiplier: 1 }));
  }

  /**
   * Starts serving syscalls: the kernel sleeps on `bell` (protocol/layout.ts KERNEL_BELL) and, when it moves,
   * reads the ports of the PDs whose SYSCALL_REQ moved — one request per PD per pass, PDs in turn, so a PD
   * that floods is served no faster than any other and cannot delay another's syscall by more than one pass.
   */
  attachBell(bell: SharedArrayBuffer): void {
    this.bell = new Int32Array(bell);
    void this.serveLoop(this.bell);
  }

  /** Stops the syscall loop (shutdown). */
  stop(): void {
    this.stopped = true;
    if (this.bell !== undefined) {
      Atomics.add(this.bell, KERNEL_BELL_I32.BELL, 1);
      Atomics.notify(this.bell, KERNEL_BELL_I32.BELL);
    }
  }

  private async serveLoop(bell: Int32Array): Promise<void> {
    while (!this.stopped) {
      const seen = Atomics.load(bell, KERNEL_BELL_I32.BELL); // before the pass: a ring after it is not lost
      const started = performance.now();
      // Passes until nothing is left, then yield to the event loop at least every PASS_BUDGET_MS.
      while (this.servePass() && performance.now() - started < PASS_BUDGET_MS);
      if (performance.now() - started >= PASS_BUDGET_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        continue;
      }
      const wait = Atomics.waitAsync(bell, KERNEL_BELL_I32.BELL, seen);
      if (wait.async) await wait.value;
    }
  }

  /** One request from each PD that has one waiting (and tokens in its syscall bucket). True if any was served. */
  private servePass(): boolean {
    let served = false;
    for (const pd of this.pds.values()) {
      const req = Atomics.load(pd.control, CONTROL_I32.SYSCALL_REQ);
      if (req === this.seenReq.get(pd.pid) || !pd.alive()) continue;
      const bucket = this.syscallBuckets.get(pd.pid)!;
      if (!bucket.allows(1, performance.now())) {
        this.quotaHit("syscallsPerSec");
        continue; // its requests wait on its port until its bucket refills; nobody else's do
      }
      this.seenReq.set(pd.pid, req);
      const received = pd.take();
      if (received === undefined) continue; // a SYSCALL_REQ without a request: a false ring
      bucket.take(1);
      served = true;
      this.serveOne(pd, received.message);
    }
    return served;
  }

  /** Answers one syscall of `pd`: posts the reply on its port, then publishes SYSCALL_DONE and wakes it. */
  private serveOne(pd: IpcPd, message: unknown): void {
    const seq = isRecord(message) && typeof message["seq"] === "number" && Number.isInteger(message["seq"]) ? message["seq"] : 0;
    this.syscalls++;
    let reply: KernelToPd;
    try {
      reply = { kind: "reply", seq, ok: true, value: this.handle(pd.pid, message) };
    } catch (error) {
      if (!(error instanceof IpcError)) {
        // Not a refusal: a bug of the kernel's, met while serving this PD. The PD is faulted, the kernel goes on.
        this.faultPd(pd, new IpcError("InvalidArgument", `syscall: the kernel failed serving PD '${pd.name}': ${describe(error)}`, { operation: "syscall", pd: pd.name }, { cause: error }));
        return;
      }
      reply = { kind: "reply", seq, ok: false, error: serializeError(error, { stack: false }) };
    }
    // One request at a time: the runtime posts its next syscall only after it saw SYSCALL_DONE for this one,
    // so another request on the port now is a PD writing against the protocol (a flood): it is faulted.
    const extra = pd.take();
    if (extra !== undefined) {
      this.faultPd(pd, new IpcError("InvalidArgument", `syscall: PD '${pd.name}' posted another syscall before its syscall ${seq} was answered (one at a time)`, { operation: "syscall", pd: pd.name }));
      return;
    }
    try {
      pd.post(reply);
    } catch (error) {
      // A value the port cannot carry (only a kernel bug makes one): the PD gets a typed error, not a hang.
      pd.post({ kind: "reply", seq, ok: false, error: serializeError(new IpcError("InvalidArgument", `syscall: the reply could not be sent: ${describe(error)}`, { operation: "syscall" }), { stack: false }) });
    }
    Atomics.store(pd.control, CONTROL_I32.SYSCALL_DONE, seq); // publishes: the reply is on the port
    if (Atomics.load(pd.control, CONTROL_I32.SYSCALL_SLEEPING) !== 0) Atomics.notify(pd.control, CONTROL_I32.SYSCALL_DONE);
  }

  private faultPd(pd: IpcPd, error: IpcError): void {
    this.quotaHit("protocol");
    try {
      pd.fault(error);
    } catch {
      // the system's fault handling is the kernel's own code; whatever it throws must not end the syscall loop
    }
  }

  /** Counts a quota hit (or a protocol violation) by name, for `stats().quotaHits`. */
  quotaHit(limit: keyof Limits | "protocol"): void {
    this.quotaHits.set(limit, (this.quotaHits.get(limit) ?? 0) + 1);
  }

  /** Carries out one syscall for `pid`. Throws a typed `IpcError` for anything malformed or not allowed. */
  handle(pid: number, message: unknown): unknown {
    const request = parseRequest(message);
    try {
      return this.run(pid, request);
    } finally {
      this.settleRemovals();
    }
  }

  private run(pid: number, request: SyscallRequest): unknown {
    switch (request.op) {
      case "create-endpoint": {
        // ["create-endpoint"] -> { grant, guard }
        const cap = this.registry.createObject(pid, "endpoint");
        const guard = new SharedArrayBuffer(GUARD_BYTES);
        this.endpoints.set(cap.object, { id: cap.object, owner: pid, guard, guardI32: new Int32Array(guard), capacity: 0, nextIndex: 0, closed: false });
        this.meta.set(cap.token, { badge: 0, limits: [] });
        return { grant: this.grantOf(cap), guard };
      }
      case "create-channel": {
        // ["create-channel", capacity] -> { grant, guard }
        const capacity = request.capacity;
        if (!Number.isInteger(capacity) || capacity < 1 || capacity > MAX_QUEUE_CAPACITY) {
          throw new IpcError("InvalidArgument", `createChannel: capacity must be 1..${MAX_QUEUE_CAPACITY} messages (got ${String(capacity)})`, {
            operation: "createChannel",
          });
        }
        const cap = this.registry.createObject(pid, "channel");
        const guard = new SharedArrayBuffer(GUARD_BYTES);
        const entries = 2 ** Math.ceil(Math.log2(capacity));
        this.endpoints.set(cap.object, { id: cap.object, owner: pid, guard, guardI32: new Int32Array(guard), capacity: entries, nextIndex: 0, closed: false });
        this.meta.set(cap.token, { badge: 0, limits: [] });
        return { grant: this.grantOf(cap), guard };
      }
      case "connect": // ["connect", token] -> SlotGrant
        return this.connect(pid, request.token);
      case "derive": {
        // ["derive", token, rights, badge?, limits?] -> CapabilityGrant
        this.registry.check(pid, request.token, 0, "derive"); // first: nothing about a token the caller lacks leaks
        const parent = this.metaOf(request.token);
        if (request.badge !== undefined) {
          if (!Number.isInteger(request.badge) || request.badge < 0 || request.badge > 0xffff_ffff) {
            throw new IpcError("InvalidArgument", `derive: a badge is a u32 (got ${String(request.badge)})`, { operation: "derive" });
          }
          if (parent.badge !== 0 && request.badge !== parent.badge) {
            throw new IpcError("PermissionDenied", `derive: capability 0x${request.token.toString(16)} is already badged ${parent.badge}; a badge is set once`, {
              operation: "derive",
              capability: request.token,
            });
          }
        }
        const child = this.registry.derive(pid, request.token, request.rights, "derive");
        // A child is held to its own limits and to every ancestor's: it shares their buckets, so deriving (or
        // granting) cannot be used to get a fresh one.
        const limits =
          request.limits === undefined
            ? parent.limits
            : [...parent.limits, { id: this.nextBucket++, limits: validateRateLimits(request.limits, "derive") }];
        this.meta.set(child.token, { badge: request.badge ?? parent.badge, limits });
        return this.grantOf(child);
      }
      case "revoke": // ["revoke", token] -> { count }
        return { count: this.registry.revoke(pid, request.token, "revoke") };
      case "close": {
        // ["close", token] -> null; closing the receiving capability of one's own endpoint closes the endpoint
        const object = this.registry.objectOf(pid, request.token);
        const cap = this.registry.check(pid, request.token, 0, "close");
        if (object !== undefined && object.kind !== "region" && object.owner === pid && (cap.rights & Rights.RECEIVE) !== 0) {
          const endpoint = this.endpoints.get(object.id);
          if (endpoint !== undefined) endpoint.closed = true;
          this.registry.destroyObject(pid, request.token, "close");
        } else {
          this.registry.close(pid, request.token, "close");
        }
        return null;
      }
      case "check": // ["check", token, rights] -> CapabilityGrant
        return this.grantOf(this.registry.check(pid, request.token, request.rights, "check"));
      case "grant": {
        // ["grant", token, to, rights, name?, move] -> { token }
        const to = this.pidOf(request.to, "grant");
        this.refuseForeignReceive(pid, request.token, to, request.rights, "grant");
        const source = this.metaOf(request.token);
        const [token] = this.registry.grant(pid, to, [request.token], { rights: request.rights, move: request.move }, "grant");
        this.meta.set(token!, source);
        const grant = this.grantOf(this.registry.check(to, token!, 0, "grant"));
        this.mail(to, { kind: "named", name: request.name ?? "", grant });
        return { token };
      }
      case "transfer": {
        // ["transfer", through, tokens, move] -> { transfer }
        const slot = this.slots.get(request.through);
        if (slot?.holder !== pid) {
          throw new IpcError("InvalidCapability", "send: capabilities can only be carried through a connected sending capability", {
            operation: "send",
            capability: request.through,
          });
        }
        const receiver = slot.endpoint.owner;
        for (const token of request.tokens) this.refuseForeignReceive(pid, token, receiver, undefined, "send");
        const sources = request.tokens.map((t) => this.metaOf(t));
        const tokens = this.registry.grant(pid, receiver, request.tokens, { move: request.move, through: request.through }, "send");
        const grants = tokens.map((token, i) => {
          this.meta.set(token, sources[i]!);
          return this.grantOf(this.registry.check(receiver, token, 0, "send"));
        });
        const id = this.nextTransfer++;
        this.mail(receiver, { kind: "transfer", id, endpoint: slot.endpoint.id, index: slot.index, grants });
        return { transfer: id };
      }
      case "pid": // ["pid", name] -> { pid }
        return { pid: this.pidOf(request.name, "pid") };
      case "create-region": {
        // ["create-region", size] -> { grant, buffer }
        if (!Number.isInteger(request.size) || request.size < 1 || request.size > MAX_REGION_BYTES) {
          throw new IpcError("InvalidMemoryRegion", `createRegion: size must be 1..${MAX_REGION_BYTES} bytes (got ${String(request.size)})`, {
            operation: "createRegion",
          });
        }
        const cap = this.registry.createObject(pid, "region");
        const buffer = new SharedArrayBuffer(request.size);
        this.regions.set(cap.object, buffer);
        this.meta.set(cap.token, { badge: 0, limits: [] });
        return { grant: this.grantOf(cap), buffer };
      }
      case "map": {
        // ["map", token] -> RegionGrant
        const cap = this.registry.check(pid, request.token, Rights.RECEIVE, "mapRegion");
        const buffer = this.regions.get(cap.object);
        if (cap.kind !== "region" || buffer === undefined) {
          throw new IpcError("InvalidMemoryRegion", `mapRegion: capability 0x${request.token.toString(16)} names no shared region`, {
            operation: "mapRegion",
            capability: request.token,
          });
        }
        return { object: cap.object, buffer, writable: (cap.rights & Rights.SEND) !== 0 };
      }
      case "move-buffer": {
        // ["move-buffer", to, name, buffer] -> null: the buffer was detached in the sender by the transfer
        const to = this.pidOf(request.to, "moveBuffer");
        this.mail(to, { kind: "buffer", name: request.name, buffer: request.buffer, from: this.pds.get(pid)!.name }, [request.buffer]);
        return null;
      }
    }
  }

  /** The sending slot of `token` in `pid`'s space, made at first use and announced to the receiver. */
  private connect(pid: number, token: bigint): SlotGrant {
    const cap = this.registry.check(pid, token, Rights.SEND, "send");
    const endpoint = this.endpoints.get(cap.object);
    if (endpoint === undefined || (cap.kind !== "endpoint" && cap.kind !== "channel")) {
      throw new IpcError("EndpointNotFound", `send: capability 0x${token.toString(16)} names no endpoint`, { operation: "send", capability: token });
    }
    const receiver = this.pds.get(endpoint.owner)!;
    let slot = this.slots.get(token);
    if (slot?.holder !== pid) {
      if (endpoint.nextIndex >= MAX_SLOTS) {
        throw new IpcError("OutOfMemory", `send: endpoint ${endpoint.id} has had ${MAX_SLOTS} sending capabilities; create a new endpoint`, {
          operation: "send",
          endpoint: endpoint.id,
        });
      }
      const buffer = new SharedArrayBuffer(endpoint.capacity === 0 ? SLOT_BYTES : queueBytes(endpoint.capacity));
      const i32 = new Int32Array(buffer);
      i32[SLOT_I32.MAGIC] = endpoint.capacity === 0 ? SLOT_MAGIC : QUEUE_MAGIC;
      i32[SLOT_I32.SLOT_INDEX] = endpoint.nextIndex;
      i32[QUEUE_I32.CAPACITY] = endpoint.capacity;
      slot = { endpoint, index: endpoint.nextIndex++, holder: pid, buffer, i32 };
      this.slots.set(token, slot);
      Atomics.store(endpoint.guardI32, GUARD_I32.STATUS + slot.index, SlotStatus.LIVE);
      const meta = this.metaOf(token);
      this.mail(endpoint.owner, {
        kind: "slot",
        endpoint: endpoint.id,
        index: slot.index,
        slot: buffer,
        capacity: endpoint.capacity,
        badge: meta.badge,
        sender: this.pds.get(pid)!.name,
        capLimits: meta.limits,
        pdLimits: this.pdLimits.get(pid),
      });
    }
    return {
      endpoint: endpoint.id,
      capacity: endpoint.capacity,
      index: slot.index,
      slot: slot.buffer,
      receiverDoorbell: receiver.doorbell,
      receiver: receiver.name,
    };
  }

  /**
   * A PD is gone: every capability it held goes (its slots are marked SENDER_DEAD), every endpoint it received
   * on closes, and every PD blocked sending to or calling it wakes with `PeerDied`.
   */
  cleanupProcess(pid: number): void {
    if (!this.pds.has(pid)) return;
    this.dying = pid;
    try {
      for (const endpoint of this.endpoints.values()) if (endpoint.owner === pid) endpoint.closed = true;
      this.registry.cleanupProcess(pid);
      this.settleRemovals();
    } finally {
      this.dying = undefined;
    }
    this.pdLimits.delete(pid);
  }

  /** Receiver-enforced limits on everything `pd` sends (undefined removes them). */
  setRateLimits(pd: string | number, limits: RateLimits | undefined): void {
    const pid = this.pidOf(pd, "setRateLimits");
    const checked = limits === undefined ? undefined : validateRateLimits(limits, "setRateLimits");
    if (checked === undefined) this.pdLimits.delete(pid);
    else this.pdLimits.set(pid, checked);
    const name = this.pds.get(pid)!.name;
    const receivers = new Set([...this.endpoints.values()].filter((e) => !e.closed).map((e) => e.owner));
    for (const receiver of receivers) this.mail(receiver, { kind: "limits", sender: name, limits: checked });
  }

  stats(): IpcKernelStats {
    let endpointsLive = 0;
    for (const e of this.endpoints.values()) if (!e.closed) endpointsLive++;
    return { ...this.registry.stats(), endpointsLive, slotsLive: this.slots.size, syscalls: this.syscalls };
  }

  // ---- retiring slots -----------------------------------------------------------------------------------

  private settleRemovals(): void {
    if (this.removed.length === 0) return;
    const removed = this.removed;
    this.removed = [];
    const retiring: { slot: SlotRecord; gone: number }[] = [];
    for (const { info, reason } of removed) {
      // A moved capability lives on, same token, in another space: it keeps its badge and its rate limits.
      if (reason !== "moved") this.meta.delete(info.token);
      if (reason === "destroyed" && info.kind === "region") this.regions.delete(info.object);
      const slot = this.slots.get(info.token);
      if (slot?.holder !== info.holder) continue;
      this.slots.delete(info.token);
      const ownerDead = !this.isAlive(slot.endpoint.owner) || this.dying === slot.endpoint.owner;
      const gone = reason === "destroyed" ? (ownerDead ? SlotGone.RECEIVER_DIED : SlotGone.ENDPOINT_CLOSED) : SlotGone.CAPABILITY_REVOKED;
      const status = this.dying === info.holder ? SlotStatus.SENDER_DEAD : SlotStatus.REVOKED;
      Atomics.store(slot.endpoint.guardI32, GUARD_I32.STATUS + slot.index, status); // the receiver takes nothing more
      retiring.push({ slot, gone });
    }
    for (const { slot } of retiring) this.waitUntilNotTaking(slot);
    for (const { slot, gone } of retiring) {
      const i32 = slot.i32;
      Atomics.store(i32, SLOT_I32.GONE, gone);
      if (slot.endpoint.capacity !== 0) {
        // A queue: what is still queued is never taken (the guard says so); a sender waiting for room wakes.
        Atomics.notify(i32, QUEUE_I32.TAIL);
        continue;
      }
      if (gone === SlotGone.CAPABILITY_REVOKED) {
        // A call already taken is answered as usual; a message not yet taken is refused; an idle slot closes.
        // DELIVERED / REPLIED / REFUSED stay: the sender has yet to see how its last message ended, and its next
        // one sees GONE (set above) or is refused by the receiver's guard check.
        // (A CALLED slot is left to the receiver: it may have taken the call, which it then answers; if not,
        // its guard check refuses it.)
        i32[SLOT_I32.ERROR] = Refusal.REVOKED;
        Atomics.compareExchange(i32, SLOT_I32.STATE, SlotState.SENT, SlotState.REFUSED);
        Atomics.compareExchange(i32, SLOT_I32.STATE, SlotState.IDLE, SlotState.CLOSED);
      } else {
        // The receiver is gone: nothing will answer. The slot closes whatever its state, so that a sender can
        // never publish into it again; CLOSED_FROM keeps what it closed from, written before the CAS that
        // publishes CLOSED, so a sender that missed DELIVERED, REPLIED or REFUSED still learns how its message
        // ended (a send taken just before the endpoint closed was delivered, not refused).
        for (;;) {
          const state = Atomics.load(i32, SLOT_I32.STATE);
          Atomics.store(i32, SLOT_I32.CLOSED_FROM, state);
          if (Atomics.compareExchange(i32, SLOT_I32.STATE, state, SlotState.CLOSED) === state) break;
        }
      }
      Atomics.notify(i32, SLOT_I32.STATE);
    }
  }

  /** Waits while the endpoint's receiver is taking a message from `slot` (a few loads; bounded regardless). */
  private waitUntilNotTaking(slot: SlotRecord): void {
    const guard = slot.endpoint.guardI32;
    if (!this.isAlive(slot.endpoint.owner) || this.dying === slot.endpoint.owner) return;
    const limit = performance.now() + BUSY_WAIT_LIMIT_MS;
    for (let i = 1; Atomics.load(guard, GUARD_I32.BUSY) === slot.index + 1; i++) {
      if ((i & 1023) === 0) {
        if (performance.now() > limit) return; // a receiver descheduled mid-take for seconds: give up waiting
        Atomics.wait(this.scratch, 0, 0, 0.05);
      }
    }
  }

  // ---- helpers ------------------------------------------------------------------------------------------

  private mail(pid: number, mail: KernelMail, transfer?: readonly ArrayBuffer[]): void {
    const pd = this.pds.get(pid);
    if (pd === undefined || !pd.alive()) return;
    pd.post(mail, transfer);
    Atomics.add(pd.control, CONTROL_I32.MAIL, 1); // publishes: the mail is on the port
    const doorbell = new Int32Array(pd.doorbell);
    if (Atomics.load(doorbell, DOORBELL_I32.SLEEPING) !== 0) {
      Atomics.store(doorbell, DOORBELL_I32.RING, 1);
      Atomics.notify(doorbell, DOORBELL_I32.RING);
    }
  }

  private metaOf(token: bigint): CapMeta {
    return this.meta.get(token) ?? { badge: 0, limits: [] };
  }

  private grantOf(cap: CapabilityInfo): CapabilityGrant {
    return { token: cap.token, rights: cap.rights, kind: cap.kind, object: cap.object, badge: this.metaOf(cap.token).badge };
  }

  private pidOf(pd: string | number, operation: string): number {
    const pid = typeof pd === "number" ? pd : this.names.get(pd);
    if (pid === undefined || !this.pds.has(pid) || !this.isAlive(pid)) {
      throw new IpcError("ProcessNotFound", `${operation}: no running protection domain ${JSON.stringify(pd)}`, { operation });
    }
    return pid;
  }

  private isAlive(pid: number): boolean {
    return this.pds.get(pid)?.alive() === true;
  }

  /** An endpoint is received by the PD that created it: RECEIVE cannot be handed to another PD. */
  private refuseForeignReceive(pid: number, token: bigint, to: number, rights: number | undefined, operation: string): void {
    const cap = this.registry.check(pid, token, 0, operation);
    const effective = rights ?? cap.rights;
    const object = this.registry.objectOf(pid, token);
    if (object !== undefined && object.kind !== "region" && object.owner !== to && (effective & Rights.RECEIVE) !== 0 && isSubset(effective, cap.rights)) {
      throw new IpcError(
        "PermissionDenied",
        `${operation}: endpoint ${object.id} is received only by the PD that created it; derive a capability without RECEIVE to share it (none was granted)`,
        { operation, capability: token, endpoint: object.id },
      );
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : typeof error;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

const isToken = (v: unknown): v is bigint => typeof v === "bigint";
const isRights = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 0xffff;

/** Deny by default: a syscall from a PD is untrusted input. Anything not exactly a known request is refused. */
function parseRequest(message: unknown): SyscallRequest {
  const bad = (why: string): IpcError => new IpcError("InvalidArgument", `syscall: ${why}`, { operation: "syscall" });
  if (!isRecord(message) || typeof message["op"] !== "string") throw bad("not a request");
  const m = message as Partial<SyscallMessage> & Record<string, unknown>;
  switch (m.op) {
    case "create-endpoint":
      return { op: "create-endpoint" };
    case "create-channel":
      if (typeof m.capacity !== "number") throw bad("create-channel needs a capacity");
      return { op: "create-channel", capacity: m.capacity };
    case "connect":
    case "revoke":
    case "close":
      if (!isToken(m.token)) throw bad(`${m.op} needs a capability token`);
      return { op: m.op, token: m.token };
    case "check":
      if (!isToken(m.token) || !isRights(m.rights)) throw bad("check needs a token and rights");
      return { op: "check", token: m.token, rights: m.rights };
    case "derive": {
      if (!isToken(m.token) || !isRights(m.rights)) throw bad("derive needs a token and rights");
      const badge = m.badge;
      const limits = m.limits;
      if (badge !== undefined && typeof badge !== "number") throw bad("derive: badge must be a number");
      if (limits !== undefined && !isRecord(limits)) throw bad("derive: limits must be RateLimits");
      return {
        op: "derive",
        token: m.token,
        rights: m.rights,
        ...(badge === undefined ? {} : { badge }),
        ...(limits === undefined ? {} : { limits: limits as unknown as RateLimits }),
      };
    }
    case "grant": {
      const to = m.to;
      if (!isToken(m.token) || !isRights(m.rights) || (typeof to !== "string" && typeof to !== "number")) throw bad("grant needs a token, a target PD and rights");
      if (m.name !== undefined && typeof m.name !== "string") throw bad("grant: name must be a string");
      return { op: "grant", token: m.token, to, rights: m.rights, move: m.move === true, ...(m.name === undefined ? {} : { name: m.name }) };
    }
    case "transfer": {
      const tokens = m.tokens;
      if (!isToken(m.through) || !Array.isArray(tokens) || !tokens.every(isToken) || tokens.length > 64) {
        throw bad("transfer needs a token to send through and at most 64 tokens");
      }
      return { op: "transfer", through: m.through, tokens, move: m.move === true };
    }
    case "pid":
      if (typeof m.name !== "string" && typeof m.name !== "number") throw bad("pid needs a PD name or pid");
      return { op: "pid", name: m.name };
    case "create-region":
      if (typeof m.size !== "number") throw bad("create-region needs a size");
      return { op: "create-region", size: m.size };
    case "map":
      if (!isToken(m.token)) throw bad("map needs a capability token");
      return { op: "map", token: m.token };
    case "move-buffer": {
      const to = m.to;
      if (typeof to !== "string" && typeof to !== "number") throw bad("move-buffer needs a target PD");
      if (typeof m.name !== "string") throw bad("move-buffer needs a name");
      // An ArrayBuffer, never a SharedArrayBuffer: only an ArrayBuffer can be moved (detached from its sender).
      if (!(m.buffer instanceof ArrayBuffer)) throw bad("move-buffer moves an ArrayBuffer (a SharedArrayBuffer cannot be taken back)");
      return { op: "move-buffer", to, name: m.name, buffer: m.buffer };
    }
    default:
      throw bad(`unknown operation ${JSON.stringify(m.op)}`);
  }
}
