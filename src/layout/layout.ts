/**
 * Layout constructors (struct, array, option, string, vec) with C alignment, and the layout's signature.
 *
 * Signature: FNV-1a 64 over the canonical text of the layout, which names every field with its type, offset
 * and size, recursively (e.g. `struct{8:x:f64@0;8:y:f64@8;}16/8`). Renaming a field, changing a type, moving a
 * field (reordering, padding) or changing a bound changes the text, hence (but for a 2^-64 collision) the
 * signature. It is computed once, when the layout is declared.
 */

import { IpcError } from "../errors.ts";
import { alignUp, type FieldType, type StructField, type StructType, type Type } from "./types.ts";

export type ValueOf<T> = T extends { readonly __value?: infer V } ? Exclude<V, undefined> : never;

/** The plain value of a struct layout's fields. */
export type StructValue<F extends Readonly<Record<string, Type<unknown>>>> = { -readonly [K in keyof F]: ValueOf<F[K]> };

function bad(what: string): IpcError {
  return new IpcError("InvalidArgument", `layout: ${what}`, { operation: "layout" });
}

export function array<V>(of: Type<V>, length: number): Type<V[]> {
  if (!Number.isInteger(length) || length < 1 || length > 1 << 20) throw bad(`array length must be 1..2^20 (got ${String(length)})`);
  return { kind: "array", of, length, size: of.size * length, align: of.align };
}

/** `Option<T>`: a present byte (0 or 1), then T at its alignment. */
export function option<V>(of: Type<V>): Type<V | undefined> {
  const valueOffset = alignUp(1, of.align);
  const align = Math.max(1, of.align);
  return { kind: "option", of, valueOffset, size: alignUp(valueOffset + of.size, align), align };
}

/** A UTF-8 string of any length up to `bound` bytes (flatipc's `String<N>`, without its equal-length panic). */
export function string(bound: number): Type<string> {
  if (!Number.isInteger(bound) || bound < 1 || bound > 1 << 20) throw bad(`string bound must be 1..2^20 bytes (got ${String(bound)})`);
  return { kind: "string", bound, size: alignUp(4 + bound, 4), align: 4 };
}

/** Up to `bound` items of T (flatipc's `Vec<T, N>`; pushing onto a full one fails visibly). */
export function vec<V>(of: Type<V>, bound: number): Type<V[]> {
  if (!Number.isInteger(bound) || bound < 1 || bound > 1 << 20) throw bad(`vec bound must be 1..2^20 (got ${String(bound)})`);
  const align = Math.max(4, of.align);
  const itemsOffset = alignUp(4, of.align);
  return { kind: "vec", of, bound, itemsOffset, size: alignUp(itemsOffset + of.size * bound, align), align };
}

/** A struct: fields in declaration order, C alignment and padding. */
export function struct<const F extends Readonly<Record<string, Type<unknown>>>>(fields: F): Type<StructValue<F>> & StructType {
  const list: StructField[] = [];
  let offset = 0;
  let align = 1;
  for (const [name, type] of Object.entries(fields)) {
    if (!/^[A-Za-z_][\w$]*$/.test(name)) throw bad(`field name '${name}' is not an identifier not starting with '$' ($-names are the view's own)`);
    offset = alignUp(offset, type.align);
    list.push({ name, type, offset });
    offset += type.size;
    align = Math.max(align, type.align);
  }
  if (list.length === 0) throw bad("a struct needs at least one field");
  return { kind: "struct", fields: list, size: alignUp(offset, align), align };
}

/** The canonical text of a layout: what the signature hashes. */
export function canonical(type: FieldType): string {
  switch (type.kind) {
    case "primitive":
      return type.name;
    case "array":
      return `[${canonical(type.of)};${type.length}]`;
    case "option":
      return `option<${canonical(type.of)}>@${type.valueOffset}`;
    case "string":
      return `string<${type.bound}>`;
    case "vec":
      return `vec<${canonical(type.of)};${type.bound}>@${type.itemsOffset}`;
    case "struct":
      return `struct{${type.fields.map((f) => `${f.type.size}:${f.name}:${canonical(f.type)}@${f.offset};`).join("")}}${type.size}/${type.align}`;
  }
}

const FNV_OFFSET = 0xcbf2_9ce4_8422_2325n;
const FNV_PRIME = 0x100_0000_01b3n;
const MASK = (1n << 64n) - 1n;

/** FNV-1a 64 of the canonical text's UTF-8 bytes. */
export function signatureOf(type: FieldType): bigint {
  let hash = FNV_OFFSET;
  for (const byte of new TextEncoder().encode(canonical(type))) hash = ((hash ^ BigInt(byte)) * FNV_PRIME) & MASK;
  return hash;
}
