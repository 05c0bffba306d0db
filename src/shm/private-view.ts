/**
 * Typed arrays the runtime keeps to itself, given a prototype chain without frozen objects so that their element
 * stores stay fast in a locked-down worker.
 *
 * Why: a confined PD's worker runs `lockdown()` (pd/confine.ts), which freezes Object.prototype and
 * %TypedArray%.prototype. Freezing an ordinary object gives it dictionary elements, and V8 11 (Node 20) then
 * takes its slow path for every keyed store to a receiver with such a prototype ("dictionary or proxy
 * prototype"): `u32[i] = x` costs ~30 ns instead of ~0.5 ns, in the runtime's code as much as the program's
 * (endojs/endo#1563). A ppcall does a dozen such stores (registers, message words), which put a confined
 * ppcall at 4x a trusted one. Loads, `Atomics.*` and DataView accesses are not affected.
 *
 * An integer-indexed store to a typed array never consults its prototype (ECMA-262 §10.4.5.5), so a view whose
 * prototype is an unfrozen copy of its chain (every property of Uint32Array.prototype, %TypedArray%.prototype
 * and Object.prototype, non-writable and non-configurable, ending in null) behaves the same and stores at full
 * speed. What differs: `view instanceof Uint32Array` is false. So only views that never leave the runtime get
 * one — never an array a program receives (`withMsgRegs`' words, a region's bytes): a program could not reach
 * the copy to add to it, and what it could add (a new property) would change nothing the runtime reads.
 */

type View = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float64Array | BigInt64Array | BigUint64Array;

const prototypes = new Map<object, object>();

/** `view`, re-parented onto the (cached) unfrozen copy of its prototype chain. Returns `view`. */
export function privateView<T extends View>(view: T): T {
  const original = Object.getPrototypeOf(view) as object;
  let copy = prototypes.get(original);
  if (copy === undefined) {
    copy = flattenedCopy(original);
    prototypes.set(original, copy);
  }
  Object.setPrototypeOf(view, copy);
  return view;
}

function flattenedCopy(prototype: object): object {
  const copy = Object.create(null) as object;
  for (let level: object | null = prototype; level !== null; level = Object.getPrototypeOf(level) as object | null) {
    for (const key of Reflect.ownKeys(level)) {
      if (Object.prototype.hasOwnProperty.call(copy, key)) continue; // shadowed by a nearer level
      const descriptor = Object.getOwnPropertyDescriptor(level, key)!;
      if ("value" in descriptor) descriptor.writable = false;
      descriptor.configurable = false;
      Object.defineProperty(copy, key, descriptor);
    }
  }
  return copy;
}

/**
 * A fresh copy of `view[start..end)`, as `view.slice(start, end)` without its species lookup: in a locked-down
 * worker V8's species protector is off (pd/store-friendly-freeze.ts) and `slice` costs twice as much. Copying
 * through a plain view, which the `Uint8Array` constructor does without consulting `constructor`, does not.
 */
export function copyBytes(view: Uint8Array, start: number, end: number): Uint8Array {
  return new Uint8Array(new Uint8Array(view.buffer, view.byteOffset + start, end - start));
}
