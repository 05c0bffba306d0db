/**
 * The handles a PD program holds: `Capability` (a token plus what the PD's runtime knows about it) and
 * `ReplyCapability` (the one-shot right to answer one call).
 *
 * A handle is only a convenience for its holder: the binding checks are made by the kernel (every syscall
 * names a token that must be in the caller's own capability space) and by the receiver (every message is
 * taken only if the kernel still marks its slot live). A handle's lifetime is deterministic: `close()` or
 * `using cap = ...` (`Symbol.dispose`), never the garbage collector. A closed handle says where it was closed.
 */

import { IpcError } from "../errors.ts";
import type { CapabilityGrant, RateLimits } from "../protocol/syscall.ts";
import { describeRights } from "../caps/token.ts";

/** What a handle needs from the PD's IPC client (implemented by `IpcClient`). */
export interface CapabilityOwner {
  deriveCapability(cap: Capability, rights: number, options: DeriveOptions): Capability;
  revokeCapability(cap: Capability): number;
  closeCapability(cap: Capability): void;
}

export interface DeriveOptions {
  /** seL4's badge: a number (u32) the receiver sees with every message sent through the new capability. */
  readonly badge?: number;
  /** Receiver-enforced limits on messages sent through the new capability (and capabilities derived from it). */
  readonly rateLimits?: RateLimits;
}

/**
 * The runtime's side of a handle, kept in private fields: a confined program holds `Capability` objects, and
 * nothing reachable from one may lead to the runtime (its IPC client, its slots and buffers) or let the
 * program reopen a handle the runtime closed. Only the runtime's modules import this (it is not exported).
 */
export interface CapabilityInternals {
  sendState(cap: Capability): unknown;
  setSendState(cap: Capability, state: unknown): void;
  receiveState(cap: Capability): unknown;
  setReceiveState(cap: Capability, state: unknown): void;
  setGrantedBy(cap: Capability, from: string | undefined): void;
  /** Marks the handle closed (`at`: where, or why the runtime knows it stopped working); drops its state. */
  markClosed(cap: Capability, at: string): void;
}

let internals: CapabilityInternals | undefined;

export class Capability implements Disposable {
  readonly token: bigint;
  /** `Rights` bits: SEND=1, RECEIVE=2, GRANT=4, REVOKE=8. */
  readonly rights: number;
  readonly kind: CapabilityGrant["kind"];
  /** The endpoint (or other object) id. */
  readonly object: number;
  readonly badge: number;
  #grantedBy: string | undefined = undefined;
  #closedAt: string | undefined = undefined;
  /** The holder runtime's state for sending through this capability (its slot), once connected. */
  #sendState: unknown = undefined;
  /** The holder runtime's state for receiving through this capability (its endpoint). */
  #receiveState: unknown = undefined;
  readonly #owner: CapabilityOwner;

  static {
    internals = {
      sendState: (cap) => cap.#sendState,
      setSendState: (cap, state) => void (cap.#sendState = state),
      receiveState: (cap) => cap.#receiveState,
      setReceiveState: (cap, state) => void (cap.#receiveState = state),
      setGrantedBy: (cap, from) => void (cap.#grantedBy = from),
      markClosed: (cap, at) => {
        cap.#closedAt = at;
        cap.#sendState = undefined;
        cap.#receiveState = undefined;
      },
    };
  }

  /** Made by the PD's runtime from what the kernel granted; programs get handles, they do not make them. */
  constructor(grant: CapabilityGrant, owner: CapabilityOwner) {
    this.token = grant.token;
    this.rights = grant.rights;
    this.kind = grant.kind;
    this.object = grant.object;
    this.badge = grant.badge;
    this.#owner = owner;
  }

  /** The PD that granted it into this PD by `grantCap` (as the kernel says), or undefined if this PD made it. */
  get grantedBy(): string | undefined {
    return this.#grantedBy;
  }

  /** Where `close()` was called, or why the runtime knows it stopped working; undefined while usable. */
  get closedAt(): string | undefined {
    return this.#closedAt;
  }

  /** @internal True if `owner` (a PD's runtime) made this handle and it is open. */
  heldBy(owner: CapabilityOwner): boolean {
    return this.#owner === owner && this.#closedAt === undefined;
  }

  /** A child capability with a subset of these rights (never more), optionally badged and rate-limited. */
  derive(rights: number, options: DeriveOptions = {}): Capability {
    return this.#owner.deriveCapability(this, rights, options);
  }

  /** Invalidates this capability and everything derived from it, in every PD. Needs REVOKE. */
  revoke(): number {
    return this.#owner.revokeCapability(this);
  }

  /** Drops this capability from the PD's space. Closing the receiving capability of an endpoint closes it. */
  close(): void {
    if (this.#closedAt !== undefined) return;
    this.#owner.closeCapability(this);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** Throws if the handle was closed here (the kernel and receiver check everything else). */
  assertOpen(operation: string): void {
    if (this.closedAt !== undefined) {
      throw new IpcError("InvalidCapability", `${operation}: capability ${this.toString()} was closed at:\n${this.closedAt}`, {
        operation,
        capability: this.token,
      });
    }
  }

  toString(): string {
    return `0x${this.token.toString(16).padStart(16, "0")} (${this.kind} ${this.object}, ${describeRights(this.rights)})`;
  }
}

/** The runtime's access to handles' private state (see CapabilityInternals). */
export function capabilityInternals(): CapabilityInternals {
  return internals!;
}

/** The caller's stack without isokit's own frames: "closed at". */
export function callerTrace(operation: string): string {
  const stack = new Error(operation).stack ?? "";
  return stack
    .split("\n")
    .slice(1)
    .filter((line) => !/[/\\]src[/\\]ipc[/\\]/.test(line) && !line.includes("/dist/ipc/"))
    .slice(0, 6)
    .join("\n");
}
