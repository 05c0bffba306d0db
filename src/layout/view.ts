/**
 * Views: typed accessors over a buffer at the offsets a layout fixes. A struct view's class is made once per
 * layout (a getter and a setter per field, each a closure over the field's offset), so reading or writing a
 * primitive field allocates nothing; nested structs, arrays and vecs hand out sub-views made on first access
 * and kept. Strings allocate (a JS string is a copy by nature); a string is copied out of the buffer before it is
 * decoded, and the only cache of its text is the view's own (see `readString`): nothing read from one buffer is
 * ever handed out for another.
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
// Stateless between calls (no `stream`), so one decoder serves every view.
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function invalid(what: string): IpcError {
  return new IpcError("InvalidMessage", `layout: ${what}`, { operation: "fromSlice" });
}

/**
 * Makes the DataView every view of a buffer reads and writes through. A confined PD's runtime replaces it
 * (`useDataViews`, from pd/regions.ts) with one that also takes the `.buffer` stand-in of a guarded region view
 * and then makes a guarded DataView (each get checks the mapping's liveness, each set also its rights): so a
 * layout view works over a guarded region view, its checks bind, and nothing a view holds (`$core`, `$dv`)
 * leads to the shared memory itself. Called once per view made, never per access.
 */
let makeDataView: (buffer: ArrayBufferLike, byteOffset: number, byteLength: number) => DataView = (buffer, byteOffset, byteLength) =>
  new DataView(buffer, byteOffset, byteLength);

/** Installs the DataView maker (see `makeDataView`); for the PD runtime, before the program loads. */
export function useDataViews(make: (buffer: ArrayBufferLike, byteOffset: number, byteLength: number) => DataView): void {
  makeDataView = make;
}

/** The DataView of `bytes` (all of it, or `byteLength` bytes), through the installed maker. */
export function dataViewOf(bytes: Uint8Array, byteLength = bytes.byteLength): DataView {
  return makeDataView(bytes.buffer, bytes.byteOffset, byteLength);
}

function usable(core: Core): void {
  if (core.detached !== undefined) throw busy(core.detached);
}

// The errors of the hot paths are made out of line: a template string and an options object in an accessor make
// its bytecode several times larger, and V8 then inlines fewer accessors into the caller's loop.

function busy(why: string): IpcError {
  return new IpcError("ResourceBusy", `layout: this value is ${why}`, { operation: "layout" });
}

function claims(what: string, length: number, unit: string, bound: number): IpcError {
  return invalid(`${what} claims ${length} ${unit}, its bound is ${bound}`);
}

function badBool(b: number): never {
  throw invalid(`a bool holds ${b}`);
}

function outside(index: number, length: number): IpcError {
  return new IpcError("InvalidArgument", `layout: index ${String(index)} is outside 0..${length - 1}`, { operation: "layout" });
}

function writable(core: Core): void {
  usable(core);
  if (!core.mutable) throw new IpcError("PermissionDenied", "layout: this view is read-only (fromSlice); use fromSliceMut to write", { operation: "layout" });
}

const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

type Reader = (core: Core, at: number) => unknown;
type Writer = (core: Core, at: number, value: unknown) => void;

const readers = new WeakMap<FieldType, Reader>();
const writers = new WeakMap<FieldType, Writer>();

/** Reads the value of `type` at byte `at` (checked as an untrusted writer's). */
function read(core: Core, at: number, type: FieldType): unknown {
  return readerOf(type)(core, at);
}

/** Writes `value` as `type` at byte `at`; refuses values that do not fit with `InvalidArgument`. */
function write(core: Core, at: number, type: FieldType, value: unknown): void {
  writerOf(type)(core, at, value);
}

function wrong(what: string): IpcError {
  return new IpcError("InvalidArgument", `layout: ${what}`, { operation: "layout" });
}

/** A reader made once per type: the switch on the type runs here, not on every access. */
function readerOf(type: FieldType): Reader {
  let reader = readers.get(type);
  if (reader !== undefined) return reader;
  reader = compileReader(type);
  readers.set(type, reader);
  return reader;
}

function writerOf(type: FieldType): Writer {
  let writer = writers.get(type);
  if (writer !== undefined) return writer;
  writer = compileWriter(type);
  writers.set(type, writer);
  return writer;
}

function compileReader(type: FieldType): Reader {
  switch (type.kind) {
    case "primitive":
      switch (type.name) {
        case "u8":
          return (c, at) => c.dv.getUint8(at);
        case "u16":
          return (c, at) => c.dv.getUint16(at, true);
        case "u32":
          return (c, at) => c.dv.getUint32(at, true);
        case "u64":
          return (c, at) => c.dv.getBigUint64(at, true);
        case "i8":
          return (c, at) => c.dv.getInt8(at);
        case "i16":
          return (c, at) => c.dv.getInt16(at, true);
        case "i32":
          return (c, at) => c.dv.getInt32(at, true);
        case "i64":
          return (c, at) => c.dv.getBigInt64(at, true);
        case "f32":
          return (c, at) => c.dv.getFloat32(at, true);
        case "f64":
          return (c, at) => c.dv.getFloat64(at, true);
        case "bool":
          return (c, at) => {
            const b = c.dv.getUint8(at);
            if (b > 1) badBool(b);
            return b === 1;
          };
        case "char":
          return (c, at) => {
            const v = c.dv.getUint32(at, true);
            if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) throw invalid(`a char holds 0x${v.toString(16)}, not a Unicode scalar value`);
            return String.fromCodePoint(v);
          };
      }
      break;
    case "string": {
      // No cache here: this reader is shared by every view of every buffer with this type (vec items, options,
      // arrays, $get). A cache is kept only per struct view and field (see structClass).
      const bound = type.bound;
      return (c, at) => readString(c, at, bound, undefined);
    }
    case "option": {
      const valueOffset = type.valueOffset;
      const inner = readerOf(type.of);
      return (c, at) => {
        const tag = c.dv.getUint8(at);
        if (tag > 1) throw invalid(`an option's tag holds ${tag}`);
        return tag === 0 ? undefined : inner(c, at + valueOffset);
      };
    }
    case "array":
    case "vec":
      return (c, at) => new ArrayAccessor(c, at, type);
    case "struct":
      return (c, at) => makeStructView(c, at, type);
  }
  throw invalid("unknown type");
}

type Checker = (value: unknown) => void;

const checkers = new WeakMap<FieldType, Checker>();
const rawWriters = new WeakMap<FieldType, Writer>();

/**
 * A writer checks the whole value first and writes only if all of it fits: a refused write changes nothing,
 * however deep the value is. Checking and writing are compiled once per type.
 */
function compileWriter(type: FieldType): Writer {
  if (type.kind === "struct") return compileStruct(type, "both");
  const check = checkerOf(type);
  const raw = rawWriterOf(type);
  return (c, at, v) => {
    check(v);
    raw(c, at, v);
  };
}

function checkerOf(type: FieldType): Checker {
  let checker = checkers.get(type);
  if (checker === undefined) checkers.set(type, (checker = compileChecker(type)));
  return checker;
}

function rawWriterOf(type: FieldType): Writer {
  let writer = rawWriters.get(type);
  if (writer === undefined) rawWriters.set(type, (writer = compileRawWriter(type)));
  return writer;
}

function compileChecker(type: FieldType): Checker {
  switch (type.kind) {
    case "primitive": {
      const name = type.name;
      if (name === "char") {
        return (v) => {
          const cp = typeof v === "string" ? v.codePointAt(0) : undefined;
          if (typeof v !== "string" || cp === undefined || String.fromCodePoint(cp) !== v) throw wrong("a char field takes a string of exactly one code point");
        };
      }
      // The same test the generated struct code inlines (REFUSED), so that a field set on its own and a whole
      // value written with $set accept exactly the same values.
      // eslint-disable-next-line @typescript-eslint/no-implied-eval -- a fixed expression of this module
      const refused = new Function("x", `return ${REFUSED[name]!};`) as (x: unknown) => boolean;
      const expected = name === "bool" ? "a boolean" : name === "u64" || name === "i64" ? `a bigint in the range of an ${name}` : name.startsWith("f") ? "a number (not NaN)" : `an integer in the range of a ${name}`;
      return (v) => {
        if (refused(v)) throw wrong(`a ${name} field takes ${expected}, got ${typeof v === "string" ? JSON.stringify(v) : String(v)}`);
      };
    }
    case "string": {
      const bound = type.bound;
      return (v) => {
        if (typeof v !== "string") throw wrong(`a string field takes a string, got ${typeof v}`);
        if (!stringFits(v, bound)) throw wrong(`${utf8Length(v)} bytes of UTF-8 do not fit a string bounded to ${bound}`);
      };
    }
    case "option": {
      const inner = checkerOf(type.of);
      return (v) => {
        if (v !== undefined) inner(v);
      };
    }
    case "array": {
      const inner = checkerOf(type.of);
      const length = type.length;
      return (v) => {
        if (!Array.isArray(v) || v.length !== length) throw wrong(`an array field takes exactly ${length} items`);
        for (let i = 0; i < length; i++) inner(v[i]);
      };
    }
    case "vec": {
      const inner = checkerOf(type.of);
      const bound = type.bound;
      return (v) => {
        if (!Array.isArray(v)) throw wrong("a vec field takes an array");
        if (v.length > bound) throw wrong(`${v.length} items do not fit a vec bounded to ${bound}`);
        for (let i = 0; i < v.length; i++) inner(v[i]);
      };
    }
    case "struct":
      return compileStruct(type, "check");
  }
}

function compileRawWriter(type: FieldType): Writer {
  switch (type.kind) {
    case "primitive":
      switch (type.name) {
        case "u8":
          return (c, at, v) => { c.dv.setUint8(at, v as number); };
        case "u16":
          return (c, at, v) => { c.dv.setUint16(at, v as number, true); };
        case "u32":
          return (c, at, v) => { c.dv.setUint32(at, v as number, true); };
        case "i8":
          return (c, at, v) => { c.dv.setInt8(at, v as number); };
        case "i16":
          return (c, at, v) => { c.dv.setInt16(at, v as number, true); };
        case "i32":
          return (c, at, v) => { c.dv.setInt32(at, v as number, true); };
        case "u64":
          return (c, at, v) => { c.dv.setBigUint64(at, v as bigint, true); };
        case "i64":
          return (c, at, v) => { c.dv.setBigInt64(at, v as bigint, true); };
        case "f32":
          return (c, at, v) => { c.dv.setFloat32(at, v as number, true); };
        case "f64":
          return (c, at, v) => { c.dv.setFloat64(at, v as number, true); };
        case "bool":
          return (c, at, v) => { c.dv.setUint8(at, v === true ? 1 : 0); };
        case "char":
          return (c, at, v) => { c.dv.setUint32(at, (v as string).codePointAt(0)!, true); };
      }
      break;
    case "string": {
      const bound = type.bound;
      return (c, at, v) => {
        const previous = Math.min(c.dv.getUint32(at, true), bound);
        const length = encodeUtf8(v as string, c.bytes, at + 4, bound);
        c.dv.setUint32(at, length, true);
        if (length < previous) c.bytes.fill(0, at + 4 + length, at + 4 + previous); // no stale bytes after the end
      };
    }
    case "option": {
      const { valueOffset, size } = type;
      const inner = rawWriterOf(type.of);
      return (c, at, v) => {
        if (v === undefined) {
          c.dv.setUint8(at, 0);
          c.bytes.fill(0, at + valueOffset, at + size);
        } else {
          inner(c, at + valueOffset, v);
          c.dv.setUint8(at, 1);
        }
      };
    }
    case "array": {
      const inner = rawWriterOf(type.of);
      const { length, of } = type;
      return (c, at, v) => {
        const items = v as unknown[];
        for (let i = 0; i < length; i++) inner(c, at + i * of.size, items[i]);
      };
    }
    case "vec": {
      const inner = rawWriterOf(type.of);
      const { itemsOffset, of, bound } = type;
      return (c, at, v) => {
        const items = v as unknown[];
        const length = Math.min(items.length, bound); // read once, and never past the bound (a proxy may lie)
        for (let i = 0; i < length; i++) inner(c, at + itemsOffset + i * of.size, items[i]);
        c.dv.setUint32(at, length, true);
      };
    }
    case "struct":
      return compileStruct(type, "write");
  }
  throw wrong("unknown type");
}

/** DataView setter of a primitive that generated code calls directly (`%` is the byte offset, `x` the value). */
const SETTERS: Readonly<Record<string, string>> = {
  u8: "setUint8(%, x)",
  u16: "setUint16(%, x, true)",
  u32: "setUint32(%, x, true)",
  u64: "setBigUint64(%, x, true)",
  i8: "setInt8(%, x)",
  i16: "setInt16(%, x, true)",
  i32: "setInt32(%, x, true)",
  i64: "setBigInt64(%, x, true)",
  f32: "setFloat32(%, x, true)",
  f64: "setFloat64(%, x, true)",
  bool: "setUint8(%, x === true ? 1 : 0)",
};

/**
 * The same test as a primitive's checker, inline on `x`: true when `x` is refused. Integers are tested by
 * truncating them to their width (`(x | 0) === x` holds exactly for the i32 numbers), after `typeof`, so that
 * a bigint or an object with `valueOf` is refused rather than converted.
 */
const REFUSED: Readonly<Record<string, string>> = {
  u8: `typeof x !== "number" || (x & 0xff) !== x`,
  u16: `typeof x !== "number" || (x & 0xffff) !== x`,
  u32: `typeof x !== "number" || (x >>> 0) !== x`,
  i8: `typeof x !== "number" || ((x << 24) >> 24) !== x`,
  i16: `typeof x !== "number" || ((x << 16) >> 16) !== x`,
  i32: `typeof x !== "number" || (x | 0) !== x`,
  u64: `typeof x !== "bigint" || x < 0n || x > ${U64_MAX}n`,
  i64: `typeof x !== "bigint" || x < ${I64_MIN}n || x > ${I64_MAX}n`,
  f32: `typeof x !== "number" || x !== x`,
  f64: `typeof x !== "number" || x !== x`,
  bool: `x !== true && x !== false`,
};

/** A primitive that generated code checks and writes inline (char goes through its closures). */
function inlinePrimitive(type: FieldType): string | undefined {
  return type.kind === "primitive" && type.name in SETTERS ? type.name : undefined;
}

/**
 * A struct's checker, raw writer, or both fused (check everything, then write everything), generated once per
 * layout. Each field is read from the value once, with a plain property access (`v.id`, which V8 caches per
 * site; a keyed access by a field-name variable is several times slower), and the write uses what was checked.
 * Primitives, strings, and arrays and vecs of primitives are checked and written inline; other fields call
 * their own compiled checker (`k[i]`) and raw writer (`w[i]`). When an inline check refuses a field, the
 * field's checker is called for its error message. A vec's length is read once and writes never pass its
 * bound, even in a raw writer whose value was not checked. Field names are identifiers (checked by `struct`)
 * and offsets, bounds and sizes are integers, so the generated text holds nothing else.
 */
function compileStruct(type: StructType, mode: "check"): Checker;
function compileStruct(type: StructType, mode: "write" | "both"): Writer;
function compileStruct(type: StructType, mode: "check" | "write" | "both"): Checker | Writer {
  const load: string[] = [];
  const check: string[] = [];
  const write: string[] = [];
  type.fields.forEach((f, i) => {
    const t = f.type;
    const at = `at + ${f.offset}`;
    const v = `f${i}`;
    load.push(`const ${v} = v.${f.name};`);
    const prim = inlinePrimitive(t);
    if (prim !== undefined) {
      check.push(`x = ${v}; if (${REFUSED[prim]!}) fail(${i}, x);`);
      write.push(`x = ${v}; dv.${SETTERS[prim]!.replace("%", at)};`);
    } else if (t.kind === "string") {
      const b = t.bound;
      check.push(`if (typeof ${v} !== "string" || !stringFits(${v}, ${b})) fail(${i}, ${v});`);
      write.push(
        `{ const p = ${at} + 4; const n = ${v}.length; let q = 0;`,
        `  if (n <= ${b}) {`,
        `    for (; q + 4 <= n; q += 4) {`, // ASCII four characters to a word store; the rest one at a time
        `      const a = ${v}.charCodeAt(q), b = ${v}.charCodeAt(q + 1), d = ${v}.charCodeAt(q + 2), e = ${v}.charCodeAt(q + 3);`,
        `      if ((a | b | d | e) > 0x7f) break;`,
        `      dv.setUint32(p + q, a | (b << 8) | (d << 16) | (e << 24), true);`,
        `    }`,
        `    for (; q < n; q++) { const ch = ${v}.charCodeAt(q); if (ch > 0x7f) break; bytes[p + q] = ch; }`,
        `  }`,
        `  const length = q === n ? n : encodeUtf8(${v}, bytes, p, ${b});`,
        `  const previous = dv.getUint32(${at}, true); dv.setUint32(${at}, length, true);`,
        `  if (length < previous) bytes.fill(0, p + length, p + Math.min(previous, ${b})); }`,
      );
    } else if ((t.kind === "vec" || t.kind === "array") && inlinePrimitive(t.of) !== undefined) {
      const item = inlinePrimitive(t.of)!;
      const n = `n${i}`;
      const first = t.kind === "vec" ? `${at} + ${t.itemsOffset}` : at;
      const count = t.kind === "vec" ? `Math.min(${n}, ${t.bound})` : String(t.length);
      const shape = t.kind === "vec" ? `${n} > ${t.bound}` : `${n} !== ${t.length}`;
      load.push(`const ${n} = Array.isArray(${v}) ? ${v}.length : -1;`);
      check.push(`if (${n} < 0 || ${shape}) fail(${i}, ${v});`, `for (let q = 0; q < ${n}; q++) { x = ${v}[q]; if (${REFUSED[item]!}) fail(${i}, ${v}); }`);
      write.push(`for (let q = 0, end = ${count}; q < end; q++) { x = ${v}[q]; dv.${SETTERS[item]!.replace("%", `${first} + q * ${t.of.size}`)}; }`);
      if (t.kind === "vec") write.push(`dv.setUint32(${at}, ${count}, true);`); // the length last
    } else {
      check.push(`k[${i}](${v});`);
      write.push(`w[${i}](c, ${at}, ${v});`);
    }
  });
  const checks = mode === "write" ? [] : [`if (typeof v !== "object" || v === null) throw wrong("a struct field takes an object");`, ...check];
  const writes = mode === "check" ? [] : ["const dv = c.dv;", "const bytes = c.bytes;", ...write];
  const params = mode === "check" ? "v" : "c, at, v";
  const source = [`return function struct_${mode}(${params}) {`, "let x;", ...checks.slice(0, 1), ...load, ...checks.slice(1), ...writes, "};"].join("\n");
  const k = type.fields.map((f) => checkerOf(f.type));
  const w = type.fields.map((f) => rawWriterOf(f.type));
  const fail = (i: number, value: unknown): never => {
    k[i]!(value);
    throw wrong(`field ${type.fields[i]!.name} was refused`); // k[i] throws first; this is a backstop
  };
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- generated from validated identifiers and integers only
  const make = new Function("k", "w", "fail", "wrong", "stringFits", "encodeUtf8", source) as (...helpers: unknown[]) => Checker | Writer;
  return make(k, w, fail, wrong, stringFits, encodeUtf8);
}

/**
 * Whether `text` fits `bound` bytes of UTF-8, reading as few characters as it can: a UTF-16 unit is at most 3
 * bytes (a surrogate pair 4 for two units, a lone surrogate U+FFFD's 3), so once the first `k` units are ASCII
 * the text is at most `k + 3 (n - k)` bytes, which fits when `k >= (3n - bound) / 2`. A 9-character name in 24
 * bytes needs its first 2 characters looked at, not all 9; only text with non-ASCII in that prefix is measured.
 */
function stringFits(text: string, bound: number): boolean {
  const n = text.length;
  if (n > bound) return false;
  const prefix = (3 * n - bound + 1) >> 1;
  for (let i = 0; i < prefix; i++) if (text.charCodeAt(i) > 0x7f) return utf8Length(text) <= bound;
  return true;
}

/** Bytes of `text` in UTF-8 (lone surrogates count as U+FFFD's three bytes, as TextEncoder writes them). */
function utf8Length(text: string): number {
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch < 0x80) length += 1;
    else if (ch < 0x800) length += 2;
    else if (ch >= 0xd800 && ch <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      length += 4;
      i++;
    } else length += 3;
  }
  return length;
}

/**
 * UTF-8 into `bytes` at `at`, at most `bound` bytes; returns the length. ASCII is copied a char at a time
 * (no allocation); anything else goes through TextEncoder. Throws `InvalidArgument`, writing nothing past
 * the bound, when the text does not fit.
 */
function encodeUtf8(text: string, bytes: Uint8Array, at: number, bound: number): number {
  const n = text.length;
  if (n <= bound) {
    let i = 0;
    for (; i < n; i++) {
      const ch = text.charCodeAt(i);
      if (ch > 0x7f) break;
      bytes[at + i] = ch;
    }
    if (i === n) return n;
  }
  const encoded = encoder.encode(text);
  if (encoded.length > bound) throw wrong(`${encoded.length} bytes of UTF-8 do not fit a string bounded to ${bound}`);
  bytes.set(encoded, at);
  return encoded.length;
}

/**
 * The last text one string field of one view read, and a private copy of exactly the bytes it was decoded from.
 * Kept per view and field, never per type: a cache shared between views let a PD racing writes to its own
 * region make a server read another PD's "guest" as "admin" (issue #11). Made only for bounds up to
 * CACHED_STRING_BOUND (two copies of the bytes are kept).
 */
class StringCache {
  /** The bytes `text` was decoded from (the first `length` of them). */
  known: DataView;
  /** Where the next read copies the shared bytes to; swapped with `known` when they differ. */
  scratch: DataView;
  length = -1;
  text = "";
  constructor(bound: number) {
    this.known = new DataView(new ArrayBuffer(bound));
    this.scratch = new DataView(new ArrayBuffer(bound));
  }
}

/** Strings longer than this are read without a cache: the cache's two copies would cost more than they save. */
const CACHED_STRING_BOUND = 256;

function stringCache(bound: number): StringCache | null {
  return bound <= CACHED_STRING_BOUND ? new StringCache(bound) : null;
}

/**
 * Reads a string field at `at`. Another PD may be writing these bytes while we read, so every shared byte is
 * read exactly once, into private memory, and only that copy is checked and decoded: the text returned is what
 * the bytes said as they were copied, never a value remembered from other bytes. The length is read once and
 * checked against the bound before anything is copied. With a cache, the copy is compared with the bytes the
 * cached text was decoded from, a word at a time as it is made; the same bytes give the cached text back.
 */
function readString(c: Core, at: number, bound: number, cache: StringCache | null | undefined): string {
  const dv = c.dv;
  const length = dv.getUint32(at, true);
  if (length > bound) throw claims("a string", length, "bytes", bound);
  const start = at + 4;
  if (cache == null) return decodeUtf8(c.bytes.slice(start, start + length), length); // slice: a private copy
  const copy = cache.scratch;
  const known = cache.known;
  let same = length === cache.length;
  let i = 0;
  for (; i + 4 <= length; i += 4) {
    const word = dv.getUint32(start + i, true);
    copy.setUint32(i, word, true);
    same &&= word === known.getUint32(i, true);
  }
  for (; i < length; i++) {
    const byte = dv.getUint8(start + i);
    copy.setUint8(i, byte);
    same &&= byte === known.getUint8(i);
  }
  if (same) return cache.text;
  const text = decodeUtf8(new Uint8Array(copy.buffer, 0, length), length);
  cache.scratch = known;
  cache.known = copy;
  cache.length = length;
  cache.text = text;
  return text;
}

/**
 * UTF-8 from a private copy of a string's bytes (never shared memory: another PD could change the bytes between
 * the check and the decode). Short ASCII is built a char at a time; the rest goes through a fatal TextDecoder
 * that keeps a leading BOM (the default one drops it, so "\uFEFFadmin" would read back as "admin"). Bytes
 * that are not UTF-8 are refused with `InvalidMessage`, not replaced: a reader gets what the bytes say or an error.
 */
function decodeUtf8(bytes: Uint8Array, length: number): string {
  if (length <= 64) {
    let out = "";
    let i = 0;
    for (; i < length; i++) {
      const b = bytes[i]!;
      if (b > 0x7f) break;
      out += String.fromCharCode(b);
    }
    if (i === length) return out;
  }
  try {
    return decoder.decode(bytes.subarray(0, length));
  } catch {
    throw invalid(`a string's ${length} bytes are not UTF-8`);
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

/**
 * An array's or vec's items. Its fields are TypeScript-private rather than `#private`: `get` is the hot path of
 * reading a vec, and V8 reads plain fields a little faster than private names.
 */
class ArrayAccessor<E> implements ArrayView<E> {
  private readonly core: Core;
  private readonly at: number;
  private readonly type: Extract<FieldType, { kind: "array" | "vec" }>;
  private readonly read: Reader;
  private readonly first: number;
  private readonly stride: number;
  /** An array's length, or -1 for a vec (whose length is read from memory). */
  private readonly fixed: number;
  private readonly bound: number;

  constructor(core: Core, at: number, type: Extract<FieldType, { kind: "array" | "vec" }>) {
    this.core = core;
    this.at = at;
    this.type = type;
    this.read = readerOf(type.of);
    this.first = at + (type.kind === "vec" ? type.itemsOffset : 0);
    this.stride = type.of.size;
    this.fixed = type.kind === "array" ? type.length : -1;
    this.bound = type.kind === "vec" ? type.bound : type.length;
  }

  get length(): number {
    usable(this.core);
    return this.fixed >= 0 ? this.fixed : this.vecLength();
  }

  /** A vec's length as stored, checked against its bound (another PD may have written it). */
  private vecLength(): number {
    const length = this.core.dv.getUint32(this.at, true);
    if (length > this.bound) throw claims("a vec", length, "items", this.bound);
    return length;
  }

  /**
   * The byte offset of item `index`, after checking the view is usable, the stored length is within the bound
   * and the index inside it; kept to a few bytecodes (the errors are made in `refuse`) so that V8 inlines it.
   */
  private offset(index: number): number {
    const core = this.core;
    const length = this.fixed >= 0 ? this.fixed : core.dv.getUint32(this.at, true);
    if (core.detached !== undefined || length > this.bound || !(index >= 0 && index < length) || (index | 0) !== index) this.refuse(index);
    return this.first + index * this.stride;
  }

  private refuse(index: number): never {
    usable(this.core);
    throw outside(index, this.fixed >= 0 ? this.fixed : this.vecLength());
  }

  get(index: number): View<E> {
    return this.read(this.core, this.offset(index)) as View<E>;
  }

  set(index: number, value: E): void {
    writable(this.core);
    write(this.core, this.offset(index), this.type.of, value);
  }

  push(value: E): void {
    writable(this.core);
    const type = this.type;
    if (type.kind !== "vec") throw new IpcError("InvalidArgument", "layout: push on a fixed-length array", { operation: "layout" });
    const length = this.vecLength();
    if (length >= type.bound) throw new IpcError("InvalidArgument", `layout: the vec is full (bound ${type.bound}); the item was not added`, { operation: "layout" });
    write(this.core, this.first + length * this.stride, type.of, value);
    this.core.dv.setUint32(this.at, length + 1, true); // the length last: the item is written before it counts
  }

  toArray(): E[] {
    // The length is read once (and checked against the bound): another PD may change it while we copy.
    const length = this.length;
    const out: E[] = [];
    for (let i = 0; i < length; i++) out.push(plain(this.core, this.first + i * this.stride, this.type.of) as E);
    return out;
  }

  *[Symbol.iterator](): Iterator<View<E>> {
    for (let i = 0; i < this.length; i++) yield this.get(i);
  }
}

/** A struct view's own state; `$`-prefixed, which field names cannot be (see `struct`). */
interface StructViewBase {
  readonly $core: Core;
  readonly $dv: DataView;
  readonly $at: number;
  /** Sub-views (nested structs, arrays, vecs) and string fields' caches (this view's only), made on first access. */
  readonly $kids: unknown[];
}

type StructCtor = new (core: Core, at: number) => StructViewBase;
const classes = new WeakMap<StructType, StructCtor>();

/** DataView getter of a primitive that a generated accessor calls directly (`%` is the byte offset). */
const GETTERS: Readonly<Record<string, string>> = {
  u8: "getUint8(%)",
  u16: "getUint16(%, true)",
  u32: "getUint32(%, true)",
  u64: "getBigUint64(%, true)",
  i8: "getInt8(%)",
  i16: "getInt16(%, true)",
  i32: "getInt32(%, true)",
  i64: "getBigInt64(%, true)",
  f32: "getFloat32(%, true)",
  f64: "getFloat64(%, true)",
};

/**
 * A struct view's class, made once per layout: a getter and a setter per field on its prototype. Each accessor
 * is its own generated function with the field's offset written in, so V8 keeps type feedback per field and
 * inlines the small ones into the caller (closures made from one function literal share their feedback, and
 * V8 then inlines none of them). Number getters call DataView directly; bools check their byte inline; other
 * fields call their compiled reader (`r[i]`). Setters check and write through the field's compiled writer.
 */
function structClass(type: StructType): StructCtor {
  let ctor = classes.get(type);
  if (ctor !== undefined) return ctor;
  const structWriter = writerOf(type);
  class Generated implements StructViewBase {
    readonly $core: Core;
    readonly $dv: DataView;
    readonly $at: number;
    readonly $kids: unknown[] = [];
    constructor(core: Core, at: number) {
      this.$core = core;
      this.$dv = core.dv;
      this.$at = at;
    }
    $get(): unknown {
      usable(this.$core);
      return plain(this.$core, this.$at, type);
    }
    $set(value: unknown): void {
      writable(this.$core);
      structWriter(this.$core, this.$at, value);
    }
  }
  const r = type.fields.map((f) => readerOf(f.type));
  const w = type.fields.map((f) => writerOf(f.type));
  type.fields.forEach((field, i) => {
    const ft = field.type;
    const at = `this.$at + ${field.offset}`;
    const number = ft.kind === "primitive" ? GETTERS[ft.name] : undefined;
    let read: string;
    if (number !== undefined) read = `return this.$dv.${number.replace("%", at)};`;
    // The byte is read once: a second read to make the error could see another PD's new, valid byte.
    else if (ft.kind === "primitive" && ft.name === "bool") read = `const b = this.$dv.getUint8(${at}); if (b > 1) badBool(b); return b === 1;`;
    else if (ft.kind === "string" && ft.bound <= CACHED_STRING_BOUND) read = `return rs(c, ${at}, ${ft.bound}, (this.$kids[${i}] ??= sc(${ft.bound})));`;
    else if (ft.kind === "struct" || ft.kind === "array" || ft.kind === "vec") read = `return (this.$kids[${i}] ??= r[${i}](c, ${at}));`;
    else read = `return r[${i}](c, ${at});`;
    const source = [
      `return [function get_${field.name}() { const c = this.$core; if (c.detached !== undefined) usable(c); ${read} },`,
      `function set_${field.name}(value) { const c = this.$core; writable(c); w[${i}](c, ${at}, value); }];`,
    ].join("\n");
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- generated from a validated identifier and integers only
    const make = new Function("r", "w", "usable", "writable", "badBool", "rs", "sc", source) as (...helpers: unknown[]) => [() => unknown, (value: unknown) => void];
    const [get, set] = make(r, w, usable, writable, badBool, readString, stringCache);
    Object.defineProperty(Generated.prototype, field.name, { enumerable: true, get, set });
  });
  ctor = Generated;
  classes.set(type, ctor);
  return ctor;
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
  const core: Core = { dv: dataViewOf(bytes), bytes, mutable, detached: undefined };
  return makeStructView(core, offset, type) as never;
}

/** Makes every accessor of `view` (and its sub-views) throw `ResourceBusy` naming `why`, until `attach`. */
export function detach(view: object, why: string): void {
  (view as StructViewBase).$core.detached = why;
}

export function attach(view: object): void {
  (view as StructViewBase).$core.detached = undefined;
}

/** Where a struct view's value lies: its buffer, the byte offset in that buffer, and whether it is writable. */
export function placement(view: object): { readonly buffer: ArrayBufferLike; readonly offset: number; readonly mutable: boolean } {
  const base = view as StructViewBase;
  return { buffer: base.$core.bytes.buffer, offset: base.$core.bytes.byteOffset + base.$at, mutable: base.$core.mutable };
}

/** Writes a whole plain value at `offset` (for toIpc and encoders). */
export function writeValue(type: FieldType, bytes: Uint8Array, offset: number, value: unknown): void {
  const core: Core = { dv: dataViewOf(bytes), bytes, mutable: true, detached: undefined };
  write(core, offset, type, value);
}

export type { StructValue };
