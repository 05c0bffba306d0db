/**
 * Lockdown that keeps typed-array element stores fast: `ses` is loaded with an `Object.freeze` that freezes the
 * typed arrays' prototypes property by property.
 *
 * Why: V8 11 (Node 20) marks an object frozen by `Object.freeze` as needing slow elements, and then takes its
 * slow path ("dictionary or proxy prototype") for every integer-indexed store to a typed array whose prototype
 * chain holds such an object: after `lockdown()` froze Object.prototype, %TypedArray%.prototype and
 * Uint8Array.prototype, `bytes[i] = x` cost ~30 ns instead of ~1 ns (endojs/endo#1563), in the runtime's views
 * (message registers, channel and slot words) as much as in a program's own arrays.
 * Freezing the same objects as ECMA-262's SetIntegrityLevel(O, frozen) spells it out — [[PreventExtensions]],
 * then each own property made non-configurable (and non-writable if a data property) — gives an object
 * `Object.isFrozen` reports frozen, with the same descriptors, that V8 does not mark: stores stay ~1 ns.
 *
 * How: ses captures `Object.freeze` when its module is evaluated (its `harden` and `lockdown` freeze through
 * that capture), so `Object.freeze` is replaced while ses loads and put back before anything else runs; the
 * replacement freezes the prototypes above the spec's way and hands every other object to the native
 * `Object.freeze`. Programs (and `Object.freeze` after this) see the native function.
 *
 * Cost: redefining `constructor` on a typed array prototype invalidates V8's species protector, so
 * `subarray`/`slice`/`map` on typed arrays take the full species lookup in a confined worker (~20 ns more a
 * call); the runtime's hot paths copy without them (shm/copy-bytes.ts).
 */

const TYPED_ARRAYS = [
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
] as const;

/** Runs `load` (which evaluates ses) with the store-friendly `Object.freeze` in place; returns what it returns. */
export function withStoreFriendlyFreeze<T>(load: () => T): T {
  const nativeFreeze = Object.freeze;
  const typedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype) as object;
  const byProperty = new Set<unknown>([Object.prototype, typedArrayPrototype, ...TYPED_ARRAYS.map((c) => c.prototype)]);
  const preventExtensions = Reflect.preventExtensions;
  const ownKeys = Reflect.ownKeys;
  const describe = Reflect.getOwnPropertyDescriptor;
  const define = Reflect.defineProperty;
  const freeze = function freeze<O>(object: O): O {
    if (!byProperty.has(object)) return nativeFreeze(object);
    const target = object as object;
    // SetIntegrityLevel(O, frozen), step by step; a step that fails throws as Object.freeze would.
    if (!preventExtensions(target)) throw new TypeError("Object.freeze: cannot prevent extensions");
    for (const key of ownKeys(target)) {
      const current = describe(target, key);
      if (current === undefined) continue;
      const frozen = "value" in current ? { configurable: false, writable: false } : { configurable: false };
      if (!define(target, key, frozen)) throw new TypeError(`Object.freeze: cannot freeze property ${String(key)}`);
    }
    return object;
  };
  Object.freeze = freeze;
  try {
    return load();
  } finally {
    Object.freeze = nativeFreeze;
  }
}
