/**
 * Views: typed accessors over a buffer at the offsets a layout fixes. A struct view's class is made once per
 * layout (a getter and a setter per field, each a closure over the field's offset), so reading or writing a
 * primitive field allocates nothing; nested structs, arrays and vecs hand out sub-views made on first access
 * and kept. Strings allocate (a JS string is a copy by nature).
 *
 * A view can be detached (`detach`): every accessor then throws, saying why (a lent value, while it is lent).
 * A read-only view's setters throw `PermissionDenied`. Values read from a buffer another PD wrote are checked
 * on access (see types.ts) and refused with `InvalidMessage`.
 */

import { IpcError } from "../errors.ts";
import type { StructValue, ValueOf } from "./layout.ts";
import type { FieldType, StructType, Type } from "./types.ts";

/** What every view of one buffer shares: the memory, the write permission and the detached state. */
interface Core {
  readonly dv: DataView;
  readonly bytes: Uint8Array;
  readonly mutable: boolean;
  /** Why the view cannot be used now (set while lent), or undefined. */
  detached: string | undefined;
}

export type View<V> = V extends readonly (infer E)[] ? ArrayView<E> : V extends Record<string, unknown> ? StructView<V> : V;

/** A struct's fields as properties, plus helpers that cannot clash with field names. */
export type StructView<V extends Record<string, unknown>> = {
  -readonly [K in keyof V]: V[K] extends readonly unknown[] ? ArrayView<V[K][number]> : V[K] extends Record<string, unknown> ? StructView<V[K]> : V[K];
} & {
  /** The whole value as a plain object (strings, bigints and arrays copied out). */
  $get(): V;
  /** Writes the whole value. */
  $set(value: V): void;
};

export interface ArrayView<E> extends Iterable<View<E>> {
  /** For an array, its fixed length; for a vec, how many items it holds now. */
  readonly length: number;
  get(index: number): View<E>;
  set(index: number, value: E): void;
  /** A vec only: appends one item; throws `InvalidArgument` when the vec is full (flatipc drops silently). */
  push(value: E): void;
  /** The items as plain values. */
  toArray(): E[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function invalid(what: string): IpcError {
  return new IpcError("InvalidMessage", `layout: ${what}`, { operation: "fromSlice" });
}

function usable(core: Core): void {
  if (core.detached !== undefined) throw new IpcError("ResourceBusy", `layout: this value is ${core.detached}`, { operation: "layout" });
}

function writable(core: Core): void {
  usable(core);
  if (!core.mutable) throw new IpcError("PermissionDenied", "layout: this view is read-only (fromSlice); use fromSliceMut to write", { operation: "layout" });
}

/** Reads the value of `type` at byte `at` (checked as an untrusted writer's). */
function read(core: Core, at: number, type: FieldType): unknown {
  const dv = core.dv;
  switch (type.kind) {
    case "primitive":
      switch (type.name) {
        case "u8":
          return dv.getUint8(at);
        case "u16":
          return dv.getUint16(at, true);
        case "u32":
          return dv.getUint32(at, true);
        case "u64":
          return dv.getBigUint64(at, true);
        case "i8":
          return dv.getInt8(at);
        case "i16":
          return dv.getInt16(at, true);
        case "i32":
          return dv.getInt32(at, true);
        case "i64":
          return dv.getBigInt64(at, true);
        case "f32":
          return dv.getFloat32(at, true);
        case "f64":
          return dv.getFloat64(at, true);
        case "bool": {
          const b = dv.getUint8(at);
          if (b > 1) throw invalid(`a bool holds ${b}`);
          return b === 1;
        }
        case "char": {
          const c = dv.getUint32(at, true);
          if (c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) throw invalid(`a char holds 0x${c.toString(16)}, not a Unicode scalar value`);
          return String.fromCodePoint(c);
        }
      }
      break;
    case "string": {
      const length = dv.getUint32(at, true);
      if (length > type.bound) throw invalid(`a string claims ${length} bytes, its bound is ${type.bound}`);
      // A copy: TextDecoder cannot read a SharedArrayBuffer in place, and a string is a copy anyway.
      return decoder.decode(core.bytes.slice(at + 4, at + 4 + length));
    }
    case "option": {
      const tag = dv.getUint8(at);
      if (tag > 1) throw invalid(`an option's tag holds ${tag}`);
      return tag === 0 ? undefined : read(core, at + type.valueOffset, type.of);
    }
    case "array":
    case "vec":
      return new ArrayAccessor(core, at, type);
    case "struct":
      return makeStructView(core, at, type);
  }
  throw invalid("unknown type");
}

/** Writes `value` as `type` at byte `at`; refuses values that do not fit with `InvalidArgument`. */
function write(core: Core, at: number, type: FieldType, value: unknown): void {
  const dv = core.dv;
  const wrong = (what: string): IpcError => new IpcError("InvalidArgument", `layout: ${what}`, { operation: "layout" });
  switch (type.kind) {
    case "primitive": {
      const name = type.name;
      if (name === "u64" || name === "i64") {
        if (typeof value !== "bigint") throw wrong(`a ${name} field takes a bigint, got ${typeof value}`);
        const ok = name === "u64" ? value >= 0n && value < 1n << 64n : value >= -(1n << 63n) && value < 1n << 63n;
        if (!ok) throw wrong(`${value} does not fit a ${name}`);
        if (name === "u64") dv.setBigUint64(at, value, true);
        else dv.setBigInt64(at, value, true);
        return;
      }
      if (name === "bool") {
        if (typeof value !== "boolean") throw wrong(`a bool field takes a boolean, got ${typeof value}`);
        dv.setUint8(at, value ? 1 : 0);
        return;
      }
      if (name === "char") {
        const c = typeof value === "string" ? value.codePointAt(0) : undefined;
        if (typeof value !== "string" || c === undefined || String.fromCodePoint(c) !== value) throw wrong("a char field takes a string of exactly one code point");
        dv.setUint32(at, c, true);
        return;
      }
      if (typeof value !== "number" || Number.isNaN(value)) throw wrong(`a ${name} field takes a number, got ${String(value)}`);
      if (name === "f32") { dv.setFloat32(at, value, true); return; }
      if (name === "f64") { dv.setFloat64(at, value, true); return; }
      const bits = Number(name.slice(1));
      const signed = name.startsWith("i");
      const low = signed ? -(2 ** (bits - 1)) : 0;
      const high = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
      if (!Number.isInteger(value) || value < low || value > high) throw wrong(`${value} does not fit a ${name}`);
      if (name === "u8") dv.setUint8(at, value);
      else if (name === "u16") dv.setUint16(at, value, true);
      else if (name === "u32") dv.setUint32(at, value, true);
      else if (name === "i8") dv.setInt8(at, value);
      else if (name === "i16") dv.setInt16(at, value, true);
      else dv.setInt32(at, value, true);
      return;
    }
    case "string": {
      if (typeof value !== "string") throw wrong(`a string field takes a string, got ${typeof value}`);
      const encoded = encoder.encode(value);
      if (encoded.length > type.bound) throw wrong(`${encoded.length} bytes of UTF-8 do not fit a string bounded to ${type.bound}`);
      dv.setUint32(at, encoded.length, true);
      core.bytes.set(encoded, at + 4);
      core.bytes.fill(0, at + 4 + encoded.length, at + 4 + type.bound); // no stale bytes after the end
      return;
    }
    case "option":
      if (value === undefined) {
        dv.setUint8(at, 0);
        core.bytes.fill(0, at + type.valueOffset, at + type.size);
      } else {
        write(core, at + type.valueOffset, type.of, value);
        dv.setUint8(at, 1);
      }
      return;
    case "array": {
      if (!Array.isArray(value) || value.length !== type.length) throw wrong(`an array field takes exactly ${type.length} items`);
      value.forEach((item, i) => { write(core, at + i * type.of.size, type.of, item); });
      return;
    }
    case "vec": {
      if (!Array.isArray(value)) throw wrong("a vec field takes an array");
      if (value.length > type.bound) throw wrong(`${value.length} items do not fit a vec bounded to ${type.bound}`);
      value.forEach((item, i) => { write(core, at + type.itemsOffset + i * type.of.size, type.of, item); });
      dv.setUint32(at, value.length, true);
      return;
    }
    case "struct": {
      if (typeof value !== "object" || value === null) throw wrong("a struct field takes an object");
      const record = value as Record<string, unknown>;
      for (const field of type.fields) {
        if (!(field.name in record)) throw wrong(`missing field '${field.name}'`);
        write(core, at + field.offset, field.type, record[field.name]);
      }
      return;
    }
  }
}

/** A plain copy of the value of `type` at `at`. */
function plain(core: Core, at: number, type: FieldType): unknown {
  const value = read(core, at, type);
  if (value instanceof ArrayAccessor) return value.toArray();
  if (type.kind === "struct") {
    const out: Record<string, unknown> = {};
    for (const field of type.fields) out[field.name] = plain(core, at + field.offset, field.type);
    return out;
  }
  if (type.kind === "option" && value !== undefined && type.of.kind === "struct") return plain(core, at + type.valueOffset, type.of);
  return value;
}

class ArrayAccessor<E> implements ArrayView<E> {
  readonly #core: Core;
  readonly #at: number;
  readonly #type: Extract<FieldType, { kind: "array" | "vec" }>;

  constructor(core: Core, at: number, type: Extract<FieldType, { kind: "array" | "vec" }>) {
    this.#core = core;
    this.#at = at;
    this.#type = type;
  }

  get length(): number {
    usable(this.#core);
    const type = this.#type;
    if (type.kind === "array") return type.length;
    const length = this.#core.dv.getUint32(this.#at, true);
    if (length > type.bound) throw invalid(`a vec claims ${length} items, its bound is ${type.bound}`);
    return length;
  }

  #offset(index: number): number {
    const type = this.#type;
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw new IpcError("InvalidArgument", `layout: index ${String(index)} is outside 0..${this.length - 1}`, { operation: "layout" });
    }
    return this.#at + (type.kind === "vec" ? type.itemsOffset : 0) + index * type.of.size;
  }

  get(index: number): View<E> {
    return read(this.#core, this.#offset(index), this.#type.of) as View<E>;
  }

  set(index: number, value: E): void {
    writable(this.#core);
    write(this.#core, this.#offset(index), this.#type.of, value);
  }

  push(value: E): void {
    writable(this.#core);
    const type = this.#type;
    if (type.kind !== "vec") throw new IpcError("InvalidArgument", "layout: push on a fixed-length array", { operation: "layout" });
    const length = this.length;
    if (length >= type.bound) throw new IpcError("InvalidArgument", `layout: the vec is full (bound ${type.bound}); the item was not added`, { operation: "layout" });
    write(this.#core, this.#at + type.itemsOffset + length * type.of.size, type.of, value);
    this.#core.dv.setUint32(this.#at, length + 1, true); // the length last: the item is written before it counts
  }

  toArray(): E[] {
    const out: E[] = [];
    for (let i = 0; i < this.length; i++) out.push(plain(this.#core, this.#offset(i), this.#type.of) as E);
    return out;
  }

  *[Symbol.iterator](): Iterator<View<E>> {
    for (let i = 0; i < this.length; i++) yield this.get(i);
  }
}

interface StructViewBase {
  readonly core: Core;
  readonly at: number;
  /** Sub-views (nested structs, arrays, vecs), made on first access and kept. */
  readonly kids: unknown[];
}

type StructCtor = new (core: Core, at: number) => StructViewBase;
const classes = new WeakMap<StructType, StructCtor>();

function structClass(type: StructType): StructCtor {
  let ctor = classes.get(type);
  if (ctor !== undefined) return ctor;
  class Generated implements StructViewBase {
    readonly core: Core;
    readonly at: number;
    readonly kids: unknown[] = [];
    constructor(core: Core, at: number) {
      this.core = core;
      this.at = at;
    }
    $get(): unknown {
      usable(this.core);
      return plain(this.core, this.at, type);
    }
    $set(value: unknown): void {
      writable(this.core);
      write(this.core, this.at, type, value);
    }
  }
  type.fields.forEach((field, index) => {
    const offset = field.offset;
    const ft = field.type;
    const composite = ft.kind === "struct" || ft.kind === "array" || ft.kind === "vec";
    Object.defineProperty(Generated.prototype, field.name, {
      enumerable: true,
      get: primitiveGetter(ft, offset) ??
        (composite
          ? function (this: StructViewBase): unknown {
              usable(this.core);
              return (this.kids[index] ??= read(this.core, this.at + offset, ft));
            }
          : function (this: StructViewBase): unknown {
              usable(this.core);
              return read(this.core, this.at + offset, ft);
            }),
      set(this: StructViewBase, value: unknown) {
        writable(this.core);
        write(this.core, this.at + offset, ft, value);
      },
    });
  });
  ctor = Generated;
  classes.set(type, ctor);
  return ctor;
}

/** The hot fields (numbers) get a getter with the DataView call written out: no switch per access. */
function primitiveGetter(type: FieldType, offset: number): ((this: StructViewBase) => unknown) | undefined {
  if (type.kind !== "primitive") return undefined;
  switch (type.name) {
    case "u8":
      return function () { usable(this.core); return this.core.dv.getUint8(this.at + offset); };
    case "u16":
      return function () { usable(this.core); return this.core.dv.getUint16(this.at + offset, true); };
    case "u32":
      return function () { usable(this.core); return this.core.dv.getUint32(this.at + offset, true); };
    case "i32":
      return function () { usable(this.core); return this.core.dv.getInt32(this.at + offset, true); };
    case "f32":
      return function () { usable(this.core); return this.core.dv.getFloat32(this.at + offset, true); };
    case "f64":
      return function () { usable(this.core); return this.core.dv.getFloat64(this.at + offset, true); };
    case "u64":
      return function () { usable(this.core); return this.core.dv.getBigUint64(this.at + offset, true); };
    case "i64":
      return function () { usable(this.core); return this.core.dv.getBigInt64(this.at + offset, true); };
    default:
      return undefined;
  }
}

function makeStructView(core: Core, at: number, type: StructType): StructViewBase {
  return new (structClass(type))(core, at);
}

/** A view of a value of `type` at byte `offset` of `bytes`. */
export function viewOf<T extends Type<Record<string, unknown>> & StructType>(
  type: T,
  bytes: Uint8Array,
  offset: number,
  mutable: boolean,
): StructView<ValueOf<T> extends Record<string, unknown> ? ValueOf<T> : never> {
  if (offset < 0 || offset + type.size > bytes.length) {
    throw new IpcError("InvalidArgument", `layout: ${type.size} bytes at ${offset} do not fit a ${bytes.length}-byte buffer`, { operation: "layout" });
  }
  const core: Core = { dv: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), bytes, mutable, detached: undefined };
  return makeStructView(core, offset, type) as never;
}

/** Makes every accessor of `view` (and its sub-views) throw `ResourceBusy` naming `why`, until `attach`. */
export function detach(view: object, why: string): void {
  (view as StructViewBase).core.detached = why;
}

export function attach(view: object): void {
  (view as StructViewBase).core.detached = undefined;
}

/** Writes a whole plain value at `offset` (for toIpc and encoders). */
export function writeValue(type: FieldType, bytes: Uint8Array, offset: number, value: unknown): void {
  const core: Core = { dv: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), bytes, mutable: true, detached: undefined };
  write(core, offset, type, value);
}

export type { StructValue };
