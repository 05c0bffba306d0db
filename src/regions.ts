/**
 * `isokit/regions`: shared memory regions inside a PD. `memoryRegion(symbol)` is a region the system
 * description maps into this PD (Microkit's `<map>`); `createRegion` makes one at run time and hands it out as
 * a capability (`mapRegion` on the other side); `moveBuffer`/`receiveBuffer` move an ArrayBuffer's ownership
 * to another PD. A message then carries (offset, length), so a large payload costs what a small one does.
 */

export { memoryRegion, createRegion, mapRegion, moveBuffer, receiveBuffer } from "./pd/regions.ts";
export type { MappedRegion } from "./pd/regions.ts";
