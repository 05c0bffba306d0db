/**
 * A codec for rich values a fixed layout does not fit (maps, variable lists, nested records): MessagePack on
 * msgpackr, with a size limit on both sides and typed errors. The receiver's limit is what protects it: a
 * message over `maxBytes` is refused before it is decoded, and malformed bytes (truncated, trailing garbage,
 * an unknown extension) are refused with `InvalidMessage` — never a raw library error.
 *
 * Values: what MessagePack carries — null, undefined, booleans, numbers (-0 comes back as 0), bigints (64-bit),
 * strings, Uint8Arrays (decoded as Node Buffers, a Uint8Array subclass), arrays, plain objects, Maps, Dates.
 * Anything else (a function, a symbol, a class instance) is refused on encode with `InvalidArgument` rather
 * than sent as something the receiver would misread.
 */

import { C1, Packr, Unpackr } from "msgpackr";
import { IpcError } from "../errors.ts";

export interface CodecLimits {
  /** Largest encoded message, in bytes. Default 64 KiB. */
  readonly maxBytes?: number;
}

export const DEFAULT_MAX_BYTES = 64 * 1024;

// Records and structures off: every message stands alone (no shared state between encoder and decoder that a
// peer could desynchronise), and a message decodes the same in any PD.
const packr = new Packr({ useRecords: false, moreTypes: false, largeBigIntToFloat: false, int64AsType: "bigint" });
const unpackr = new Unpackr({ useRecords: false, moreTypes: false, int64AsType: "bigint", mapsAsObjects: true });

function limitOf(limits: CodecLimits, operation: string): number {
  const max = limits.maxBytes ?? DEFAULT_MAX_BYTES;
  if (!Number.isInteger(max) || max < 1) throw new IpcError("InvalidArgument", `${operation}: maxBytes must be a positive integer (got ${String(max)})`, { operation });
  return max;
}

/** Encodes `value`; `MessageTooLarge` if the encoding is over the limit, `InvalidArgument` if it cannot be encoded. */
export function encodeValue(value: unknown, limits: CodecLimits = {}): Uint8Array {
  const max = limitOf(limits, "encodeValue");
  checkEncodable(value, 0);
  let bytes: Uint8Array;
  try {
    bytes = packr.pack(value);
  } catch (error) {
    throw new IpcError("InvalidArgument", `encodeValue: the value cannot be encoded as MessagePack (${describe(error)})`, { operation: "encodeValue" }, { cause: error });
  }
  if (bytes.length > max) {
    throw new IpcError("MessageTooLarge", `encodeValue: the value encodes to ${bytes.length} bytes, over the limit of ${max}`, { operation: "encodeValue" });
  }
  return bytes;
}

/** Decodes one value that must fill `bytes` exactly; `MessageTooLarge` over the limit, `InvalidMessage` if malformed. */
export function decodeValue(bytes: Uint8Array, limits: CodecLimits = {}): unknown {
  const max = limitOf(limits, "decodeValue");
  if (!(bytes instanceof Uint8Array)) throw new IpcError("InvalidArgument", "decodeValue: expected a Uint8Array", { operation: "decodeValue" });
  if (bytes.length > max) {
    throw new IpcError("MessageTooLarge", `decodeValue: ${bytes.length} bytes are over the limit of ${max}`, { operation: "decodeValue" });
  }
  if (bytes.length === 0) throw new IpcError("InvalidMessage", "decodeValue: an empty message", { operation: "decodeValue" });
  // msgpackr keeps a reference to its source while decoding; a SharedArrayBuffer another PD can still write is
  // copied first, so the bytes cannot change under the decoder.
  const source = bytes.buffer instanceof SharedArrayBuffer ? bytes.slice() : bytes;
  let values: unknown[];
  try {
    values = unpackr.unpackMultiple(source) as unknown[];
  } catch (error) {
    throw new IpcError("InvalidMessage", `decodeValue: not a well-formed MessagePack value (${describe(error)})`, { operation: "decodeValue" }, { cause: error });
  }
  if (values.length !== 1) {
    throw new IpcError("InvalidMessage", `decodeValue: ${values.length} values where one was expected (trailing bytes)`, { operation: "decodeValue" });
  }
  const value = values[0];
  checkDecoded(value, 0);
  return value;
}

/** Refuses what msgpackr lets through as a value: the never-used byte 0xc1 (its `C1` marker), too deep nesting. */
function checkDecoded(value: unknown, depth: number): void {
  if (depth > 512) throw new IpcError("InvalidMessage", "decodeValue: nested more than 512 levels deep", { operation: "decodeValue" });
  if (value === C1) throw new IpcError("InvalidMessage", "decodeValue: the byte 0xc1, which MessagePack never uses", { operation: "decodeValue" });
  if (typeof value !== "object" || value === null || value instanceof Uint8Array || value instanceof Date) return;
  if (Array.isArray(value)) {
    for (const item of value) checkDecoded(item, depth + 1);
  } else if (value instanceof Map) {
    for (const [k, v] of value) {
      checkDecoded(k, depth + 1);
      checkDecoded(v, depth + 1);
    }
  } else {
    for (const v of Object.values(value)) checkDecoded(v, depth + 1);
  }
}

function checkEncodable(value: unknown, depth: number): void {
  const refuse = (what: string): IpcError => new IpcError("InvalidArgument", `encodeValue: ${what} cannot be sent as data`, { operation: "encodeValue" });
  if (depth > 512) throw refuse("a value nested more than 512 levels deep");
  switch (typeof value) {
    case "function":
      throw refuse("a function");
    case "symbol":
      throw refuse("a symbol");
    case "object":
      break;
    default:
      return;
  }
  if (value === null || value instanceof Uint8Array || value instanceof Date) return;
  if (Array.isArray(value)) {
    for (const item of value) checkEncodable(item, depth + 1);
  } else if (value instanceof Map) {
    for (const [k, v] of value) {
      checkEncodable(k, depth + 1);
      checkEncodable(v, depth + 1);
    }
  } else {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) throw refuse(`an instance of ${value.constructor.name}`);
    for (const v of Object.values(value)) checkEncodable(v, depth + 1);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
