/**
 * Capability spaces, held by the kernel: the only code that creates or checks a capability.
 *
 * Every PD has a space: a map from the tokens it holds to capability nodes. A node names an object with some
 * rights; nodes form seL4's derivation tree (a derived or granted capability is a child of the capability it
 * came from). Checking a token means finding it in the holder's own space — a token that is not there (never
 * issued to this PD, closed, revoked, or belonging to another PD) names nothing.
 *
 * Ownership, also when an operation throws: every operation either completes or changes nothing. Each one
 * checks everything (rights, depth, quota, generations) before it changes anything; `grant` checks every
 * capability, and the receiver's room for all of them, before it installs any (all-or-nothing).
 *
 * Copy or move: `grant` copies by default — the receiver's capability is a child of the sender's, so revoking
 * the sender's capability also takes back what it granted. `move: true` transfers it instead (Zircon's
 * "sending consumes the handle"): the sender's token stops working and the same node, with its rights, its
 * place in the tree and its children, is re-issued in the receiver's space under a token from the receiver's
 * own generation counter (tokens are unique within a space, not across spaces; see caps/token.ts).
 *
 * Against a hostile PD (everything here runs in the kernel's thread, on requests a PD chooses):
 * - no recursion: revoke walks the derivation tree with an explicit stack, and its work is the subtree it
 *   revokes; a chain is at most `maxDerivationDepth` derivations deep, so no walk up the tree is longer;
 * - work proportional to what is involved: an object knows its nodes and an owner its objects, so destroying
 *   an object touches that object's capabilities, and cleaning up a PD touches what it held and owned;
 * - quotas: a space holds at most `maxCapabilitiesPerPd` capabilities, an owner at most `maxObjectsPerPd`
 *   live objects, and a PD's generations for an object are its own (using them up hurts only that PD);
 * - what a PD can read (error messages, tombstones) names PDs and operations, never a host path or a stack.
 */

import { IpcError } from "../errors.ts";
import { ALL_RIGHTS, decodeToken, describeRights, encodeToken, isSubset, MAX_GENERATION, Rights } from "./token.ts";

export type ObjectKind = "endpoint" | "channel" | "region";

interface KernelObject {
  readonly id: number;
  readonly kind: ObjectKind;
  readonly owner: number;
  alive: boolean;
  /** Every live capability to this object, in any space: what destroying it touches, and nothing else. */
  readonly nodes: Set<CapNode>;
  /** The spaces that keep a generation counter for this object; the counters go when the object does. */
  readonly counted: Set<Space>;
}

interface CapNode {
  /** Unique for the registry's lifetime and kept across a move: what the IPC layer may key its records by. */
  readonly id: number;
  /** Unique within the holder's space only; a move re-issues it. */
  token: bigint;
  readonly object: KernelObject;
  readonly rights: number;
  /**
   * Derivations since the object's root capability. A close re-parents children without lowering theirs (that
   * would be a walk over a subtree), so it may over-count, never under-count: the real depth stays within it.
   */
  readonly depth: number;
  holder: number;
  parent: CapNode | undefined;
  readonly children: Set<CapNode>;
}

/** One space's generations for one object. */
interface Counter {
  /** The last generation issued in this space for this object. */
  last: number;
  /** How many of this space's live capabilities name the object. */
  live: number;
}

interface Space {
  readonly pd: number;
  /** Kernel-internal (capabilities in transit): no quota, and generations wrap (see `nextGeneration`). */
  readonly unlimited: boolean;
  readonly caps: Map<bigint, CapNode>;
  readonly tombstones: Map<bigint, Tombstone>;
  readonly counters: Map<KernelObject, Counter>;
  /** The live objects this PD created: what its clean-up destroys. */
  readonly owned: Set<KernelObject>;
}

/** Why a token stopped working, and who did it how: `revoked by PD 'server' (revoke)`. Never a stack or a path. */
interface Tombstone {
  readonly reason: "closed" | "revoked" | "moved" | "destroyed";
  readonly by: string;
}

/** How many dead tokens per PD keep their "closed/revoked by" explanation. Older ones just name nothing. */
const TOMBSTONES_PER_PD = 1024;

export const DEFAULT_MAX_CAPABILITIES_PER_PD = 4096;
export const DEFAULT_MAX_OBJECTS_PER_PD = 4096;
export const DEFAULT_MAX_DERIVATION_DEPTH = 64;

export interface CapabilityInfo {
  readonly token: bigint;
  /** The capability's serial number: unique for the registry's lifetime, the same before and after a move. */
  readonly id: number;
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
   * For a move, `removed` is the capability as it was (old token, old holder) and `movedTo` is what it became
   * (new token, new holder, same `id`); for every other reason `movedTo` is undefined.
   */
  readonly onRemove?: (removed: CapabilityInfo, reason: RemovalReason, movedTo?: CapabilityInfo) => void;
  /** How messages and tombstones name a PD (`PD 'server'`); default `PD <id>`. */
  readonly describePd?: (pd: number) => string;
  /** Capabilities one space may hold (default 4096). Spaces added with `unlimited` have no limit. */
  readonly maxCapabilitiesPerPd?: number;
  /** Live objects one PD may own (default 4096): an object outlives its capabilities until it is destroyed. */
  readonly maxObjectsPerPd?: number;
  /** Derivations (derive, or grant by copy) a chain may have below an object's root capability (default 64). */
  readonly maxDerivationDepth?: number;
}

export interface RegistryLimits {
  readonly maxCapabilitiesPerPd: number;
  readonly maxObjectsPerPd: number;
  readonly maxDerivationDepth: number;
}

export class CapabilityRegistry {
  readonly limits: RegistryLimits;
  private readonly onRemove: ((removed: CapabilityInfo, reason: RemovalReason, movedTo?: CapabilityInfo) => void) | undefined;
  private readonly describePd: (pd: number) => string;
  private readonly spaces = new Map<number, Space>();
  private nextObject = 1;
  private nextNode = 1;
  private created = 0;
  private destroyed = 0;
  /** Kept with every insert and removal, so that `stats()` costs nothing however many capabilities live. */
  private live = 0;

  constructor(options: RegistryOptions = {}) {
    this.onRemove = options.onRemove;
    this.describePd = options.describePd ?? ((pd) => `PD ${pd}`);
    this.limits = {
      maxCapabilitiesPerPd: limit(options.maxCapabilitiesPerPd, DEFAULT_MAX_CAPABILITIES_PER_PD, 1, "maxCapabilitiesPerPd"),
      maxObjectsPerPd: limit(options.maxObjectsPerPd, DEFAULT_MAX_OBJECTS_PER_PD, 1, "maxObjectsPerPd"),
      maxDerivationDepth: limit(options.maxDerivationDepth, DEFAULT_MAX_DERIVATION_DEPTH, 0, "maxDerivationDepth"),
    };
  }

  /**
   * Gives `pd` an (empty) capability space; a PD that already has one keeps it unchanged. `unlimited` is for a
   * kernel-internal space (capabilities in transit): no quota, and its tokens must never be shown to a PD,
   * because its generations wrap (a PD's never do).
   */
  addProcess(pd: number, options: { readonly unlimited?: boolean } = {}): void {
    if (this.spaces.has(pd)) return;
    this.spaces.set(pd, {
      pd,
      unlimited: options.unlimited === true,
      caps: new Map(),
      tombstones: new Map(),
      counters: new Map(),
      owned: new Set(),
    });
  }

  /** Creates an object owned by `owner` and returns a capability with every right, in the owner's space. */
  createObject(owner: number, kind: ObjectKind): CapabilityInfo {
    const operation = "createObject";
    const space = this.space(owner, operation);
    this.checkRoom(space, 1, operation);
    if (!space.unlimited && space.owned.size >= this.limits.maxObjectsPerPd) {
      throw new IpcError(
        "OutOfMemory",
        `${operation}: ${this.describePd(owner)} owns ${space.owned.size} objects (limit ${this.limits.maxObjectsPerPd}); close one first`,
        { operation },
      );
    }
    if (this.nextObject > 0xffff_ffff) throw new IpcError("OutOfMemory", `${operation}: all 2^32 object ids are used`, { operation });
    const object: KernelObject = { id: this.nextObject++, kind, owner, alive: true, nodes: new Set(), counted: new Set() };
    space.owned.add(object);
    this.created++;
    return info(this.issue(object, ALL_RIGHTS, space, undefined, 0));
  }

  /**
   * Checks that `token` names a live capability in `pd`'s own space with at least `needed` rights.
   * @throws IpcError `InvalidCapability` (saying who closed or revoked it, if known) or `PermissionDenied`
   */
  check(pd: number, token: bigint, needed: number, operation: string): CapabilityInfo {
    return info(this.lookup(pd, token, needed, operation));
  }

  /** How many capabilities `pd` holds (0 for a PD without a space). */
  count(pd: number): number {
    return this.spaces.get(pd)?.caps.size ?? 0;
  }

  /** A child capability with a subset of the rights, in the same space. Never widens. */
  derive(pd: number, token: bigint, rights: number, operation = "derive"): CapabilityInfo {
    const space = this.space(pd, operation);
    const parent = this.lookup(pd, token, 0, operation);
    if (!isSubset(rights, parent.rights) || (rights & ~ALL_RIGHTS) !== 0) {
      throw new IpcError(
        "PermissionDenied",
        `${operation}: cannot derive ${describeRights(rights)} from a capability with ${describeRights(parent.rights)}`,
        { operation, capability: token },
      );
    }
    this.checkDepth(parent, "", operation);
    this.checkRoom(space, 1, operation);
    if (this.generationsLeft(space, parent.object) < 1) throw this.noGenerations(space, parent.object, 0, "", operation);
    return info(this.issue(parent.object, rights, space, parent, parent.depth + 1));
  }

  /**
   * Invalidates `token` and everything derived from it, in every PD. Needs REVOKE on `token`. After it returns,
   * none of those tokens is accepted by `check`. Iterative (an explicit stack, never recursion: the tree is
   * built by PDs), and its work is the number of capabilities it revokes, which it returns.
   */
  revoke(pd: number, token: bigint, operation = "revoke"): number {
    const node = this.lookup(pd, token, Rights.REVOKE, operation);
    const why: Tombstone = { reason: "revoked", by: this.by(pd, operation) };
    let count = 0;
    const stack = [node];
    for (let n = stack.pop(); n !== undefined; n = stack.pop()) {
      for (const child of n.children) stack.push(child);
      n.children.clear();
      this.remove(n, why);
      count++;
    }
    return count;
  }

  /** Drops `token` from `pd`'s space. Capabilities derived from it stay, re-parented (seL4 deletes one slot). */
  close(pd: number, token: bigint, operation = "close"): void {
    const node = this.lookup(pd, token, 0, operation);
    this.closeNode(node, { reason: "closed", by: this.by(pd, operation) });
  }

  /**
   * Installs capabilities for `tokens` (held by `from`, each with GRANT) in `to`'s space, all or nothing:
   * every capability, the depth of every copy, `to`'s room for all of them and its generations are checked
   * before anything is installed. `rights` narrows what the receiver gets (default: the sender's rights).
   * A copy is a child of the sender's capability, one derivation deeper; a move (same rights) re-issues the
   * sender's node in `to`'s space; a move with fewer rights installs a child and closes the sender's.
   * A channel end cannot be sent through itself: `through`, if given, must not be among `tokens`.
   * @returns the receiver's tokens, in order (for a move, new tokens: the sender's are tombstoned "moved")
   */
  grant(
    from: number,
    to: number,
    tokens: readonly bigint[],
    options: { readonly rights?: number; readonly move?: boolean; readonly through?: bigint } = {},
    operation = "grant",
  ): bigint[] {
    const source = this.space(from, operation);
    const target = this.space(to, operation);
    const move = options.move === true;
    const of = (i: number): string => ` (capability ${i} of ${tokens.length}; none was granted)`;
    // Phase 1: check everything; nothing changes until all pass.
    const plan = tokens.map((token, i) => {
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
        if (error instanceof IpcError) throw new IpcError(error.code, `${error.message}${of(i)}`, { operation, capability: token }, { cause: error });
        throw error;
      }
      const rights = options.rights ?? node.rights;
      if (!isSubset(rights, node.rights)) {
        throw new IpcError(
          "PermissionDenied",
          `${operation}: cannot grant ${describeRights(rights)} from a capability with ${describeRights(node.rights)}${of(i)}`,
          { operation, capability: token },
        );
      }
      const reissue = move && rights === node.rights;
      if (!reissue) this.checkDepth(node, of(i), operation);
      return { node, rights, reissue };
    });
    if (new Set(tokens).size !== tokens.length) {
      throw new IpcError("InvalidArgument", `${operation}: the same capability appears twice; none was granted`, { operation });
    }
    // Within one space a move frees what it takes; across spaces every token needs a place in the target.
    const added = from === to && move ? 0 : plan.length;
    if (!target.unlimited && target.caps.size + added > this.limits.maxCapabilitiesPerPd) {
      throw new IpcError(
        "OutOfMemory",
        `${operation}: ${this.describePd(to)} holds ${target.caps.size} capabilities, ${added} more would exceed its limit of ${this.limits.maxCapabilitiesPerPd}; none was granted`,
        { operation },
      );
    }
    // Every token, copy or move, takes one of the target's generations for its object.
    const needed = new Map<KernelObject, number>();
    plan.forEach(({ node }, i) => {
      const need = (needed.get(node.object) ?? 0) + 1;
      needed.set(node.object, need);
      if (this.generationsLeft(target, node.object) < need) throw this.noGenerations(target, node.object, need, of(i), operation);
    });
    // Phase 2: install. Nothing below can fail.
    const by = this.by(from, operation);
    return plan.map(({ node, rights, reissue }) => {
      if (reissue) return this.reissue(node, source, target, by);
      const child = this.issue(node.object, rights, target, node, node.depth + 1);
      if (move) this.closeNode(node, { reason: "closed", by });
      return child.token;
    });
  }

  /**
   * Moves `token` from `from`'s space to `to`'s without a rights check: kernel-internal (a capability in transit
   * reaching its receiver). The node keeps its rights, its place in the tree and its children; it is re-issued
   * under a token from `to`'s counter, and the old token is tombstoned "moved" (`onRemove(old, "moved", new)`).
   * `to`'s quota and generations are checked first; on failure nothing changes.
   * @returns the new token, in `to`'s space
   */
  move(from: number, to: number, token: bigint, operation: string): bigint {
    const source = this.space(from, operation);
    const target = this.space(to, operation);
    const node = this.lookup(from, token, 0, operation);
    if (from !== to) this.checkRoom(target, 1, operation);
    if (this.generationsLeft(target, node.object) < 1) throw this.noGenerations(target, node.object, 1, "", operation);
    return this.reissue(node, source, target, this.by(from, operation));
  }

  /**
   * A PD is gone: every capability it holds is closed, every object it owns is destroyed (all capabilities to
   * it, in every PD, stop working). Returns the destroyed objects' ids, for the IPC layer to wake their waiters.
   * The work is what the PD held and owned (plus, for a capability another PD holds below one of its own, a
   * walk up at most `maxDerivationDepth` of the dying PD's nodes) — never a walk over other spaces.
   */
  cleanupProcess(pd: number): number[] {
    const space = this.spaces.get(pd);
    if (space === undefined) return [];
    const by = `${this.describePd(pd)}, when it ended or was restarted`;
    const nodes = [...space.caps.values()];
    // First re-parent other PDs' capabilities derived from this PD's to their nearest ancestor that survives
    // (what `close` does one node at a time), while every dying node still has its links.
    for (const node of nodes) {
      for (const child of node.children) {
        if (child.holder === pd) continue;
        let ancestor = node.parent;
        while (ancestor !== undefined && ancestor.holder === pd) ancestor = ancestor.parent;
        child.parent = ancestor;
        ancestor?.children.add(child);
      }
    }
    for (const node of nodes) {
      node.parent?.children.delete(node);
      node.parent = undefined;
      node.children.clear();
      this.detach(node, space);
      this.onRemove?.(info(node), "closed");
    }
    const destroyed: number[] = [];
    for (const object of [...space.owned]) {
      this.destroy(object, by);
      destroyed.push(object.id);
    }
    for (const object of space.counters.keys()) object.counted.delete(space);
    this.spaces.delete(pd);
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
    this.destroy(node.object, this.by(pd, operation));
    return node.object.id;
  }

  /** The object a live capability of `pd` names, or undefined. */
  objectOf(pd: number, token: bigint): { readonly id: number; readonly kind: ObjectKind; readonly owner: number } | undefined {
    const node = this.spaces.get(pd)?.caps.get(token);
    return node === undefined ? undefined : { id: node.object.id, kind: node.object.kind, owner: node.object.owner };
  }

  /** O(1): counters kept by every operation. */
  stats(): RegistryStats {
    return { objectsCreated: this.created, objectsDestroyed: this.destroyed, liveCapabilities: this.live };
  }

  // ---- internals ---------------------------------------------------------------------------------------

  private space(pd: number, operation: string): Space {
    const space = this.spaces.get(pd);
    if (space === undefined) throw new IpcError("ProcessNotFound", `${operation}: no protection domain ${pd}`, { operation });
    return space;
  }

  private by(pd: number, operation: string): string {
    return `${this.describePd(pd)} (${operation})`;
  }

  private lookup(pd: number, token: bigint, needed: number, operation: string): CapNode {
    const space = this.space(pd, operation);
    const node = typeof token === "bigint" ? space.caps.get(token) : undefined;
    if (node === undefined) {
      const dead = typeof token === "bigint" ? space.tombstones.get(token) : undefined;
      const fields = typeof token === "bigint" ? decodeToken(token) : undefined;
      const what = fields === undefined ? "is not a capability token" : "names nothing in this PD's capability space";
      const why = dead === undefined ? what : `was ${dead.reason} by ${dead.by}`;
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

  /** A copy or derivation of `parent` would be one deeper: refused past the limit. */
  private checkDepth(parent: CapNode, suffix: string, operation: string): void {
    if (parent.depth < this.limits.maxDerivationDepth) return;
    throw new IpcError(
      "OutOfMemory",
      `${operation}: capability ${show(parent.token)} is at the end of a derivation chain; the chain is ${parent.depth} deep (limit ${this.limits.maxDerivationDepth}), derive from a capability nearer its root${suffix}`,
      { operation, capability: parent.token },
    );
  }

  private checkRoom(space: Space, added: number, operation: string): void {
    if (space.unlimited || space.caps.size + added <= this.limits.maxCapabilitiesPerPd) return;
    throw new IpcError(
      "OutOfMemory",
      `${operation}: ${this.describePd(space.pd)} holds ${space.caps.size} capabilities (limit ${this.limits.maxCapabilitiesPerPd}); close some first`,
      { operation },
    );
  }

  /**
   * How many more capabilities for `object` this space can be issued at once. Generations wrap, skipping every
   * one still live in the space (and, in a PD's space, every one it still remembers as dead): only tokens alive
   * together must differ. Counters that never wrapped would let anyone who can put capabilities into a space
   * (by grants or messages, closed again each time) use up its generations for an object — the server's for
   * its own endpoint. The price: after 65,535 issues of one object in one space, a token that PD forgot long
   * ago may come to name a newer capability of that same PD to that same object (never anyone else's).
   */
  private generationsLeft(space: Space, object: KernelObject): number {
    return MAX_GENERATION - (space.counters.get(object)?.live ?? 0);
  }

  private noGenerations(space: Space, object: KernelObject, need: number, suffix: string, operation: string): IpcError {
    const left = this.generationsLeft(space, object);
    const used = left <= 0 || need <= 1 ? "has used all" : `has ${left} left of the`;
    return new IpcError(
      "OutOfMemory",
      `${operation}: ${this.describePd(space.pd)} ${used} ${MAX_GENERATION} generations of ${object.kind} ${object.id}; it can be given no new capability to it${suffix}`,
      { operation },
    );
  }

  /** Takes the next generation of `object` in `space`; the caller has checked `generationsLeft`. */
  private nextGeneration(space: Space, object: KernelObject): number {
    let counter = space.counters.get(object);
    if (counter === undefined) {
      counter = { last: 0, live: 0 };
      space.counters.set(object, counter);
      object.counted.add(space);
    }
    if (counter.last < MAX_GENERATION) return ++counter.last;
    // Wrapped: the next generation no live capability of this space uses (nor, while another is free, a dead one
    // it remembers). Fewer than MAX_GENERATION are live (checked), and the search resumes where the last ended.
    for (let pass = 0; ; pass++) {
      for (let generation = counter.last, tries = 0; tries < MAX_GENERATION; tries++) {
        generation = (generation % MAX_GENERATION) + 1;
        if (!this.generationUsed(space, object, generation, pass === 0)) {
          counter.last = generation;
          return generation;
        }
      }
    }
  }

  private generationUsed(space: Space, object: KernelObject, generation: number, orDead: boolean): boolean {
    for (let rights = 0; rights <= ALL_RIGHTS; rights++) {
      const token = encodeToken({ object: object.id, generation, rights });
      if (space.caps.get(token)?.object === object) return true;
      if (orDead && space.tombstones.has(token)) return true;
    }
    return false;
  }

  /** A new node in `space`; every check has passed (nothing here can fail). */
  private issue(object: KernelObject, rights: number, space: Space, parent: CapNode | undefined, depth: number): CapNode {
    const generation = this.nextGeneration(space, object);
    const node: CapNode = {
      id: this.nextNode++,
      token: encodeToken({ object: object.id, generation, rights }),
      object,
      rights,
      depth,
      holder: space.pd,
      parent,
      children: new Set(),
    };
    parent?.children.add(node);
    this.attach(node, space);
    return node;
  }

  /** The same node, under a new token from `to`'s counter; its place in the tree does not change. */
  private reissue(node: CapNode, from: Space, to: Space, by: string): bigint {
    const old = info(node);
    this.detach(node, from);
    this.tombstone(from, node.token, { reason: "moved", by });
    const generation = this.nextGeneration(to, node.object);
    node.token = encodeToken({ object: node.object.id, generation, rights: node.rights });
    node.holder = to.pd;
    this.attach(node, to);
    this.onRemove?.(old, "moved", info(node));
    return node.token;
  }

  private attach(node: CapNode, space: Space): void {
    space.caps.set(node.token, node);
    const counter = space.counters.get(node.object);
    if (counter !== undefined) counter.live++;
    node.object.nodes.add(node);
    this.live++;
  }

  private detach(node: CapNode, space: Space): void {
    if (space.caps.get(node.token) !== node) return;
    space.caps.delete(node.token);
    const counter = space.counters.get(node.object);
    if (counter !== undefined) counter.live--;
    node.object.nodes.delete(node);
    this.live--;
  }

  /** One node goes; its children move up to its parent (the subtree below stays, one link shorter). */
  private closeNode(node: CapNode, why: Tombstone): void {
    for (const child of node.children) {
      child.parent = node.parent;
      node.parent?.children.add(child);
    }
    node.children.clear();
    this.remove(node, why);
  }

  private remove(node: CapNode, why: Tombstone): void {
    node.parent?.children.delete(node);
    node.parent = undefined;
    const space = this.spaces.get(node.holder);
    if (space?.caps.get(node.token) !== node) return;
    this.detach(node, space);
    this.tombstone(space, node.token, why);
    this.onRemove?.(info(node), why.reason);
  }

  /** Touches this object's nodes and nothing else. */
  private destroy(object: KernelObject, by: string): void {
    object.alive = false;
    this.destroyed++;
    this.spaces.get(object.owner)?.owned.delete(object);
    const why: Tombstone = { reason: "destroyed", by };
    for (const node of [...object.nodes]) {
      // Derivation stays within an object: parent and children are this object's nodes, all going too.
      node.children.clear();
      this.remove(node, why);
    }
    // Object ids are never reused, so no token of this object can be issued again: its counters can go.
    for (const space of object.counted) space.counters.delete(object);
    object.counted.clear();
  }

  private tombstone(space: Space, token: bigint, why: Tombstone): void {
    space.tombstones.set(token, why);
    if (space.tombstones.size > TOMBSTONES_PER_PD) space.tombstones.delete(space.tombstones.keys().next().value!);
  }
}

function info(node: CapNode): CapabilityInfo {
  return { token: node.token, id: node.id, object: node.object.id, kind: node.object.kind, rights: node.rights, holder: node.holder };
}

function show(token: unknown): string {
  return typeof token === "bigint" ? `0x${token.toString(16).padStart(16, "0")}` : String(token);
}

function limit(value: number | undefined, fallback: number, min: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min) {
    throw new IpcError("InvalidArgument", `CapabilityRegistry: ${name} must be an integer of at least ${min}, got ${String(value)}`, { operation: "CapabilityRegistry" });
  }
  return value;
}
