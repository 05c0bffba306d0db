/**
 * The control plane of the IPC layer: the syscalls a PD makes to the kernel, the kernel's replies, and the
 * deliveries ("mail") the kernel posts to a PD on its own. None of this is on the path of a message: a PD
 * makes a syscall to create an endpoint, to connect a capability to its slot the first time it sends through
 * it, to derive, grant, revoke or close; messages themselves go through the slots of protocol/endpoint.ts.
 *
 * Transport (worker mode): each PD has a MessagePort to the kernel that nothing else listens on. A syscall is
 * `port.postMessage(request)`, then a wait on the control word SYSCALL_DONE until the kernel has answered,
 * then `receiveMessageOnPort` — so a PD blocked in a synchronous loop can still make one. Mail comes on the
 * same port; the kernel bumps MAIL and rings the PD's doorbell after posting it.
 *
 * Every request is checked by the kernel against the PD's own capability space: a PD can name only
 * capabilities it holds, and a malformed request is refused with a typed error, never obeyed.
 */

import type { SerializedIpcError } from "../errors.ts";

/** Receiver-side limits on one sender (a PD, or one capability): token buckets refilled continuously. */
export interface RateLimits {
  /** Messages per second, sustained. */
  readonly maxMessagesPerSec: number;
  /** Payload bytes per second, sustained. */
  readonly maxBytesPerSec: number;
  /** How many seconds' worth of messages (and bytes) may come at once: the buckets' depth. At least 1. */
  readonly burstMultiplier: number;
}

/** A rate limit set on one capability, shared by every capability derived or granted from it. */
export interface LimitedBucket {
  readonly id: number;
  readonly limits: RateLimits;
}

export type SyscallRequest =
  // ["create-endpoint"]: a new endpoint received by the caller; replies { endpoint, token }
  | { readonly op: "create-endpoint" }
  // ["create-channel", capacity]: a bounded channel received by the caller; replies { grant, guard }
  | { readonly op: "create-channel"; readonly capacity: number }
  // ["connect", token]: the slot of a sending capability (made at first use); replies SlotGrant
  | { readonly op: "connect"; readonly token: bigint }
  // ["derive", token, rights, badge?, limits?]: a child capability with fewer rights; replies CapabilityGrant
  | { readonly op: "derive"; readonly token: bigint; readonly rights: number; readonly badge?: number; readonly limits?: RateLimits }
  // ["revoke", token]: invalidates the capability and everything derived from it; replies { count }
  | { readonly op: "revoke"; readonly token: bigint }
  // ["close", token]: drops the capability from the caller's space; replies null
  | { readonly op: "close"; readonly token: bigint }
  // ["check", token, rights]: why a capability no longer works (throws with where it was closed); replies CapabilityGrant
  | { readonly op: "check"; readonly token: bigint; readonly rights: number }
  // ["grant", token, to, rights, name?, move]: installs a capability in another PD's space; replies { token }
  | {
      readonly op: "grant";
      readonly token: bigint;
      readonly to: string | number;
      readonly rights: number;
      readonly name?: string;
      readonly move: boolean;
    }
  // ["transfer", through, tokens, move]: capabilities carried by a message sent through `through`; replies { transfer }
  | { readonly op: "transfer"; readonly through: bigint; readonly tokens: readonly bigint[]; readonly move: boolean }
  // ["pid", name]: the ProcessId of a running PD (a name, or a pid to check); replies { pid }
  | { readonly op: "pid"; readonly name: string | number }
  // ["create-region", size]: a shared region owned by the caller; replies { grant, buffer }
  | { readonly op: "create-region"; readonly size: number }
  // ["map", token]: the memory of a region capability (needs RECEIVE = read; SEND = write); replies RegionGrant
  | { readonly op: "map"; readonly token: bigint }
  // ["move-buffer", to, name, buffer]: an ArrayBuffer moved (engine transfer) to another PD, held by the kernel
  // until that PD takes it; replies null
  | { readonly op: "move-buffer"; readonly to: string | number; readonly name: string; readonly buffer: ArrayBuffer }
  // ["take-buffer", name]: the oldest buffer moved to the caller under `name`; replies { buffer, from } (moved)
  | { readonly op: "take-buffer"; readonly name: string }
  // ["claim", endpoint, index, transfer]: the capabilities of a message the caller took from slot `index` of its
  // endpoint; replies { grants } (empty if that transfer is not the slot's: withdrawn, replaced or revoked)
  | { readonly op: "claim"; readonly endpoint: number; readonly index: number; readonly transfer: number }
  // ["async-end", name, role]: the caller's end of async channel `name` as wired now (after the PD at its other
  // end was restarted, the end wired to its new generation); replies a ProducerDescriptor or ConsumerDescriptor
  | { readonly op: "async-end"; readonly name: string; readonly role: "producer" | "consumer" };

export type SyscallOp = SyscallRequest["op"];

/** A request on the wire: the PD numbers its syscalls so a stale reply can never answer a later one. */
export type SyscallMessage = SyscallRequest & { readonly seq: number };

export type SyscallReply =
  | { readonly kind: "reply"; readonly seq: number; readonly ok: true; readonly value: unknown }
  | { readonly kind: "reply"; readonly seq: number; readonly ok: false; readonly error: SerializedIpcError };

/** What a PD learns about a capability the kernel put in its space. */
export interface CapabilityGrant {
  readonly token: bigint;
  readonly rights: number;
  readonly kind: "endpoint" | "channel" | "region";
  readonly object: number;
  readonly badge: number;
}

/** The kernel's answer to `connect`: the sender's slot and the receiver's doorbell. */
export interface SlotGrant {
  readonly endpoint: number;
  readonly generation: number;
  /** 0: an endpoint's slot (one message, send returns once taken); else a channel's queue of this many entries. */
  readonly capacity: number;
  readonly index: number;
  readonly slot: SharedArrayBuffer;
  readonly receiverDoorbell: SharedArrayBuffer;
  readonly receiver: string;
}

/** The kernel's answer to `map`. */
export interface RegionGrant {
  readonly object: number;
  readonly buffer: SharedArrayBuffer;
  readonly writable: boolean;
  /**
   * The mapping's liveness word (one i32, 1 while the capability is in the caller's space): the kernel stores 0
   * when the capability leaves it (closed, revoked by anyone up its derivation tree, its region destroyed). The
   * PD's runtime reads it before every access of a guarded view; a confined program never holds it.
   */
  readonly live: SharedArrayBuffer;
}

export type KernelMail =
  // ["endpoint", endpoint, guard]: the guard of an endpoint this PD receives on (sent at creation)
  | { readonly kind: "endpoint"; readonly endpoint: number; readonly guard: SharedArrayBuffer }
  // ["slot", endpoint, index, generation, slot, badge, sender, limits]: a new sender of an endpoint this PD
  // receives on (it replaces any earlier slot at the same index: see SlotStatus generations)
  | {
      readonly kind: "slot";
      readonly endpoint: number;
      readonly index: number;
      readonly generation: number;
      readonly slot: SharedArrayBuffer;
      /** 0 for an endpoint slot, else the entries of a channel's queue slot. */
      readonly capacity: number;
      readonly badge: number;
      readonly sender: string;
      /**
       * The limits of the capability and of every capability it was derived from, each with the id of its
       * bucket: capabilities derived from (or granted from) a limited one share its bucket.
       */
      readonly capLimits: readonly LimitedBucket[];
      readonly pdLimits: RateLimits | undefined;
    }
  // ["limits", sender, limits]: the sender PD's limits changed (undefined: none)
  | { readonly kind: "limits"; readonly sender: string; readonly limits: RateLimits | undefined }
  // ["named", name, grant, from]: a capability PD `from` granted this PD (under `name`, or "" for none)
  | { readonly kind: "named"; readonly name: string; readonly grant: CapabilityGrant; readonly from: string }
  // ["buffer", name, from]: PD `from` moved an ArrayBuffer to this one; the kernel holds it for `take-buffer`
  | { readonly kind: "buffer"; readonly name: string; readonly from: string };

export type KernelToPd = SyscallReply | KernelMail;
