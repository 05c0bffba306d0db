/**
 * Capability spaces, held by the kernel: the only code that creates or checks a capability.
 *
 * Every PD has a space: a map from the tokens it holds to capability nodes. A node names an object with some
 * rights; nodes form seL4's derivation tree (a derived or granted capability is a child of the capability it
 * came from). Checking a token means finding it in the holder's own space — a token that is not there (never
 * issued to this PD, closed, revoked, or belonging to another PD) names nothing.
 *
 * Ownership, also when an operation throws: every operation either completes or changes nothing. `grant`
 * checks every capability before it installs any (all-or-nothing).
 *
 * Copy or move: `grant` copies by default — the receiver's capability is a child of the sender's, so revoking
 * the sender's capability also takes back what it granted. `move: true` transfers it instead (Zircon's
 * "sending consumes the handle"): the sender's token stops working and the receiver's node takes its place
 * in the tree.
 */

import { IpcError } from "../errors.ts";
import { ALL_RIGHTS, decodeToken, describeRights, encodeToken, isSubset, MAX_GENERATION, Rights } from "./token.ts";

export type ObjectKind = "endpoint" | "channel" | "region";

interface KernelObject {
  readonly id: number;
  readonly kind: ObjectKind;
  readonly owner: number;
  /** The last generation issued to a capability of this object. */
  generation: number;
  alive: boolean;
}

interface CapNode {
  readonly token: bigint;
  readonly object: KernelObject;
  readonly rights: number;
  holder: number;
  parent: CapNode | undefined;
  readonly children: Set<CapNode>;
}

/** Why a token stopped working, and where (a stack trace of the call that did it). */
interface Tombstone {
  readonly reason: "closed" | "revoked" | "moved" | "destroyed";
  readonly at: string;
}

/** How many dead tokens per PD keep their "closed/revoked at" explanation. Older ones just name nothing. */
const TOMBSTONES_PER_PD = 1024;

export interface CapabilityInfo {
  readonly token: bigint;
  readonly object: number;
  readonly kind: ObjectKind;
  readonly rights: number;
  readonly holder: number;
}

export interface RegistryStats {
  readonly objectsCreated: number;
  readonly objectsDestroyed: number;
  readonly liveCapabilities: number;
}

/** Why a capability left a space: what the IPC layer must do with whatever it attached to it. */
export type RemovalReason = Tombstone["reason"];

export interface RegistryOptions {
  /**
   * Called for every capability that leaves a space (closed, revoked, moved away, or its object destroyed),
   * after the registry has recorded it. The IPC layer invalidates what it attached to the token (a slot).
   */
  readonly onRemove?: (removed: CapabilityInfo, reason: RemovalReason) => void;
}

export class CapabilityRegistry {
  private readonly onRemove: ((removed: CapabilityInfo, reason: RemovalReason) => void) | undefined;
  private readonly objects = new Map<number, KernelObject>();
  private readonly spaces = new Map<number, Map<bigint, CapNode>>();
  private readonly tombstones = new Map<number, Map<bigint, Tombstone>>();
  private nextObject = 1;
  private created = 0;
  private destroyed = 0;

  constructor(options: RegistryOptions = {}) {
    this.onRemove = options.onRemove;
  }

  /** Gives `pd` an (empty) capability space. */
  addProcess(pd: number): void {
    if (!this.spaces.has(pd)) {
      this.spaces.set(pd, new Map());
      this.tombstones.set(pd, new Map());
    }
  }

  /** Creates an object owned by `owner` and returns a capability with every right, in the owner's space. */
  createObject(owner: number, kind: ObjectKind): CapabilityInfo {
    const space = this.space(owner, "createObject");
    if (this.nextObject > 0xffff_ffff) throw new IpcError("OutOfMemory", "createObject: all 2^32 object ids are used", { operation: "createObject" });
    const object: KernelObject = { id: this.nextObject++, kind, owner, generation: 0, alive: true };
    this.objects.set(object.id, object);
    this.created++;
    const node = this.issue(object, ALL_RIGHTS, owner, undefined, "createObject");
    space.set(node.token, node);
    return info(node);
  }

  /**
   * Checks that `token` names a live capability in `pd`'s own space with at least `needed` rights.
   * @throws IpcError `InvalidCapability` (saying where it was closed or revoked, if known) or `PermissionDenied`
   */
  check(pd: number, token: bigint, needed: number, operation: string): CapabilityInfo {
    return info(this.lookup(pd, token, needed, operation));
  }

  /** A child capability with a subset of the rights, in the same space. Never widens. */
  derive(pd: number, token: bigint, rights: number, operation = "derive"): CapabilityInfo {
    const parent = this.lookup(pd, token, 0, operation);
    if (!isSubset(rights, parent.rights) || (rights & ~ALL_RIGHTS) !== 0) {
      throw new IpcError(
        "PermissionDenied",
        `${operation}: cannot derive ${describeRights(rights)} from a capability with ${describeRights(parent.rights)}`,
        { operation, capability: token },
      );
    }
    const child = this.issue(parent.object, rights, pd, parent, operation);
    this.space(pd, operation).set(child.token, child);
    return info(child);
  }

  /**
   * Invalidates `token` and everything derived from it, in every PD. Needs REVOKE on `token`. After it returns,
   * none of those tokens is accepted by `check`.
   */
  revoke(pd: number, token: bigint, operation = "revoke"): number {
    const node = this.lookup(pd, token, Rights.REVOKE, operation);
    const at = trace(operation);
    let count = 0;
    const walk = (n: CapNode): void => {
      for (const child of n.children) walk(child);
      this.remove(n, { reason: "revoked", at });
      count++;
    };
    walk(node);
    return count;
  }

  /** Drops `token` from `pd`'s space. Capabilities derived from it stay, re-parented (seL4 deletes one slot). */
  close(pd: number, token: bigint, operation = "close"): void {
    const node = this.lookup(pd, token, 0, operation);
    for (const child of node.children) {
      child.parent = node.parent;
      node.parent?.children.add(child);
    }
    node.children.clear();
    this.remove(node, { reason: "closed", at: trace(operation) });
  }

  /**
   * Installs capabilities for `tokens` (held by `from`, each with GRANT) in `to`'s space, all or nothing.
   * `rights` narrows what the receiver gets (default: the sender's rights). A channel end cannot be sent
   * through itself: `through`, if given, must not be among `tokens`.
   * @returns the receiver's tokens, in order
   */
  grant(
    from: number,
    to: number,
    tokens: readonly bigint[],
    options: { readonly rights?: number; readonly move?: boolean; readonly through?: bigint } = {},
    operation = "grant",
  ): bigint[] {
    const target = this.space(to, operation);
    // Phase 1: check everything; nothing changes until all pass.
    const nodes = tokens.map((token, i) => {
      if (options.through !== undefined && token === options.through) {
        throw new IpcError("InvalidCapability", `${operation}: capability ${i} is the channel end it would be sent through`, {
          operation,
          capability: token,
        });
      }
      let node: CapNode;
      try {
        node = this.lookup(from, token, Rights.GRANT, operation);
      } catch (error) {
        if (error instanceof IpcError) throw new IpcError(error.code, `${error.message} (capability ${i} of ${tokens.length}; none was granted)`, { operation, capability: token }, { cause: error });
        throw error;
      }
      const rights = options.rights ?? node.rights;
      if (!isSubset(rights, node.rights)) {
        throw new IpcError(
          "PermissionDenied",
          `${operation}: cannot grant ${describeRights(rights)} from a capability with ${describeRights(node.rights)} (capability ${i} of ${tokens.length}; none was granted)`,
          { operation, capability: token },
        );
      }
      if (node.object.generation >= MAX_GENERATION && options.move !== true) {
        throw new IpcError("OutOfMemory", `${operation}: object ${node.object.id} has no generations left (capability ${i} of ${tokens.length}; none was granted)`, {
          operation,
          capability: token,
        });
      }
      return { node, rights };
    });
    if (new Set(tokens).size !== tokens.length) {
      throw new IpcError("InvalidArgument", `${operation}: the same capability appears twice; none was granted`, { operation });
    }
    // Phase 2: install.
    const at = trace(operation);
    return nodes.map(({ node, rights }) => {
      if (options.move === true && rights === node.rights) {
        this.space(from, operation).delete(node.token);
        this.tombstone(from, node.token, { reason: "moved", at });
        this.onRemove?.(info(node), "moved");
        node.holder = to;
        target.set(node.token, node);
        return node.token;
      }
      const child = this.issue(node.object, rights, to, node, operation);
      target.set(child.token, child);
      if (options.move === true) this.close(from, node.token, operation);
      return child.token;
    });
  }

  /**
   * A PD is gone: every capability it holds is closed, every object it owns is destroyed (all capabilities to
   * it, in every PD, stop working). Returns the destroyed objects' ids, for the IPC layer to wake their waiters.
   */
  cleanupProcess(pd: number): number[] {
    const space = this.spaces.get(pd);
    if (space === undefined) return [];
    const at = trace("cleanupProcess");
    for (const node of [...space.values()]) {
      if (space.has(node.token)) this.close(pd, node.token, "cleanupProcess");
    }
    const destroyed: number[] = [];
    for (const object of this.objects.values()) {
      if (object.owner !== pd || !object.alive) continue;
      this.destroy(object, at);
      destroyed.push(object.id);
    }
    this.spaces.delete(pd);
    this.tombstones.delete(pd);
    return destroyed;
  }

  /**
   * Destroys the object `token` names (needs RECEIVE: the holder of the receiving end closes an endpoint):
   * every capability to it, in every PD, stops working.
   */
  destroyObject(pd: number, token: bigint, operation = "close"): number {
    const node = this.lookup(pd, token, Rights.RECEIVE, operation);
    if (node.object.owner !== pd) {
      throw new IpcError("PermissionDenied", `${operation}: only the PD that created ${node.object.kind} ${node.object.id} can close it`, { operation, capability: token });
    }
    this.destroy(node.object, trace(operation));
    return node.object.id;
  }

  /** The object a live capability of `pd` names, or undefined. */
  objectOf(pd: number, token: bigint): { readonly id: number; readonly kind: ObjectKind; readonly owner: number } | undefined {
    const node = this.spaces.get(pd)?.get(token);
    return node === undefined ? undefined : { id: node.object.id, kind: node.object.kind, owner: node.object.owner };
  }

  stats(): RegistryStats {
    let live = 0;
    for (const space of this.spaces.values()) live += space.size;
    return { objectsCreated: this.created, objectsDestroyed: this.destroyed, liveCapabilities: live };
  }

  // ---- internals ---------------------------------------------------------------------------------------

  private space(pd: number, operation: string): Map<bigint, CapNode> {
    const space = this.spaces.get(pd);
    if (space === undefined) throw new IpcError("ProcessNotFound", `${operation}: no protection domain ${pd}`, { operation });
    return space;
  }

  private lookup(pd: number, token: bigint, needed: number, operation: string): CapNode {
    const space = this.space(pd, operation);
    const node = typeof token === "bigint" ? space.get(token) : undefined;
    if (node === undefined) {
      const dead = typeof token === "bigint" ? this.tombstones.get(pd)?.get(token) : undefined;
      const fields = typeof token === "bigint" ? decodeToken(token) : undefined;
      const what = fields === undefined ? "is not a capability token" : "names nothing in this PD's capability space";
      const why = dead === undefined ? what : `was ${dead.reason}; ${dead.reason} at:\n${dead.at}`;
      throw new IpcError("InvalidCapability", `${operation}: capability ${show(token)} ${why}`, {
        operation,
        ...(typeof token === "bigint" ? { capability: token } : {}),
      });
    }
    if (!isSubset(needed, node.rights)) {
      throw new IpcError(
        "PermissionDenied",
        `${operation}: capability ${show(token)} has ${describeRights(node.rights)}, needs ${describeRights(needed)}`,
        { operation, capability: token },
      );
    }
    return node;
  }

  private issue(object: KernelObject, rights: number, holder: number, parent: CapNode | undefined, operation: string): CapNode {
    if (!object.alive) throw new IpcError("InvalidCapability", `${operation}: object ${object.id} was destroyed`, { operation });
    if (object.generation >= MAX_GENERATION) {
      throw new IpcError(
        "OutOfMemory",
        `${operation}: object ${object.id} has used all ${MAX_GENERATION} generations and is retired; create a new ${object.kind}`,
        { operation },
      );
    }
    object.generation++;
    const node: CapNode = {
      token: encodeToken({ object: object.id, generation: object.generation, rights }),
      object,
      rights,
      holder,
      parent,
      children: new Set(),
    };
    parent?.children.add(node);
    return node;
  }

  private remove(node: CapNode, why: Tombstone): void {
    node.parent?.children.delete(node);
    const space = this.spaces.get(node.holder);
    if (space?.get(node.token) === node) {
      space.delete(node.token);
      this.tombstone(node.holder, node.token, why);
      this.onRemove?.(info(node), why.reason);
    }
  }

  private destroy(object: KernelObject, at: string): void {
    object.alive = false;
    this.destroyed++;
    for (const [holder, holderSpace] of this.spaces) {
      for (const node of [...holderSpace.values()]) {
        if (node.object === object) {
          holderSpace.delete(node.token);
          node.parent?.children.delete(node);
          this.tombstone(holder, node.token, { reason: "destroyed", at });
          this.onRemove?.(info(node), "destroyed");
        }
      }
    }
  }

  private tombstone(pd: number, token: bigint, why: Tombstone): void {
    const graves = this.tombstones.get(pd);
    if (graves === undefined) return;
    graves.set(token, why);
    if (graves.size > TOMBSTONES_PER_PD) graves.delete(graves.keys().next().value!);
  }
}

function info(node: CapNode): CapabilityInfo {
  return { token: node.token, object: node.object.id, kind: node.object.kind, rights: node.rights, holder: node.holder };
}

function show(token: unknown): string {
  return typeof token === "bigint" ? `0x${token.toString(16).padStart(16, "0")}` : String(token);
}

/** The caller's stack, without this module's frames: "where it was closed or revoked" (nats.js keeps one too). */
function trace(operation: string): string {
  const stack = new Error(operation).stack ?? "";
  return stack
    .split("\n")
    .slice(1)
    .filter((line) => !line.includes("caps/space"))
    .slice(0, 6)
    .join("\n");
}
