/**
 * A fresh copy of `view[start..end)`, as `view.slice(start, end)` without its species lookup: in a locked-down
 * worker V8's typed-array species protector is off (pd/store-friendly-freeze.ts says why) and `slice` costs
 * about twice as much. Copying through a plain view, which the `Uint8Array` constructor does without consulting
 * `constructor`, does not: the receive paths of endpoints and rings copy with this.
 */
export function copyBytes(view: Uint8Array, start: number, end: number): Uint8Array {
  return new Uint8Array(new Uint8Array(view.buffer, view.byteOffset + start, end - start));
}
