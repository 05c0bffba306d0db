/**
 * A layout as an IPC value: `defineLayout(struct({...}))` gives its size, alignment and signature, `toIpc` (a
 * page-aligned, page-padded buffer: a 16-byte header, then the value), and `fromSlice` / `fromSliceMut`,
 * which return a typed view — or null when the buffer is too short or its signature is not the layout's.
 *
 * IPC value (byte offsets):
 *    0  u64 signature   the layout's signature (layout.ts)
 *    8  u32 size        the value's size in bytes
 *   12  u32 reserved    0
 *   16  the value       (16 is a multiple of every alignment)
 *   ... zero padding to a multiple of 4096
 */

import { IpcError } from "../errors.ts";
import { signatureOf, type StructValue } from "./layout.ts";
import type { StructType, Type } from "./types.ts";
import { dataViewOf, viewOf, writeValue, type StructView } from "./view.ts";

export const PAGE_BYTES = 4096;
export const IPC_HEADER_BYTES = 16;

export interface Layout<V extends Record<string, unknown>> {
  readonly type: StructType;
  readonly size: number;
  readonly align: number;
  /** FNV-1a 64 of the canonical layout (see layout.ts). */
  readonly signature: bigint;
  /** A new page-padded IPC value holding `value`, and a writable view of it. */
  toIpc(value: V): { readonly buffer: SharedArrayBuffer; readonly bytes: Uint8Array; readonly view: StructView<V> };
  /** A read-only view of an IPC value in `bytes`, or null if it is short or was made for another layout. */
  fromSlice(bytes: Uint8Array, signature?: bigint): StructView<V> | null;
  /** As `fromSlice`, writable. */
  fromSliceMut(bytes: Uint8Array, signature?: bigint): StructView<V> | null;
  /** A view of a bare value (no header) at `offset`. */
  view(bytes: Uint8Array, offset?: number, mutable?: boolean): StructView<V>;
  /** Writes a bare value (no header) at `offset`. */
  encode(value: V, bytes: Uint8Array, offset?: number): void;
}

export function defineLayout<F extends Readonly<Record<string, Type<unknown>>>>(type: Type<StructValue<F>> & StructType): Layout<StructValue<F>> {
  type V = StructValue<F>;
  const signature = signatureOf(type);
  const total = Math.ceil((IPC_HEADER_BYTES + type.size) / PAGE_BYTES) * PAGE_BYTES;
  const open = (bytes: Uint8Array, expected: bigint, mutable: boolean): StructView<V> | null => {
    if (!(bytes instanceof Uint8Array) || bytes.length < IPC_HEADER_BYTES + type.size) return null;
    const dv = dataViewOf(bytes, IPC_HEADER_BYTES); // a guarded DataView over a confined PD's region view
    if (dv.getBigUint64(0, true) !== signature || expected !== signature) return null;
    if (dv.getUint32(8, true) !== type.size) return null;
    return viewOf(type, bytes, IPC_HEADER_BYTES, mutable);
  };
  return {
    type,
    size: type.size,
    align: type.align,
    signature,
    toIpc(value) {
      const buffer = new SharedArrayBuffer(total);
      const bytes = new Uint8Array(buffer);
      const dv = new DataView(buffer);
      dv.setBigUint64(0, signature, true);
      dv.setUint32(8, type.size, true);
      writeValue(type, bytes, IPC_HEADER_BYTES, value);
      return { buffer, bytes, view: viewOf(type, bytes, IPC_HEADER_BYTES, true) };
    },
    fromSlice: (bytes, expected = signature) => open(bytes, expected, false),
    fromSliceMut: (bytes, expected = signature) => open(bytes, expected, true),
    view: (bytes, offset = 0, mutable = true) => viewOf(type, bytes, offset, mutable),
    encode(value, bytes, offset = 0) {
      if (offset < 0 || offset + type.size > bytes.length) {
        throw new IpcError("InvalidArgument", `layout: ${type.size} bytes at ${offset} do not fit a ${bytes.length}-byte buffer`, { operation: "encode" });
      }
      writeValue(type, bytes, offset, value);
    },
  };
}
