/**
 * Memory regions mapped into the running PD (Microkit `<map mr=... setvar_vaddr=...>`; seed 000's
 * `memory_region_symbol!`). A PD finds a mapping by its `setvar_vaddr` name (else the region's name).
 *
 * What is enforced: a PD receives only the regions its description maps into it (the kernel hands it those
 * SharedArrayBuffers and no others). What is not: a map without `w` is read-only by type and by
 * `writableBytes()` refusing, but the PD's isolate holds the SharedArrayBuffer itself, and JavaScript has no
 * read-only view of shared memory — a hostile PD can write to it. Treat `perms="r"` as cooperative.
 */

import { IpcError } from "../errors.ts";
import type { Capability } from "../ipc/capability.ts";
import type { WaitFor } from "../ipc/client.ts";
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

export function makeMappedRegion(symbol: string, region: string, buffer: SharedArrayBuffer | ArrayBuffer, perms: string): MappedRegion {
  const bytes = new Uint8Array(buffer);
  const writable = perms.includes("w");
  return {
    symbol,
    region,
    size: bytes.length,
    perms,
    writable,
    bytes,
    writableBytes() {
      if (!writable) {
        throw new IpcError("PermissionDenied", `memoryRegion: '${symbol}' (region '${region}') is mapped with perms="${perms}", not writable`, {
          operation: "memoryRegion",
        });
      }
      return bytes;
    },
  };
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
// perms="r"), and move (`moveBuffer`: an ArrayBuffer moved by engine transfer, detached from the sender —
// enforced). Revoking a region capability stops later maps; memory already mapped stays reachable, because a
// SharedArrayBuffer cannot be taken back from an isolate that has seen it.

/** A shared region owned by this PD: its id, a capability with every right (to derive and grant), and its memory. */
export function createRegion(size: number): { id: number; cap: Capability; region: MappedRegion } {
  const { id, cap, buffer } = currentPd("createRegion").ipcClient("createRegion").createRegion(size);
  return { id, cap, region: makeMappedRegion(`region ${id}`, `region ${id}`, buffer, "rw") };
}

/** Maps the region a capability names: readable with RECEIVE, writable too with SEND. */
export function mapRegion(cap: Capability): MappedRegion {
  const { object, buffer, writable } = currentPd("mapRegion").ipcClient("mapRegion").mapRegion(cap);
  return makeMappedRegion(`region ${object}`, `region ${object}`, buffer, writable ? "rw" : "r");
}

/** Moves an ArrayBuffer to another PD (engine transfer: detached here when this returns). */
export function moveBuffer(buffer: ArrayBuffer, to: string | number, name: string): void {
  currentPd("moveBuffer").ipcClient("moveBuffer").moveBuffer(buffer, to, name);
}

/** Waits for an ArrayBuffer moved to this PD under `name`. */
export function receiveBuffer(name: string, options?: WaitFor): { buffer: ArrayBuffer; from: string } {
  return currentPd("receiveBuffer").ipcClient("receiveBuffer").receiveBuffer(name, options);
}
