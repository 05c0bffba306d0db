/**
 * Lending (Xous flatipc `lend` / `lend_mut`): the lender hands a typed value to a server for the duration of one
 * protected call. The value lives in a memory region both PDs map; the call carries where it is, so nothing is
 * copied. While it is lent the lender's view is detached (any access throws `ResourceBusy`); when the call
 * returns it is attached again and, for `lendMut`, shows the server's changes.
 *
 * The call's registers: MR0 the layout's signature, MR1 the value's byte offset in the region, MR2 its size,
 * MR3 1 for a mutable lend. The label is the opcode. The server checks all of it (`acceptLend`): a value of
 * another layout, or outside the region, is refused, not read.
 */

import { IpcError } from "../errors.ts";
import { attach, detach, placement, type Layout, type StructView } from "../layout/index.ts";
import { MessageInfo } from "../protocol/message-info.ts";
import type { Channel } from "./channel.ts";
import { regionMemory, unguardedBuffer, type MappedRegion } from "./regions.ts";
import { getMrBig, setMr } from "./registers.ts";

type Result = { readonly ok: true; readonly reply: MessageInfo } | { readonly ok: false; readonly error: IpcError };

function lendWith(channel: Channel, opcode: number, view: object, mutable: boolean, operation: string): MessageInfo {
  const where = placement(view);
  // A view made over a confined PD's guarded region view holds its stand-in buffer: the real one, for the check.
  if (!(unguardedBuffer(where.buffer, false) instanceof SharedArrayBuffer)) {
    throw new IpcError("InvalidMemoryRegion", `${operation}: the value must live in a memory region both PDs map (its buffer is not shared memory)`, {
      operation,
    });
  }
  if (mutable && !where.mutable) throw new IpcError("PermissionDenied", `${operation}: a read-only view cannot be lent mutably`, { operation });
  const { signature, size } = layoutOf(view);
  setMr(0, signature);
  setMr(1, where.offset);
  setMr(2, size);
  setMr(3, mutable ? 1 : 0);
  detach(view, `lent (${operation}, opcode ${opcode}) until the call returns`);
  try {
    return channel.ppcall(new MessageInfo(opcode, 4));
  } finally {
    attach(view);
  }
}

/** Lends `view` read-only to the server at the other end of `channel` for one call. */
export function lend(channel: Channel, opcode: number, view: object): MessageInfo {
  return lendWith(channel, opcode, view, false, "lend");
}

/** Lends `view` for one call; the server may change it, and the changes are seen when the call returns. */
export function lendMut(channel: Channel, opcode: number, view: object): MessageInfo {
  return lendWith(channel, opcode, view, true, "lendMut");
}

/** As `lend`, with failures as a value (flatipc's `try_lend`). */
export function tryLend(channel: Channel, opcode: number, view: object): Result {
  return attempt(() => lend(channel, opcode, view));
}

/** As `lendMut`, with failures as a value (flatipc's `try_lend_mut`). */
export function tryLendMut(channel: Channel, opcode: number, view: object): Result {
  return attempt(() => lendMut(channel, opcode, view));
}

function attempt(f: () => MessageInfo): Result {
  try {
    return { ok: true, reply: f() };
  } catch (error) {
    if (error instanceof IpcError) return { ok: false, error };
    throw error;
  }
}

/**
 * In a server's `protected()`: the value lent by this call, as a view over the server's own mapping of the
 * region — read-only for `lend`, writable for `lendMut`. Null if the call is not a lend of this layout: wrong
 * count, signature or size, a range outside the region or misaligned, a mode word other than 0 or 1, or a
 * mutable lend of a region this PD maps read-only. Every one of those registers is the caller's to choose, so
 * each is read as a bigint and checked before it is used: no value makes this throw (the server answers the
 * null with an error reply of its own and goes on serving). Run the work inside `use`: the view is detached
 * after it. The lender can still write the region while `use` runs; the view checks what it reads (see
 * src/layout/view.ts).
 */
export function acceptLend<V extends Record<string, unknown>, R>(
  layout: Layout<V>,
  region: MappedRegion,
  info: MessageInfo,
  use: (view: StructView<V>, mutable: boolean) => R,
): R | null {
  if (info.count !== 4) return null;
  if (getMrBig(0) !== layout.signature || getMrBig(2) !== BigInt(layout.size)) return null;
  const at = getMrBig(1);
  const mode = getMrBig(3);
  if (mode > 1n || at > BigInt(region.size - layout.size)) return null; // bigints: no sum can overflow
  const offset = Number(at);
  const mutable = mode === 1n;
  if (offset % layout.align !== 0 || (mutable && !region.writable)) return null;
  const view = layout.view(programBytes(region, mutable), offset, mutable);
  try {
    return use(view, mutable);
  } finally {
    detach(view, "a lent value, returned to its lender when the call ended");
  }
}

const layouts = new WeakMap<object, { signature: bigint; size: number }>();

/** Registers which layout a view belongs to (done by `lendable`), so a lend can say what it lends. */
function layoutOf(view: object): { signature: bigint; size: number } {
  const known = layouts.get(view);
  if (known === undefined) {
    throw new IpcError("InvalidArgument", "lend: the value is not a view made with lendable(layout, region, offset)", { operation: "lend" });
  }
  return known;
}

/** A view of a value of `layout` placed at `offset` in a memory region, ready to lend. */
export function lendable<V extends Record<string, unknown>>(layout: Layout<V>, region: MappedRegion, offset: number): StructView<V> {
  const view = layout.view(programBytes(region, true), offset, true);
  layouts.set(view, { signature: layout.signature, size: layout.size });
  return view;
}

/**
 * The bytes a view handed to the program is made over: the program's own view of the mapping (guarded in a
 * confined PD, so the layout view's accessors check the map's rights and liveness, and nothing the view holds
 * leads to the shared memory), after checking that `region` is a mapping this PD's runtime made.
 */
function programBytes(region: MappedRegion, mutable: boolean): Uint8Array {
  regionMemory(region, mutable); // the runtime's record of it: throws for anything else, or without the rights
  return mutable ? region.writableBytes() : (region.bytes as Uint8Array);
}
