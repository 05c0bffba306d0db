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

export class Capability implements Disposable {
  readonly token: bigint;
  /** `Rights` bits: SEND=1, RECEIVE=2, GRANT=4, REVOKE=8. */
  readonly rights: number;
  readonly kind: CapabilityGrant["kind"];
  /** The endpoint (or other object) id. */
  readonly object: number;
  readonly badge: number;
  /** The PD that granted it into this PD by `grantCap` (as the kernel says), or undefined if this PD made it. */
  grantedBy: string | undefined;
  /** Where `close()` was called, or why the runtime knows it stopped working; undefined while usable. */
  closedAt: string | undefined;
  /** @internal The holder runtime's state for sending through this capability (its slot), once connected. */
  sendState: unknown;
  /** @internal The holder runtime's state for receiving through this capability (its endpoint). */
  receiveState: unknown;
  private readonly owner: CapabilityOwner;

  /** Made by the PD's runtime from what the kernel granted; programs get handles, they do not make them. */
  constructor(grant: CapabilityGrant, owner: CapabilityOwner) {
    this.token = grant.token;
    this.rights = grant.rights;
    this.kind = grant.kind;
    this.object = grant.object;
    this.badge = grant.badge;
    this.owner = owner;
    this.grantedBy = undefined;
    this.closedAt = undefined;
    this.sendState = undefined;
    this.receiveState = undefined;
  }

  /** @internal True if `owner` (a PD's runtime) made this handle and it is open. */
  heldBy(owner: CapabilityOwner): boolean {
    return this.owner === owner && this.closedAt === undefined;
  }

  /** A child capability with a subset of these rights (never more), optionally badged and rate-limited. */
  derive(rights: number, options: DeriveOptions = {}): Capability {
    return this.owner.deriveCapability(this, rights, options);
  }

  /** Invalidates this capability and everything derived from it, in every PD. Needs REVOKE. */
  revoke(): number {
    return this.owner.revokeCapability(this);
  }

  /** Drops this capability from the PD's space. Closing the receiving capability of an endpoint closes it. */
  close(): void {
    if (this.closedAt !== undefined) return;
    this.owner.closeCapability(this);
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
