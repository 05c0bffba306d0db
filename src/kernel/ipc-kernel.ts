/**
 * The kernel's half of the IPC layer: it holds every capability space (caps/space.ts), makes endpoints and
 * their senders' slots, answers syscalls, carries out derive / grant / revoke / close, and cleans up after a
 * PD that died. It is never on the path of a message.
 *
 * Every syscall is checked against the calling PD's own capability space before anything changes, and every
 * operation either completes or changes nothing (the registry's all-or-nothing grant).
 *
 * When a capability leaves a space (closed, revoked, moved, its endpoint closed, its holder dead) the slot it
 * was connected to is retired (protocol/endpoint.ts): the guard's STATUS is exchanged first, so the receiver
 * takes nothing more from it (a take in progress either committed before, or fails its commit); then the slot
 * itself, so a sender blocked in it wakes with an error. The kernel never waits on memory a PD can write.
 * After `revoke` returns, no message is taken through any revoked capability, including one already waiting.
 *
 * Authority follows capabilities, never names: a PD may grant into another only if they are connected by the
 * system description (a channel, parent/child) or by an endpoint (one holds a connected sending capability to
 * the other's endpoint); a name, once granted, is never replaced. Capabilities carried by a message wait in
 * the kernel (in transit, in a space of the kernel's own, still in the derivation tree so a revoke reaches
 * them) until the receiver claims them as it takes the message; moved buffers wait in the kernel until the
 * receiver takes them. Every such holding is bounded per receiver (protocol/limits.ts).
 */

import { IpcError, serializeError } from "../errors.ts";
import { CapabilityRegistry, type CapabilityInfo, type RegistryStats, type RemovalReason } from "../caps/space.ts";
import { isSubset, Rights } from "../caps/token.ts";
import { CONTROL_I32, KERNEL_BELL_I32 } from "../protocol/layout.ts";
import { ringDoorbell } from "../shm/doorbell.ts";
import { createRing, RING_LAYOUT, wakeRing } from "../shm/ring.ts";
import {
  GUARD_BYTES,
  GUARD_I32,
  MAX_QUEUE_CAPACITY,
  MAX_SLOTS,
  QUEUE_I32,
  QUEUE_ENTRY_BYTES,
  Refusal,
  SLOT_BYTES,
  SLOT_GENERATION_MASK,
  SLOT_I32,
  SLOT_MAGIC,
  SlotGone,
  SlotState,
  SlotStatus,
  slotStatus,
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
  /** Indices never used yet start here; `free` holds used ones whose capability is gone. */
  nextIndex: number;
  readonly free: number[];
  /** The generation last given to each index (STATUS bits 3-31). */
  readonly generations: Uint32Array;
  /** The slot at each index now. */
  readonly byIndex: Map<number, SlotRecord>;
  /** Live slots per sender PD (Limits.slotsPerSenderPerEndpoint). */
  readonly perSender: Map<number, number>;
  closed: boolean;
}

interface SlotRecord {
  readonly endpoint: EndpointRecord;
  readonly index: number;
  readonly generation: number;
  readonly holder: number;
  readonly buffer: SharedArrayBuffer;
  readonly i32: Int32Array;
  /** Transfers made through this slot and not yet claimed, oldest first (at most TRANSFERS_PER_SLOT). */
  readonly pending: PendingTransfer[];
}

/** Capabilities carried by a message, in transit: held in the kernel's own space until the receiver claims them. */
interface PendingTransfer {
  readonly id: number;
  readonly tokens: readonly bigint[];
}

interface CapMeta {
  readonly badge: number;
  /** The limits of this capability and of its ancestors, each with its bucket's id. */
  readonly limits: readonly LimitedBucket[];
  /** The PD that granted it into its holder's space by `grant` (counted against Limits.grantedCapabilitiesPerSender). */
  readonly grantedBy?: number;
  /** The name it was granted under (held in the holder's names until it leaves). */
  readonly name?: string;
}

export interface IpcKernelStats extends RegistryStats {
  readonly endpointsLive: number;
  readonly slotsLive: number;
  readonly syscalls: number;
  /** How often each quota of protocol/limits.ts was hit ("protocol": PDs faulted for breaking the syscall protocol). */
  readonly quotaHits: Readonly<Record<string, number>>;
}

/** A syscall's value that moves ArrayBuffers to the caller with the reply. */
class Transferred {
  readonly value: unknown;
  readonly transfer: readonly ArrayBuffer[];
  constructor(value: unknown, transfer: readonly ArrayBuffer[]) {
    this.value = value;
    this.transfer = transfer;
  }
}

/** The kernel's own space: capabilities in transit (carried by a message not yet taken). */
const IN_TRANSIT = 0;

/**
 * Transfers a slot keeps for its receiver: the one of the message being taken and, because a sender may make
 * its next transfer as soon as it sees DELIVERED, one more. An older one belongs to a message that was
 * refused or withdrawn (or to a sender writing against the protocol): its capabilities are dropped.
 */
const TRANSFERS_PER_SLOT = 2;

/** The largest shared region a PD may create. */
const MAX_REGION_BYTES = 1 << 30;

/** Longest the syscall loop runs before it lets the event loop (worker events, timers) have a turn. */
const PASS_BUDGET_MS = 4;

export class IpcKernel {
  private readonly registry: CapabilityRegistry;
  private readonly pds = new Map<number, IpcPd>();
  private readonly names = new Map<string, number>();
  private readonly endpoints = new Map<number, EndpointRecord>();
  /** By `key(holder, token)`: tokens are unique only within their holder's space. */
  private readonly slots = new Map<string, SlotRecord>();
  private readonly meta = new Map<string, CapMeta>();
  private readonly pdLimits = new Map<number, RateLimits>();
  private readonly regions = new Map<number, { readonly buffer: SharedArrayBuffer; readonly owner: number }>();
  /**
   * The liveness word of each region capability mapped (by `key(holder, token)`): 1 while the capability is in
   * its holder's space, 0 from the moment it leaves (settle). The holder's runtime reads it before every access
   * of a guarded view, so a revoke by another PD binds on mappings made earlier (docs/confinement.md). One
   * word per mapped capability, made at its first map: bounded by the holder's capability quota.
   */
  private readonly liveWords = new Map<string, Int32Array>();
  /** Bytes of live regions each PD created (Limits.regionBytesPerPd). */
  private readonly regionBytes = new Map<number, number>();
  /** Names granted into each PD: name -> the token it names there. Never replaced while it lives. */
  private readonly granted = new Map<number, Map<string, bigint>>();
  /**
   * What one PD holds for another, by `pair(from, to)`: capabilities granted and still held (Limits.
   * grantedCapabilitiesPerSender), transfers not yet claimed (pendingTransfersPerSender), bytes of moved buffers
   * not yet taken (movedBufferBytesPerSender). Per pair, so that one sender using up its quota toward a receiver
   * leaves every other sender's untouched.
   */
  private readonly grantedCount = new Map<string, number>();
  private readonly pendingCount = new Map<string, number>();
  private readonly movedBytes = new Map<string, number>();
  /** Buffers moved to each PD and not yet taken, oldest first. */
  private readonly moved = new Map<number, { readonly name: string; readonly buffer: ArrayBuffer; readonly from: number }[]>();
  /** Connected slots from one PD to another's endpoints: `${sender}>${receiver}` -> count. */
  private readonly links = new Map<string, number>();
  private removed: { info: CapabilityInfo; reason: RemovalReason }[] = [];
  /** The PD being cleaned up: its own capabilities' slots are marked SENDER_DEAD, not revoked. */
  private dying: number | undefined;
  /** The PD being cleaned up is restarted: its senders' slots say RECEIVER_RESTARTED, not RECEIVER_DIED. */
  private dyingRestarts = false;
  private nextTransfer = 1;
  private nextBucket = 1;
  private syscalls = 0;
  private bell: Int32Array | undefined;
  private stopped = false;
  private readonly seenReq = new Map<number, number>();
  private readonly syscallBuckets = new Map<number, RateLimiter>();
  private readonly quotaHits = new Map<string, number>();
  readonly limits: Limits;

  constructor(limits: Limits = DEFAULT_LIMITS) {
    this.limits = limits;
    this.registry = new CapabilityRegistry({
      onRemove: (info, reason) => this.removed.push({ info, reason }),
      maxCapabilitiesPerPd: limits.capabilitiesPerPd,
      maxDerivationDepth: limits.derivationDepth,
      maxObjectsPerPd: limits.objectsPerPd,
      describePd: (pid) => (pid === IN_TRANSIT ? "the kernel" : `PD '${this.pds.get(pid)?.name ?? String(pid)}'`),
    });
    this.registry.addProcess(IN_TRANSIT, { unlimited: true });
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
    let transfer: readonly ArrayBuffer[] = [];
    try {
      const value = this.handle(pd.pid, message);
      if (value instanceof Transferred) {
        transfer = value.transfer;
        reply = { kind: "reply", seq, ok: true, value: value.value };
      } else {
        reply = { kind: "reply", seq, ok: true, value };
      }
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
      pd.post(reply, transfer);
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

  /**
   * Told of every syscall carried out (not of refused ones), after it was: the observer of kernel/stats.ts logs
   * capability operations for the dashboard. It must not throw.
   */
  observe: ((pid: number, request: SyscallRequest, result: unknown) => void) | undefined;

  /** The current descriptor of a PD's end of an async channel (kernel/async-channels.ts `current`), set by the system. */
  asyncEnd: ((pd: string, name: string, role: "producer" | "consumer") => unknown) | undefined;

  /** How many capabilities PD `pid` holds now. */
  capabilityCount(pid: number): number {
    return this.registry.count(pid);
  }

  /** Carries out one syscall for `pid`. Throws a typed `IpcError` for anything malformed or not allowed. */
  handle(pid: number, message: unknown): unknown {
    const request = parseRequest(message, this.limits.maxStringLength);
    try {
      const result = this.run(pid, request);
      this.observe?.(pid, request, result);
      return result;
    } finally {
      this.settleRemovals();
    }
  }

  private run(pid: number, request: SyscallRequest): unknown {
    switch (request.op) {
      case "create-endpoint": // ["create-endpoint"] -> { grant, guard }
        return this.createEndpoint(pid, "endpoint", 0);
      case "create-channel": {
        // ["create-channel", capacity] -> { grant, guard }
        const capacity = request.capacity;
        if (!Number.isInteger(capacity) || capacity < 1 || capacity > MAX_QUEUE_CAPACITY) {
          throw new IpcError("InvalidArgument", `createChannel: capacity must be 1..${MAX_QUEUE_CAPACITY} messages (got ${String(capacity)})`, {
            operation: "createChannel",
          });
        }
        return this.createEndpoint(pid, "channel", 2 ** Math.ceil(Math.log2(capacity)));
      }
      case "connect": // ["connect", token] -> SlotGrant
        return this.connect(pid, request.token);
      case "derive": {
        // ["derive", token, rights, badge?, limits?] -> CapabilityGrant
        this.registry.check(pid, request.token, 0, "derive"); // first: nothing about a token the caller lacks leaks
        const parent = this.metaOf(pid, request.token);
        // Everything is checked before the registry is touched: a refused derive leaves nothing behind.
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
        const limits = request.limits === undefined ? undefined : validateRateLimits(request.limits, "derive");
        const child = this.registry.derive(pid, request.token, request.rights, "derive");
        // A child is held to its own limits and to every ancestor's: it shares their buckets, so deriving (or
        // granting) cannot be used to get a fresh one.
        const buckets = limits === undefined ? parent.limits : [...parent.limits, { id: this.nextBucket++, limits }];
        this.meta.set(key(pid, child.token), { badge: request.badge ?? parent.badge, limits: buckets });
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
      case "grant": // ["grant", token, to, rights, name?, move] -> { token }
        return this.grant(pid, request.token, request.to, request.rights, request.name ?? "", request.move);
      case "transfer": // ["transfer", through, tokens, move] -> { transfer }
        return this.transfer(pid, request.through, request.tokens, request.move);
      case "claim": // ["claim", endpoint, index, transfer] -> { grants }
        return this.claim(pid, request.endpoint, request.index, request.transfer);
      case "pid": // ["pid", name] -> { pid }
        return { pid: this.pidOf(request.name, "pid") };
      case "create-region": {
        // ["create-region", size] -> { grant, buffer }
        if (!Number.isInteger(request.size) || request.size < 1 || request.size > MAX_REGION_BYTES) {
          throw new IpcError("InvalidMemoryRegion", `createRegion: size must be 1..${MAX_REGION_BYTES} bytes (got ${String(request.size)})`, {
            operation: "createRegion",
          });
        }
        const used = this.regionBytes.get(pid) ?? 0;
        if (used + request.size > this.limits.regionBytesPerPd) {
          this.quotaHit("regionBytesPerPd");
          throw new IpcError(
            "OutOfMemory",
            `createRegion: PD '${this.nameOf(pid)}' has ${used} bytes of regions; ${request.size} more would pass its quota of ${this.limits.regionBytesPerPd} (Limits.regionBytesPerPd); close regions it no longer uses`,
            { operation: "createRegion" },
          );
        }
        const cap = this.registry.createObject(pid, "region");
        const buffer = new SharedArrayBuffer(request.size);
        this.regions.set(cap.object, { buffer, owner: pid });
        this.regionBytes.set(pid, used + request.size);
        this.meta.set(key(pid, cap.token), { badge: 0, limits: [] });
        return { grant: this.grantOf(cap), buffer };
      }
      case "map": {
        // ["map", token] -> RegionGrant
        const cap = this.registry.check(pid, request.token, Rights.RECEIVE, "mapRegion");
        const region = this.regions.get(cap.object);
        if (cap.kind !== "region" || region === undefined) {
          throw new IpcError("InvalidMemoryRegion", `mapRegion: capability 0x${request.token.toString(16)} names no shared region`, {
            operation: "mapRegion",
            capability: request.token,
          });
        }
        const k = key(pid, request.token);
        let live = this.liveWords.get(k);
        if (live === undefined) {
          live = new Int32Array(new SharedArrayBuffer(4));
          live[0] = 1; // before the reply carries it: the PD never sees a fresh word at 0
          this.liveWords.set(k, live);
        }
        return { object: cap.object, buffer: region.buffer, writable: (cap.rights & Rights.SEND) !== 0, live: live.buffer };
      }
      case "move-buffer": // ["move-buffer", to, name, buffer] -> null (the buffer was detached in the sender)
        return this.moveBuffer(pid, request.to, request.name, request.buffer);
      case "async-end": {
        // ["async-end", name, role] -> ProducerDescriptor | ConsumerDescriptor
        if (this.asyncEnd === undefined) throw new IpcError("InvalidArgument", `async-end: this system wires no async channels`, { operation: "async-end" });
        return this.asyncEnd(this.nameOf(pid), request.name, request.role);
      }
      case "take-buffer": {
        // ["take-buffer", name] -> { buffer, from }, the buffer moved to the caller
        const queue = this.moved.get(pid) ?? [];
        const i = queue.findIndex((m) => m.name === request.name);
        if (i < 0) {
          throw new IpcError("WouldBlock", `receiveBuffer: no buffer named ${show(request.name)} is waiting for PD '${this.nameOf(pid)}'`, { operation: "receiveBuffer" });
        }
        const [taken] = queue.splice(i, 1);
        bump(this.movedBytes, pair(taken!.from, pid), -taken!.buffer.byteLength);
        return new Transferred({ buffer: taken!.buffer, from: this.nameOf(taken!.from) }, [taken!.buffer]);
      }
    }
  }

  private createEndpoint(pid: number, kind: "endpoint" | "channel", capacity: number): { grant: CapabilityGrant; guard: SharedArrayBuffer } {
    const cap = this.registry.createObject(pid, kind);
    const guard = new SharedArrayBuffer(GUARD_BYTES);
    this.endpoints.set(cap.object, {
      id: cap.object,
      owner: pid,
      guard,
      guardI32: new Int32Array(guard),
      capacity,
      nextIndex: 0,
      free: [],
      generations: new Uint32Array(MAX_SLOTS),
      byIndex: new Map(),
      perSender: new Map(),
      closed: false,
    });
    this.meta.set(key(pid, cap.token), { badge: 0, limits: [] });
    return { grant: this.grantOf(cap), guard };
  }

  /** The sending slot of `token` in `pid`'s space, made at first use and announced to the receiver. */
  private connect(pid: number, token: bigint): SlotGrant {
    const cap = this.registry.check(pid, token, Rights.SEND, "send");
    const endpoint = this.endpoints.get(cap.object);
    if (endpoint === undefined || (cap.kind !== "endpoint" && cap.kind !== "channel")) {
      throw new IpcError("EndpointNotFound", `send: capability 0x${token.toString(16)} names no endpoint`, { operation: "send", capability: token });
    }
    const receiver = this.pds.get(endpoint.owner)!;
    let slot = this.slots.get(key(pid, token));
    if (slot === undefined) {
      const held = endpoint.perSender.get(pid) ?? 0;
      if (held >= this.limits.slotsPerSenderPerEndpoint) {
        this.quotaHit("slotsPerSenderPerEndpoint");
        throw new IpcError(
          "OutOfMemory",
          `send: PD '${this.nameOf(pid)}' already sends through ${held} capabilities to endpoint ${endpoint.id} (Limits.slotsPerSenderPerEndpoint); close capabilities it no longer uses`,
          { operation: "send", capability: token, endpoint: endpoint.id },
        );
      }
      const index = endpoint.free.pop() ?? (endpoint.nextIndex < MAX_SLOTS ? endpoint.nextIndex++ : -1);
      if (index < 0) {
        throw new IpcError("OutOfMemory", `send: endpoint ${endpoint.id} has ${MAX_SLOTS} sending capabilities in use; try again when some are closed`, {
          operation: "send",
          endpoint: endpoint.id,
        });
      }
      const generation = (endpoint.generations[index]! + 1) & SLOT_GENERATION_MASK;
      endpoint.generations[index] = generation;
      // A queue slot is the one SPSC ring (shm/ring.ts) with the queue's words in its header's free bytes.
      const buffer = endpoint.capacity === 0 ? new SharedArrayBuffer(SLOT_BYTES) : createRing({ capacity: endpoint.capacity, slotPayload: QUEUE_ENTRY_BYTES - RING_LAYOUT.SLOT_PAYLOAD });
      const i32 = new Int32Array(buffer);
      if (endpoint.capacity === 0) {
        i32[SLOT_I32.MAGIC] = SLOT_MAGIC;
        i32[SLOT_I32.SLOT_INDEX] = index;
      } else {
        i32[QUEUE_I32.SLOT_INDEX] = index;
      }
      slot = { endpoint, index, generation, holder: pid, buffer, i32, pending: [] };
      this.slots.set(key(pid, token), slot);
      endpoint.byIndex.set(index, slot);
      endpoint.perSender.set(pid, held + 1);
      this.addLink(pid, endpoint.owner, 1);
      Atomics.store(endpoint.guardI32, GUARD_I32.STATUS + index, slotStatus(generation, SlotStatus.LIVE)); // before the mail
      const meta = this.metaOf(pid, token);
      this.mail(endpoint.owner, {
        kind: "slot",
        endpoint: endpoint.id,
        index,
        generation,
        slot: buffer,
        capacity: endpoint.capacity,
        badge: meta.badge,
        sender: this.nameOf(pid),
        capLimits: meta.limits,
        pdLimits: this.pdLimits.get(pid),
      });
    }
    return {
      endpoint: endpoint.id,
      generation: slot.generation,
      capacity: endpoint.capacity,
      index: slot.index,
      slot: slot.buffer,
      receiverDoorbell: receiver.doorbell,
      receiver: receiver.name,
    };
  }

  /**
   * `sys_grant_cap`: installs a capability in PD `toName`'s space. Authority follows capabilities: the granter
   * must reach the receiver (`reaches`); a name already granted there is never replaced; the receiver holds at
   * most Limits.grantedCapabilitiesPerSender capabilities granted this way by each other PD.
   */
  private grant(pid: number, token: bigint, toName: string | number, rights: number, name: string, move: boolean): { token: bigint } {
    const to = this.pidOf(toName, "grant");
    this.registry.check(pid, token, Rights.GRANT, "grant");
    if (to !== pid && !this.reaches(pid, to)) {
      throw new IpcError(
        "PermissionDenied",
        `grant: PD '${this.nameOf(pid)}' holds nothing that reaches PD '${this.nameOf(to)}' (no channel or parent/child relation in the system description, no endpoint between them); send the capability in a message on an endpoint instead`,
        { operation: "grant", capability: token, pd: this.nameOf(to) },
      );
    }
    const names = this.granted.get(to);
    const taken = name === "" ? undefined : names?.get(name);
    if (taken !== undefined) {
      const by = this.meta.get(key(to, taken))?.grantedBy;
      throw new IpcError(
        "PermissionDenied",
        `grant: PD '${this.nameOf(to)}' already holds a capability named ${show(name)}${by === undefined ? "" : ` (granted by PD '${this.nameOf(by)}')`}; a name is never replaced`,
        { operation: "grant", capability: token, pd: this.nameOf(to) },
      );
    }
    const count = this.grantedCount.get(pair(pid, to)) ?? 0;
    if (count >= this.limits.grantedCapabilitiesPerSender) {
      this.quotaHit("grantedCapabilitiesPerSender");
      throw new IpcError(
        "QueueFull",
        `grant: PD '${this.nameOf(to)}' holds ${count} capabilities granted by PD '${this.nameOf(pid)}' (Limits.grantedCapabilitiesPerSender); it must close some first`,
        { operation: "grant", capability: token, pd: this.nameOf(to) },
      );
    }
    this.refuseForeignReceive(pid, token, to, rights, "grant");
    const source = this.metaOf(pid, token);
    const [installed] = this.registry.grant(pid, to, [token], { rights, move }, "grant");
    this.meta.set(key(to, installed!), { badge: source.badge, limits: source.limits, grantedBy: pid, ...(name === "" ? {} : { name }) });
    this.grantedCount.set(pair(pid, to), count + 1);
    if (name !== "") {
      if (names === undefined) this.granted.set(to, new Map([[name, installed!]]));
      else names.set(name, installed!);
    }
    this.mail(to, { kind: "named", name, grant: this.grantOf(this.registry.check(to, installed!, 0, "grant")), from: this.nameOf(pid) });
    return { token: installed! };
  }

  /**
   * Capabilities carried by a message about to be sent through `through`: checked (all or nothing) and put in
   * transit, in the kernel's own space, where the receiver claims them when it takes the message.
   */
  private transfer(pid: number, through: bigint, tokens: readonly bigint[], move: boolean): { transfer: number } {
    const slot = this.slots.get(key(pid, through));
    if (slot === undefined) {
      throw new IpcError("InvalidCapability", "send: capabilities can only be carried through a connected sending capability", {
        operation: "send",
        capability: through,
      });
    }
    const receiver = slot.endpoint.owner;
    for (const token of tokens) this.refuseForeignReceive(pid, token, receiver, undefined, "send");
    const evicts = slot.pending.length >= TRANSFERS_PER_SLOT;
    const pending = this.pendingCount.get(pair(pid, receiver)) ?? 0;
    if (!evicts && pending >= this.limits.pendingTransfersPerSender) {
      this.quotaHit("pendingTransfersPerSender");
      throw new IpcError(
        "QueueFull",
        `send: PD '${this.nameOf(receiver)}' has not yet taken ${pending} messages with capabilities from PD '${this.nameOf(pid)}' (Limits.pendingTransfersPerSender); none was sent`,
        { operation: "send", capability: through, endpoint: slot.endpoint.id },
      );
    }
    const sources = tokens.map((t) => this.metaOf(pid, t));
    const inTransit = this.registry.grant(pid, IN_TRANSIT, tokens, { move, through }, "send");
    inTransit.forEach((t, i) => { this.meta.set(key(IN_TRANSIT, t), { badge: sources[i]!.badge, limits: sources[i]!.limits }); });
    const id = this.nextTransfer++;
    slot.pending.push({ id, tokens: inTransit });
    if (evicts) this.dropTransfer(slot.pending.shift()!);
    else this.pendingCount.set(pair(pid, receiver), pending + 1);
    return { transfer: id };
  }

  /** The receiver took a message carrying transfer `id` from slot `index`: its capabilities move into its space. */
  private claim(pid: number, endpointId: number, index: number, id: number): { grants: CapabilityGrant[] } {
    const endpoint = this.endpoints.get(endpointId);
    if (endpoint?.owner !== pid) {
      throw new IpcError("EndpointNotFound", `receive: PD '${this.nameOf(pid)}' receives on no endpoint ${endpointId}`, { operation: "receive", endpoint: endpointId });
    }
    const slot = endpoint.byIndex.get(index);
    const at = slot?.pending.findIndex((p) => p.id === id) ?? -1;
    if (slot === undefined || at < 0) return { grants: [] }; // withdrawn, replaced, or the slot is gone: nothing to claim
    const older = slot.pending.splice(0, at + 1);
    const transfer = older.pop()!;
    for (const dead of older) this.dropTransfer(dead);
    bump(this.pendingCount, pair(slot.holder, pid), -1 - older.length);
    const live = transfer.tokens.filter((t) => this.registry.objectOf(IN_TRANSIT, t) !== undefined); // a revoke may have reached them
    if (this.registry.count(pid) + live.length > this.limits.capabilitiesPerPd) {
      this.dropTransfer({ id, tokens: live });
      this.quotaHit("capabilitiesPerPd");
      throw new IpcError(
        "OutOfMemory",
        `receive: PD '${this.nameOf(pid)}' has no room for the ${live.length} capabilities the message carried (Limits.capabilitiesPerPd); they were dropped`,
        { operation: "receive", endpoint: endpointId },
      );
    }
    const grants = live.map((t) => {
      const token = this.registry.move(IN_TRANSIT, pid, t, "receive");
      this.meta.set(key(pid, token), this.metaOf(IN_TRANSIT, t));
      return this.grantOf(this.registry.check(pid, token, 0, "receive"));
    });
    return { grants };
  }

  private moveBuffer(pid: number, toName: string | number, name: string, buffer: ArrayBuffer): null {
    const to = this.pidOf(toName, "moveBuffer");
    const refuse = (code: "PermissionDenied" | "QueueFull", why: string): IpcError =>
      new IpcError(code, `moveBuffer: ${why}; the buffer (${buffer.byteLength} bytes) was dropped`, { operation: "moveBuffer", pd: this.nameOf(to) });
    if (to !== pid && !this.reaches(pid, to)) {
      throw refuse("PermissionDenied", `PD '${this.nameOf(pid)}' holds nothing that reaches PD '${this.nameOf(to)}'`);
    }
    const bytes = this.movedBytes.get(pair(pid, to)) ?? 0;
    if (bytes + buffer.byteLength > this.limits.movedBufferBytesPerSender) {
      this.quotaHit("movedBufferBytesPerSender");
      throw refuse("QueueFull", `PD '${this.nameOf(to)}' has not yet taken ${bytes} bytes of buffers moved by PD '${this.nameOf(pid)}' (Limits.movedBufferBytesPerSender)`);
    }
    let queue = this.moved.get(to);
    if (queue === undefined) this.moved.set(to, (queue = []));
    queue.push({ name, buffer, from: pid });
    this.movedBytes.set(pair(pid, to), bytes + buffer.byteLength);
    this.mail(to, { kind: "buffer", name, from: this.nameOf(pid) });
    return null;
  }

  /**
   * Whether `from` holds something that reaches `to`: the description connects them (a channel, or parent and
   * child), or one of them sends through a connected capability to an endpoint of the other.
   */
  private reaches(from: number, to: number): boolean {
    const a = this.pds.get(from);
    const b = this.pds.get(to);
    if (a === undefined || b === undefined) return false;
    if (a.connected.has(b.name) || b.connected.has(a.name)) return true;
    return this.links.has(pair(from, to)) || this.links.has(pair(to, from));
  }

  private addLink(from: number, to: number, delta: number): void {
    bump(this.links, pair(from, to), delta);
  }

  /** Drops capabilities in transit (a message that will never be taken): they leave the kernel's space. */
  private dropTransfer(transfer: PendingTransfer): void {
    for (const token of transfer.tokens) {
      if (this.registry.objectOf(IN_TRANSIT, token) !== undefined) this.registry.close(IN_TRANSIT, token, "send");
    }
  }

  /**
   * A PD is gone: every capability it held goes (its slots are marked SENDER_DEAD), every endpoint it received
   * on closes, and every PD blocked sending to or calling it wakes with `PeerDied` — with `PeerRestarted` if
   * `restarting` (the supervisor starts its next generation; its endpoints go with this one all the same).
   */
  cleanupProcess(pid: number, restarting = false): void {
    if (!this.pds.has(pid)) return;
    this.dying = pid;
    this.dyingRestarts = restarting;
    try {
      for (const endpoint of this.endpoints.values()) if (endpoint.owner === pid) endpoint.closed = true;
      this.registry.cleanupProcess(pid);
      this.settleRemovals();
    } finally {
      this.dying = undefined;
      this.dyingRestarts = false;
    }
    this.pdLimits.delete(pid);
    this.moved.delete(pid);
    this.granted.delete(pid);
    // What others hold for it is gone with it (what it holds for others stays theirs until they take it).
    for (const counts of [this.grantedCount, this.pendingCount, this.movedBytes]) {
      for (const k of counts.keys()) if (k.endsWith(`>${pid}`)) counts.delete(k);
    }
  }

  /** Receiver-enforced limits on everything `pd` sends (undefined removes them). */
  setRateLimits(pd: string | number, limits: RateLimits | undefined): void {
    const pid = this.pidOf(pd, "setRateLimits");
    const checked = limits === undefined ? undefined : validateRateLimits(limits, "setRateLimits");
    if (checked === undefined) this.pdLimits.delete(pid);
    else this.pdLimits.set(pid, checked);
    const name = this.nameOf(pid);
    const receivers = new Set([...this.endpoints.values()].filter((e) => !e.closed).map((e) => e.owner));
    for (const receiver of receivers) this.mail(receiver, { kind: "limits", sender: name, limits: checked });
  }

  stats(): IpcKernelStats {
    let endpointsLive = 0;
    for (const e of this.endpoints.values()) if (!e.closed) endpointsLive++;
    const registry = this.registry.stats();
    return {
      ...registry,
      liveCapabilities: registry.liveCapabilities - this.registry.count(IN_TRANSIT),
      endpointsLive,
      slotsLive: this.slots.size,
      syscalls: this.syscalls,
      quotaHits: Object.fromEntries(this.quotaHits),
    };
  }

  // ---- retiring slots -----------------------------------------------------------------------------------

  /** Carries out what the removals of the last operation imply; dropping transfers may remove more. */
  private settleRemovals(): void {
    while (this.removed.length > 0) {
      const removed = this.removed;
      this.removed = [];
      for (const { info, reason } of removed) this.settle(info, reason);
    }
  }

  private settle(info: CapabilityInfo, reason: RemovalReason): void {
    const k = key(info.holder, info.token);
    const meta = this.meta.get(k);
    this.meta.delete(k); // a moved capability's meta was copied to its new key by the operation that moved it
    if (meta?.grantedBy !== undefined) bump(this.grantedCount, pair(meta.grantedBy, info.holder), -1);
    if (meta?.name !== undefined && this.granted.get(info.holder)?.get(meta.name) === info.token) this.granted.get(info.holder)!.delete(meta.name);
    const live = this.liveWords.get(k);
    if (live !== undefined) {
      // The capability left its holder's space: every guarded view mapped through it stops (the holder's runtime
      // loads this word before each access). The PD could write the word too, but only its runtime holds it.
      Atomics.store(live, 0, 0);
      this.liveWords.delete(k);
    }
    if (reason === "destroyed" && info.kind === "region") {
      const region = this.regions.get(info.object);
      if (region !== undefined) {
        this.regions.delete(info.object);
        this.regionBytes.set(region.owner, (this.regionBytes.get(region.owner) ?? 0) - region.buffer.byteLength);
      }
    }
    const slot = this.slots.get(k);
    if (slot === undefined) return;
    this.slots.delete(k);
    const endpoint = slot.endpoint;
    endpoint.byIndex.delete(slot.index);
    endpoint.perSender.set(slot.holder, (endpoint.perSender.get(slot.holder) ?? 1) - 1);
    if (!endpoint.closed) endpoint.free.push(slot.index); // the generation moves on at reuse
    this.addLink(slot.holder, endpoint.owner, -1);
    for (const transfer of slot.pending) this.dropTransfer(transfer);
    if (slot.pending.length > 0) bump(this.pendingCount, pair(slot.holder, endpoint.owner), -slot.pending.length);
    slot.pending.length = 0;
    const ownerDead = !this.isAlive(endpoint.owner) || this.dying === endpoint.owner;
    const died = this.dying === endpoint.owner && this.dyingRestarts ? SlotGone.RECEIVER_RESTARTED : SlotGone.RECEIVER_DIED;
    const gone = reason === "destroyed" ? (ownerDead ? died : SlotGone.ENDPOINT_CLOSED) : SlotGone.CAPABILITY_REVOKED;
    const status = this.dying === info.holder ? SlotStatus.SENDER_DEAD : SlotStatus.REVOKED;
    // The receiver takes nothing more from this slot: a take in progress commits before this or fails.
    Atomics.exchange(endpoint.guardI32, GUARD_I32.STATUS + slot.index, slotStatus(slot.generation, status));
    const i32 = slot.i32;
    if (endpoint.capacity !== 0) {
      // A queue: what is still queued is never taken (the guard says so); a sender waiting for room wakes.
      Atomics.store(i32, QUEUE_I32.GONE, gone);
      wakeRing(i32);
      return;
    }
    Atomics.store(i32, SLOT_I32.GONE, gone);
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
      // ended. The loop is bounded: only the slot's sender races it, and a sender moves a slot at most twice
      // per message; a sender that keeps rewriting STATE gets a CLOSED slot after a few tries regardless.
      for (let tries = 0; ; tries++) {
        const state = Atomics.load(i32, SLOT_I32.STATE);
        Atomics.store(i32, SLOT_I32.CLOSED_FROM, state);
        if (Atomics.compareExchange(i32, SLOT_I32.STATE, state, SlotState.CLOSED) === state) break;
        if (tries >= 64) {
          Atomics.store(i32, SLOT_I32.STATE, SlotState.CLOSED);
          break;
        }
      }
    }
    Atomics.notify(i32, SLOT_I32.STATE);
  }

  // ---- helpers ------------------------------------------------------------------------------------------

  private mail(pid: number, mail: KernelMail, transfer?: readonly ArrayBuffer[]): void {
    const pd = this.pds.get(pid);
    if (pd === undefined || !pd.alive()) return;
    pd.post(mail, transfer);
    Atomics.add(pd.control, CONTROL_I32.MAIL, 1); // publishes: the mail is on the port
    ringDoorbell(new Int32Array(pd.doorbell));
  }

  private metaOf(pid: number, token: bigint): CapMeta {
    return this.meta.get(key(pid, token)) ?? NO_META;
  }

  private grantOf(cap: CapabilityInfo): CapabilityGrant {
    return { token: cap.token, rights: cap.rights, kind: cap.kind, object: cap.object, badge: this.metaOf(cap.holder, cap.token).badge };
  }

  private nameOf(pid: number): string {
    return this.pds.get(pid)?.name ?? String(pid);
  }

  private pidOf(pd: string | number, operation: string): number {
    const pid = typeof pd === "number" ? pd : this.names.get(pd);
    if (pid === undefined || !this.pds.has(pid) || !this.isAlive(pid)) {
      throw new IpcError("ProcessNotFound", `${operation}: no running protection domain ${show(pd)}`, { operation });
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

const NO_META: CapMeta = Object.freeze({ badge: 0, limits: [] });

/** The key of what PD `from` holds for PD `to`. */
function pair(from: number, to: number): string {
  return `${from}>${to}`;
}

/** Adds `delta` to a count; a count that reaches 0 leaves the map. */
function bump(counts: Map<string, number>, k: string, delta: number): void {
  const n = (counts.get(k) ?? 0) + delta;
  if (n <= 0) counts.delete(k);
  else counts.set(k, n);
}

/** The key of a capability in the kernel's maps: a token means something only in its holder's space. */
function key(holder: number, token: bigint): string {
  return `${holder}:${token.toString(16)}`;
}

/** Untrusted text in an error message: quoted and cut short (a PD's 100 MB name is not repeated back). */
function show(value: unknown): string {
  if (typeof value === "number") return String(value);
  if (typeof value !== "string") return typeof value;
  return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}...` : value);
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : typeof error;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

const isToken = (v: unknown): v is bigint => typeof v === "bigint";
const isRights = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 0xffff;
const isU32 = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 0xffff_ffff;

/**
 * Deny by default: a syscall from a PD is untrusted input. Anything not exactly a known request is refused,
 * with a typed error that repeats none of it; strings are bounded (Limits.maxStringLength) before any use.
 */
function parseRequest(message: unknown, maxString: number): SyscallRequest {
  const bad = (why: string): IpcError => new IpcError("InvalidArgument", `syscall: ${why}`, { operation: "syscall" });
  if (!isRecord(message) || typeof message["op"] !== "string") throw bad("not a request");
  const m = message as Partial<SyscallMessage> & Record<string, unknown>;
  const text = (v: unknown, what: string): string => {
    if (typeof v !== "string") throw bad(`${what} must be a string`);
    if (v.length > maxString) throw bad(`${what} is ${v.length} characters long (at most ${maxString}, Limits.maxStringLength)`);
    return v;
  };
  const pd = (v: unknown, what: string): string | number => (typeof v === "number" ? v : text(v, what));
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
        ...(limits === undefined ? {} : { limits: validateRateLimits(limits, "derive") }),
      };
    }
    case "grant": {
      if (!isToken(m.token) || !isRights(m.rights)) throw bad("grant needs a token, a target PD and rights");
      const to = pd(m.to, "grant: the target PD");
      const name = m.name === undefined ? undefined : text(m.name, "grant: name");
      return { op: "grant", token: m.token, to, rights: m.rights, move: m.move === true, ...(name === undefined ? {} : { name }) };
    }
    case "transfer": {
      const tokens = m.tokens;
      if (!isToken(m.through) || !Array.isArray(tokens) || tokens.length > 64 || !tokens.every(isToken)) {
        throw bad("transfer needs a token to send through and at most 64 tokens");
      }
      return { op: "transfer", through: m.through, tokens: [...tokens], move: m.move === true };
    }
    case "claim":
      if (!isU32(m.endpoint) || !isU32(m.index) || !isU32(m.transfer)) throw bad("claim needs an endpoint, a slot index and a transfer id");
      return { op: "claim", endpoint: m.endpoint, index: m.index, transfer: m.transfer };
    case "pid":
      return { op: "pid", name: pd(m.name, "pid: the PD") };
    case "create-region":
      if (typeof m.size !== "number") throw bad("create-region needs a size");
      return { op: "create-region", size: m.size };
    case "map":
      if (!isToken(m.token)) throw bad("map needs a capability token");
      return { op: "map", token: m.token };
    case "move-buffer": {
      const to = pd(m.to, "move-buffer: the target PD");
      const name = text(m.name, "move-buffer: name");
      // An ArrayBuffer, never a SharedArrayBuffer: only an ArrayBuffer can be moved (detached from its sender).
      if (!(m.buffer instanceof ArrayBuffer)) throw bad("move-buffer moves an ArrayBuffer (a SharedArrayBuffer cannot be taken back)");
      return { op: "move-buffer", to, name, buffer: m.buffer };
    }
    case "take-buffer":
      return { op: "take-buffer", name: text(m.name, "take-buffer: name") };
    case "async-end":
      if (m.role !== "producer" && m.role !== "consumer") throw bad("async-end needs a role, 'producer' or 'consumer'");
      return { op: "async-end", name: text(m.name, "async-end: name"), role: m.role };
    default:
      throw bad(`unknown operation ${show(m.op)}`);
  }
}
