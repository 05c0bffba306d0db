/**
 * Typed fixed layouts (Xous flatipc, seed 001): a value's layout is declared once in TypeScript, with C
 * (`repr(C)`) sizes, alignment and padding, and read and written in place in a buffer.
 *
 * Rules (the C ABI of x86-64 / AArch64, little-endian):
 *   - u8/i8/bool: size 1, align 1; u16/i16: 2, 2; u32/i32/f32/char: 4, 4; u64/i64/f64: 8, 8.
 *   - array(T, n): n elements of T back to back; size n * size(T), align(T).
 *   - struct: fields in declaration order, each at the next offset that is a multiple of its alignment; the
 *     struct's alignment is its largest field alignment, its size rounded up to that alignment.
 *   - option(T): `struct { u8 present; T value }` (present is 0 or 1).
 *   - string(N): `struct { u32 length; u8 bytes[N] }`, UTF-8, any length 0..N.
 *   - vec(T, N): `struct { u32 length; T items[N] }`, any length 0..N.
 *
 * Types that need a check when read from a buffer another PD wrote (bool, char, option, string, vec) are
 * checked on the reader's side, on access: a bool byte other than 0 or 1, a char that is not a Unicode scalar
 * value, an option tag other than 0 or 1, or a length over the bound is refused with `InvalidMessage`.
 */

export type Primitive = "u8" | "u16" | "u32" | "u64" | "i8" | "i16" | "i32" | "i64" | "f32" | "f64" | "bool" | "char";

/** A field type; `V` (phantom) is the JavaScript value it reads as. */
export type Type<V> = FieldType & { readonly __value?: V };

export type FieldType =
  | { readonly kind: "primitive"; readonly name: Primitive; readonly size: number; readonly align: number }
  | { readonly kind: "array"; readonly of: FieldType; readonly length: number; readonly size: number; readonly align: number }
  | { readonly kind: "option"; readonly of: FieldType; readonly valueOffset: number; readonly size: number; readonly align: number }
  | { readonly kind: "string"; readonly bound: number; readonly size: number; readonly align: number }
  | { readonly kind: "vec"; readonly of: FieldType; readonly bound: number; readonly itemsOffset: number; readonly size: number; readonly align: number }
  | StructType;

export interface StructField {
  readonly name: string;
  readonly type: FieldType;
  readonly offset: number;
}

export interface StructType {
  readonly kind: "struct";
  readonly fields: readonly StructField[];
  readonly size: number;
  readonly align: number;
}

function primitive<V>(name: Primitive, size: number): Type<V> {
  return { kind: "primitive", name, size, align: size };
}

export const u8 = primitive<number>("u8", 1);
export const u16 = primitive<number>("u16", 2);
export const u32 = primitive<number>("u32", 4);
/** Read and written as a bigint (exact over all 64 bits). */
export const u64 = primitive<bigint>("u64", 8);
export const i8 = primitive<number>("i8", 1);
export const i16 = primitive<number>("i16", 2);
export const i32 = primitive<number>("i32", 4);
/** Read and written as a bigint (exact over all 64 bits). */
export const i64 = primitive<bigint>("i64", 8);
export const f32 = primitive<number>("f32", 4);
export const f64 = primitive<number>("f64", 8);
/** One byte, 0 or 1. */
export const bool = primitive<boolean>("bool", 1);
/** A Unicode scalar value stored as a u32; read and written as a one-code-point string. */
export const char = primitive<string>("char", 4);

export function alignUp(n: number, align: number): number {
  return Math.ceil(n / align) * align;
}
