/**
 * `isokit/layouts`: typed fixed layouts (Xous flatipc). A layout is declared once from field types, has a
 * 64-bit signature of its canonical form, and is read and written in place at C offsets; `fromSlice` refuses a
 * buffer of another layout. `lend`/`lendMut` hand a value to a server for the duration of one call.
 */

export {
  u8, u16, u32, u64, i8, i16, i32, i64, f32, f64, bool, char,
  struct, array, option, string, vec, defineLayout, signatureOf, canonical,
} from "./layout/index.ts";
export type { Layout, StructView, ArrayView, View, FieldType, StructType, Type, ValueOf, StructValue } from "./layout/index.ts";
export { lend, lendMut, tryLend, tryLendMut, acceptLend, lendable } from "./pd/lend.ts";
