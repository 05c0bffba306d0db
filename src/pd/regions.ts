/**
 * Memory regions mapped into the running PD (Microkit `<map mr=... setvar_vaddr=...>`; seed 000's
 * `memory_region_symbol!`). A PD finds a mapping by its `setvar_vaddr` name (else the region's name).
 *
 * What is enforced: a PD receives only the regions its description maps into it (the kernel hands it those
 * SharedArrayBuffers and no others). In a confined PD (pd/confine.ts) the program never holds the
 * SharedArrayBuffer: `bytes` and `writableBytes()` are guarded views made here (a Proxy over the runtime's own
 * Uint8Array) whose every write checks the map's rights and, for a region mapped through a capability, whose
 * every access checks the mapping's liveness word (written by the kernel when the capability leaves this PD's
 * space, whoever revoked it), and whose `.buffer` is an opaque stand-in that only the program's `DataView`
 * accepts (making a guarded DataView); so `perms="r"` and a closed or revoked capability bind. A trusted PD holds the SharedArrayBuffer itself: JavaScript has no read-only view of shared memory, and
 * there `perms="r"` is cooperative. Guarded views cost a Proxy trap per element: regions carry bulk data, so
 * use `set`/`slice`/`subarray` (one check each) rather than element loops; message registers are not guarded.
 */

import { IpcError } from "../errors.ts";
import type { Capability } from "../ipc/capability.ts";
import type { WaitFor } from "../ipc/client.ts";
import { useDataViews } from "../layout/view.ts";
import { currentPd } from "./context.ts";
import type { ReadonlyMessageBytes } from "./registers.ts";

export interface MappedRegion {
  /** The name the PD asked for (`setvar_vaddr`, else the region's name). */
  readonly symbol: string;
  /** The memory region's name in the system description. */
  readonly region: string;
  readonly size: number;
  /** `perms` of the map, e.g. `rw` or `r`. */
  readonly perms: string;
  readonly writable: boolean;
  /** The region's bytes, typed read-only (see `writableBytes`). */
  readonly bytes: ReadonlyMessageBytes;
  /** The region's bytes for writing; throws `PermissionDenied` for a map without `w`. */
  writableBytes(): Uint8Array;
}

/** Set once by a confined PD's runtime before its program loads (worker-main): regions made after are guarded. */
let guarded = false;

export function guardRegions(): void {
  guarded = true;
  useDataViews(confinedDataView); // layout views over guarded region views get guarded DataViews
}

/** The runtime's own bytes of each mapping (a confined program holds only the guarded views). */
const memory = new WeakMap<MappedRegion, Uint8Array>();

/** The checks of one mapping, run by every guarded view of it before an access. */
interface Guard {
  /** Throws `PermissionDenied` once the capability the mapping came through has left this PD's space. */
  readonly mayRead: () => void;
  /** The liveness word `mayRead` loads (undefined for a map of the description): the proxy's get trap loads it inline. */
  readonly word: Int32Array | undefined;
  /** `mayRead`, and throws `PermissionDenied` for a map without `w`. */
  readonly mayWrite: () => void;
}

/** Each mapping's checks, for `regionMemory`. */
const guards = new WeakMap<MappedRegion, Guard>();

/**
 * The mapping's bytes for runtime code that reads or writes it on the program's behalf (lend, layouts): the
 * same checks as the program's own views, then the unguarded array, which must not be handed to the program.
 */
export function regionMemory(region: MappedRegion, mutable: boolean): Uint8Array {
  const bytes = memory.get(region);
  const guard = guards.get(region);
  if (bytes === undefined || guard === undefined) throw new IpcError("InvalidMemoryRegion", "region: not a mapping made by this PD's runtime", { operation: "memoryRegion" });
  if (mutable) guard.mayWrite();
  else guard.mayRead();
  return bytes;
}

/**
 * `live` is the mapping's liveness word (RegionGrant.live) for a region mapped through a capability: the
 * kernel stores 0 in it when the capability leaves this PD's space — closed here, revoked by any PD up its
 * derivation tree, its region destroyed — and every access of a guarded view loads it first (one
 * `Atomics.load`), so revocation binds on views made earlier. Undefined for a map of the system description,
 * which lives as long as the PD.
 */
export function makeMappedRegion(symbol: string, region: string, buffer: SharedArrayBuffer | ArrayBuffer, perms: string, live?: SharedArrayBuffer): MappedRegion {
  const raw = new Uint8Array(buffer);
  const writable = perms.includes("w");
  const refuse = (why: string): IpcError =>
    new IpcError("PermissionDenied", `memoryRegion: '${symbol}' (region '${region}') ${why}`, { operation: "memoryRegion" });
  const word = live === undefined ? undefined : new Int32Array(live, 0, 1);
  const revoked = (): IpcError => refuse("was mapped through a capability this PD no longer holds (closed, revoked, or its region destroyed)");
  const mayRead =
    word === undefined
      ? () => undefined
      : () => {
          if (Atomics.load(word, 0) === 0) throw revoked(); // the kernel's store of 0 (ipc-kernel settle)
        };
  const mayWrite = (): void => {
    if (!writable) throw refuse(`is mapped with perms="${perms}", not writable`);
    if (word !== undefined && Atomics.load(word, 0) === 0) throw revoked();
  };
  const guard: Guard = { mayRead, mayWrite, word };
  const bytes = guarded ? guardedView(raw, guard) : raw;
  const mapped: MappedRegion = Object.freeze({
    symbol,
    region,
    size: raw.length,
    perms,
    writable,
    bytes,
    writableBytes() {
      mayWrite();
      return bytes;
    },
  });
  memory.set(mapped, raw);
  guards.set(mapped, guard);
  return mapped;
}

/** TypedArray methods that write the array: each checks `mayWrite` once, then runs on the real array. */
const MUTATORS = new Set<PropertyKey>(["set", "fill", "copyWithin", "reverse", "sort"]);
/** Properties that would hand out the shared memory itself. */
const HIDDEN = new Set<PropertyKey>(["buffer"]);

/**
 * What `.buffer` of a guarded view is: an opaque stand-in for the SharedArrayBuffer that only the `DataView`
 * endowed to a confined program (pd/confine.ts) accepts, making a guarded DataView over the same memory.
 */
export interface GuardedBuffer {
  readonly byteLength: number;
}

const buffers = new WeakMap<GuardedBuffer, { readonly buffer: ArrayBufferLike; readonly guard: Guard }>();

/** DataView methods that write. */
const DATAVIEW_SETTERS = /^set/;

/**
 * `new DataView(buffer, byteOffset, byteLength)` for a confined program: over a guarded buffer, a DataView whose
 * set* methods check the region's rights and liveness first, and its get* methods the liveness, and which hides
 * its buffer; over anything else, a plain DataView.
 */
export function confinedDataView(buffer: unknown, byteOffset?: number, byteLength?: number): DataView {
  const guarded = typeof buffer === "object" && buffer !== null ? buffers.get(buffer as GuardedBuffer) : undefined;
  if (guarded === undefined) return new DataView(buffer as ArrayBuffer, byteOffset, byteLength);
  const target = new DataView(guarded.buffer, byteOffset, byteLength);
  const methods = new Map<PropertyKey, unknown>();
  return new Proxy(target, {
    get(t, key) {
      if (key === "buffer") return buffer;
      const value: unknown = Reflect.get(t, key, t);
      if (typeof value !== "function") return value;
      let wrapped = methods.get(key);
      if (wrapped === undefined) {
        const fn = value as (...args: unknown[]) => unknown;
        const check = typeof key === "string" && DATAVIEW_SETTERS.test(key) ? guarded.guard.mayWrite : guarded.guard.mayRead;
        wrapped = Object.freeze((...args: unknown[]) => {
          check();
          return fn.apply(t, args);
        });
        methods.set(key, wrapped);
      }
      return wrapped;
    },
    set: () => false,
    defineProperty: () => false,
    deleteProperty: () => false,
    setPrototypeOf: () => false,
  });
}

/** Each guarded view's real array and checks, for `unguarded`. */
const views = new WeakMap<object, { readonly target: Uint8Array; readonly guard: Guard }>();

/**
 * The real array under a guarded view, for a host function that needs a true typed array (TextDecoder.decode,
 * TextEncoder.encodeInto, as endowed to a confined program, and the layout and Cap'n Proto modules); the view's
 * write check runs first if `forWrite`, else its read check. Any other value is returned as it is.
 */
export function unguarded(value: unknown, forWrite: boolean): unknown {
  const view = typeof value === "object" && value !== null ? views.get(value) : undefined;
  if (view === undefined) return value;
  if (forWrite) view.guard.mayWrite();
  else view.guard.mayRead();
  return view.target;
}

/**
 * The real memory under a guarded view's `.buffer` stand-in (for the layout module's views over a region's
 * buffer); the checks as `unguarded`. Any other value is returned as it is.
 */
export function unguardedBuffer(value: unknown, forWrite: boolean): unknown {
  const stand = typeof value === "object" && value !== null ? buffers.get(value as GuardedBuffer) : undefined;
  if (stand === undefined) return value;
  if (forWrite) stand.guard.mayWrite();
  else stand.guard.mayRead();
  return stand.buffer;
}

/**
 * A Uint8Array-like Proxy over `target`: element reads and non-mutating methods go to the real array (methods
 * run on it, never on the proxy, so they work at native speed once called); every access first runs the
 * guard's read check (one `Atomics.load` of the liveness word for a mapping made through a capability, nothing
 * for a map of the description), a method call again (a program may keep the method); element writes and
 * mutating methods run `mayWrite` (the map's rights, then the same load); `buffer` is a GuardedBuffer
 * stand-in; `subarray` returns another guarded view with the same guard. Nothing but elements can be set.
 */
function guardedView(target: Uint8Array, guard: Guard): Uint8Array {
  const { mayRead, mayWrite, word } = guard;
  const methods = new Map<PropertyKey, unknown>();
  let stand: GuardedBuffer | undefined;
  const standIn = (): GuardedBuffer => {
    if (stand === undefined) {
      stand = Object.freeze({ byteLength: target.buffer.byteLength });
      buffers.set(stand, { buffer: target.buffer, guard });
    }
    return stand;
  };
  const method = (key: PropertyKey, fn: (...args: unknown[]) => unknown): unknown => {
    let wrapped = methods.get(key);
    if (wrapped === undefined) {
      wrapped =
        key === "subarray"
          ? (...args: unknown[]) => {
              mayRead();
              return guardedView(fn.apply(target, args) as Uint8Array, guard);
            }
          : MUTATORS.has(key)
            ? (...args: unknown[]) => {
                mayWrite();
                fn.apply(target, args);
                return proxy;
              }
            : (...args: unknown[]) => {
                mayRead();
                const result = fn.apply(target, args);
                return result === target ? proxy : result;
              };
      methods.set(key, Object.freeze(wrapped));
    }
    return wrapped;
  };
  const proxy: Uint8Array = new Proxy(target, {
    get(t, key) {
      if (word !== undefined && Atomics.load(word, 0) === 0) mayRead(); // throws: the kernel cleared the word
      if (HIDDEN.has(key)) return standIn();
      const value: unknown = Reflect.get(t, key, t);
      return typeof value === "function" ? method(key, value as (...args: unknown[]) => unknown) : value;
    },
    set(t, key, value) {
      if (typeof key === "string" && /^(0|[1-9]\d*)$/.test(key)) {
        mayWrite();
        return Reflect.set(t, key, value, t);
      }
      return false;
    },
    defineProperty: () => false,
    deleteProperty: () => false,
    setPrototypeOf: () => false,
  });
  views.set(proxy, { target, guard });
  return proxy;
}

/** The mapping named `symbol` in the running PD; `InvalidArgument` naming what is mapped if there is none. */
export function memoryRegion(symbol: string): MappedRegion {
  return currentPd("memoryRegion").region(symbol);
}

// ---- shared regions made at run time (seed 002's SharedRegion), reached through capabilities ------------------
//
// For a region, RECEIVE is the right to map it for reading and SEND the right to map it for writing; GRANT and
// REVOKE are as for any capability. Transfer modes: share (grant the capability: both map the same memory),
// read-only (grant RECEIVE without SEND: the mapping's writableBytes() refuses — cooperative, as for
// perms="r" in a trusted PD, enforced in a confined one), and move (`moveBuffer`: an ArrayBuffer moved by engine
// transfer, detached from the sender — enforced). Revoking a region capability stops later maps. In a trusted PD
// memory already mapped stays reachable, because a SharedArrayBuffer cannot be taken back from an isolate that has
// seen it; in a confined PD its guarded views stop reading and writing once this PD no longer holds the capability
// (closed here, revoked by any PD up its derivation tree, its region destroyed): the kernel clears the mapping's
// liveness word (RegionGrant.live), which the views load before each access.

/** A shared region owned by this PD: its id, a capability with every right (to derive and grant), and its memory. */
export function createRegion(size: number): { id: number; cap: Capability; region: MappedRegion } {
  const client = currentPd("createRegion").ipcClient("createRegion");
  const { id, cap } = client.createRegion(size);
  // Mapped like any region capability, for its liveness word: the creator's own views stop too once its
  // capability goes (closed here, or moved away).
  const { buffer, live } = client.mapRegion(cap);
  return { id, cap, region: makeMappedRegion(`region ${id}`, `region ${id}`, buffer, "rw", live) };
}

/** Maps the region a capability names: readable with RECEIVE, writable too with SEND. */
export function mapRegion(cap: Capability): MappedRegion {
  const { object, buffer, writable, live } = currentPd("mapRegion").ipcClient("mapRegion").mapRegion(cap);
  return makeMappedRegion(`region ${object}`, `region ${object}`, buffer, writable ? "rw" : "r", live);
}

/** Moves an ArrayBuffer to another PD (engine transfer: detached here when this returns). */
export function moveBuffer(buffer: ArrayBuffer, to: string | number, name: string): void {
  currentPd("moveBuffer").ipcClient("moveBuffer").moveBuffer(buffer, to, name);
}

/** Waits for an ArrayBuffer moved to this PD under `name`. */
export function receiveBuffer(name: string, options?: WaitFor): { buffer: ArrayBuffer; from: string } {
  return currentPd("receiveBuffer").ipcClient("receiveBuffer").receiveBuffer(name, options);
}
