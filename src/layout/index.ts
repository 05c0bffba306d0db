// Typed fixed layouts (flatipc): declare once, read and write in place, check on the receiving side.
export { u8, u16, u32, u64, i8, i16, i32, i64, f32, f64, bool, char } from "./types.ts";
export type { FieldType, StructType, StructField, Type, Primitive } from "./types.ts";
export { struct, array, option, string, vec, canonical, signatureOf } from "./layout.ts";
export type { ValueOf, StructValue } from "./layout.ts";
export { defineLayout, PAGE_BYTES, IPC_HEADER_BYTES } from "./ipc.ts";
export type { Layout } from "./ipc.ts";
export { detach, attach, placement } from "./view.ts";
export type { View, StructView, ArrayView } from "./view.ts";
