/**
 * Cap'n Proto messages in shared regions (seed 004: "send Cap'n Proto segments ... or map shared buffers to
 * avoid copying large payloads"), on capnp-es.
 *
 * Framing in a region, at a byte offset the two sides agree on (a multiple of 8):
 *
 *    offset + 0   u32 length   bytes of the Cap'n Proto message that follows
 *    offset + 4   u32 0        reserved
 *    offset + 8   the message in Cap'n Proto's standard stream framing: u32 (segment count - 1), one u32 size
 *                 (in 8-byte words) per segment, padding to 8 bytes, then the segments — exactly what
 *                 `capnp encode` writes and `capnp decode` reads.
 *
 * What is copied: writing copies the message's segments into the region once. Reading checks the framing
 * (segment count and sizes against the length and the region, so a hostile writer cannot point the reader
 * outside the message) and then hands capnp-es a copy of the message: capnp-es reads only from buffers it
 * owns (it copies any view it is given, and cannot read a segment at an offset inside a SharedArrayBuffer).
 * After that one copy, fields are read lazily in place in that copy, as Cap'n Proto intends.
 *
 * The region is touched only through `set`, `slice` and `length`, never through its `.buffer`: so a confined
 * PD's guarded region view (pd/regions.ts) works as well as a Uint8Array, with its checks (rights, liveness)
 * made once per call.
 */

import * as capnp from "capnp-es";
import { IpcError } from "../errors.ts";

export const CAPNP_HEADER_BYTES = 8;
/** Most segments a message read from a region may have (Cap'n Proto's own readers refuse far fewer than 2^32). */
export const MAX_SEGMENTS = 512;

function bad(what: string): IpcError {
  return new IpcError("InvalidMessage", `capnp: ${what}`, { operation: "readCapnp" });
}

/** Writes `message` framed at `offset` of `region`; returns the bytes used (header included). */
export function writeCapnp(region: Uint8Array, offset: number, message: capnp.Message): number {
  if (!Number.isInteger(offset) || offset < 0 || offset % 8 !== 0) {
    throw new IpcError("InvalidMemoryRegion", `writeCapnp: offset must be a non-negative multiple of 8 (got ${String(offset)})`, { operation: "writeCapnp" });
  }
  const bytes = new Uint8Array(message.toArrayBuffer());
  if (offset + CAPNP_HEADER_BYTES + bytes.length > region.length) {
    throw new IpcError("MessageTooLarge", `writeCapnp: a ${bytes.length}-byte message at ${offset} does not fit the ${region.length}-byte region`, {
      operation: "writeCapnp",
    });
  }
  const header = new Uint8Array(CAPNP_HEADER_BYTES);
  new DataView(header.buffer).setUint32(0, bytes.length, true);
  region.set(bytes, offset + CAPNP_HEADER_BYTES);
  region.set(header.subarray(4), offset + 4);
  region.set(header.subarray(0, 4), offset); // the length last: a reader that polls it sees a whole message
  return CAPNP_HEADER_BYTES + bytes.length;
}

/** The framed message bytes at `offset` (checked), without decoding them: for `capnp decode` and the like. */
export function capnpBytes(region: Uint8Array, offset: number): Uint8Array<ArrayBuffer> {
  if (!Number.isInteger(offset) || offset < 0 || offset % 8 !== 0 || offset + CAPNP_HEADER_BYTES > region.length) {
    throw new IpcError("InvalidMemoryRegion", `readCapnp: no message header fits at ${String(offset)} in a ${region.length}-byte region`, { operation: "readCapnp" });
  }
  const length = new DataView(region.slice(offset, offset + 4).buffer).getUint32(0, true); // read once, in a copy
  const start = offset + CAPNP_HEADER_BYTES;
  if (length < 8 || length % 8 !== 0 || start + length > region.length) throw bad(`a message of ${length} bytes does not fit the region at ${offset}`);
  // Copied once, here, into memory of our own: the writer shares the region and must not be able to change
  // what we check and read.
  // (`slice` makes a typed array over a new ArrayBuffer, for a Uint8Array over shared memory and a guarded view alike.)
  const copy = region.slice(start, start + length);
  const bytes = copy.buffer instanceof ArrayBuffer ? copy : new Uint8Array(copy);
  const view = new DataView(bytes.buffer);
  const segments = view.getUint32(0, true) + 1;
  if (segments > MAX_SEGMENTS) throw bad(`${segments} segments (at most ${MAX_SEGMENTS})`);
  const table = Math.ceil((4 + 4 * segments) / 8) * 8;
  if (table > length) throw bad("the segment table is longer than the message");
  let words = 0;
  for (let i = 0; i < segments; i++) words += view.getUint32(4 + 4 * i, true);
  if (table + words * 8 !== length) throw bad(`the segment table claims ${table + words * 8} bytes, the message has ${length}`);
  return bytes;
}

/** The Cap'n Proto message framed at `offset` of `region`, checked, ready for `getRoot(Schema)`. */
export function readCapnp(region: Uint8Array, offset: number): capnp.Message {
  const bytes = capnpBytes(region, offset);
  try {
    return new capnp.Message(bytes.buffer, false);
  } catch (error) {
    throw new IpcError("InvalidMessage", `capnp: the message cannot be read (${error instanceof Error ? error.message : String(error)})`, { operation: "readCapnp" }, { cause: error });
  }
}
