// Typed fixed layouts (src/layout): C offsets and padding, pinned signatures, exact bytes, round trips,
// refusal of short, foreign and hostile buffers, bounded strings and vecs, detaching for a lend.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  array,
  attach,
  bool,
  canonical,
  char,
  defineLayout,
  detach,
  f32,
  f64,
  i16,
  i32,
  i64,
  i8,
  option,
  signatureOf,
  string,
  struct,
  u16,
  u32,
  u64,
  u8,
  vec,
  type FieldType,
} from "../../src/layout/index.ts";
import { errorCode } from "../helpers.ts";

const offsets = (type: FieldType): Record<string, number> =>
  type.kind === "struct" ? Object.fromEntries(type.fields.map((f) => [f.name, f.offset])) : {};

const code = errorCode;

/** The 9-field message of the benchmark. */
export const Message = struct({
  id: u32,
  seq: u64,
  kind: u8,
  urgent: bool,
  x: f64,
  y: f32,
  delta: i16,
  name: string(24),
  samples: vec(i32, 8),
});

describe("layouts: C sizes, alignment and padding", () => {
  it("places fields at the offsets a C compiler would (x86-64 / AArch64)", () => {
    const table: [FieldType, Record<string, number>, number, number][] = [
      [struct({ a: u8, b: u32, c: u16 }), { a: 0, b: 4, c: 8 }, 12, 4],
      [struct({ a: u8, b: u64 }), { a: 0, b: 8 }, 16, 8],
      [struct({ a: u64, b: u8 }), { a: 0, b: 8 }, 16, 8],
      [struct({ a: i8, b: i16, c: i8 }), { a: 0, b: 2, c: 4 }, 6, 2],
      [struct({ a: u8, p: struct({ x: f64, y: f32 }) }), { a: 0, p: 8 }, 24, 8],
      [struct({ a: u8, arr: array(u16, 3), b: u8 }), { a: 0, arr: 2, b: 8 }, 10, 2],
      [struct({ a: u8, o: option(u64) }), { a: 0, o: 8 }, 24, 8],
      [struct({ a: u8, s: string(10) }), { a: 0, s: 4 }, 20, 4],
      [struct({ a: u8, v: vec(u16, 3) }), { a: 0, v: 4 }, 16, 4],
      [struct({ c: char, b: bool, d: i64 }), { c: 0, b: 4, d: 8 }, 16, 8],
      [Message, { id: 0, seq: 8, kind: 16, urgent: 17, x: 24, y: 32, delta: 36, name: 40, samples: 68 }, 104, 8],
    ];
    for (const [type, expected, size, align] of table) {
      assert.deepEqual(offsets(type), expected, canonical(type));
      assert.equal(type.size, size, canonical(type));
      assert.equal(type.align, align, canonical(type));
    }
  });

  it("pins signatures, which change with any field's name, type or offset", () => {
    assert.equal(signatureOf(struct({ a: u8, b: u32, c: u16 })).toString(16), "27598d1283d78f2f");
    assert.equal(signatureOf(struct({ x: f64, y: f64 })).toString(16), "463446a5c494c0d7");
    const base = signatureOf(struct({ a: u8, b: u32, c: u16 }));
    for (const changed of [
      struct({ a: u8, b: u32, d: u16 }), // renamed
      struct({ a: u8, b: i32, c: u16 }), // retyped
      struct({ b: u32, a: u8, c: u16 }), // moved
      struct({ a: u16, b: u32, c: u16 }), // resized, same offsets
      struct({ a: u8, b: u32, c: u16, e: u8 }), // grown
    ]) {
      assert.notEqual(signatureOf(changed), base, canonical(changed));
    }
    assert.notEqual(signatureOf(struct({ s: string(10) })), signatureOf(struct({ s: string(11) })), "bounds count");
  });

  it("writes an IPC value byte for byte: header, value, page padding", () => {
    const L = defineLayout(struct({ id: u32, ok: bool, n: i32 }));
    const { bytes, buffer } = L.toIpc({ id: 0x01020304, ok: true, n: -2 });
    assert.equal(buffer.byteLength, 4096);
    assert.equal(Buffer.from(bytes.subarray(0, 28)).toString("hex"), "67c5c9aa52f23fd30c000000000000000403020101000000feffffff");
    assert.ok(bytes.subarray(28).every((b) => b === 0), "zero padding");
  });
});

describe("layouts: reading and writing in place", () => {
  const L = defineLayout(Message);
  const value = {
    id: 42,
    seq: 2n ** 64n - 1n,
    kind: 7,
    urgent: true,
    x: Math.PI,
    y: 1.5,
    delta: -300,
    name: "isokit ✓",
    samples: [1, -2, 3],
  };

  it("round-trips random values of the 9-field message", () => {
    fc.assert(
      fc.property(
        fc.record({
          id: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
          seq: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
          kind: fc.integer({ min: 0, max: 255 }),
          urgent: fc.boolean(),
          x: fc.double({ noNaN: true }),
          y: fc.float({ noNaN: true }),
          delta: fc.integer({ min: -32768, max: 32767 }),
          name: fc.string({ unit: "grapheme", maxLength: 12 }).filter((s) => new TextEncoder().encode(s).length <= 24),
          samples: fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { maxLength: 8 }),
        }),
        (v) => {
          const { bytes, view } = L.toIpc(v);
          assert.deepEqual(L.fromSlice(bytes)!.$get(), { ...v });
          assert.equal(view.seq, v.seq);
          assert.equal(view.samples.length, v.samples.length);
        },
      ),
    );
  });

  it("round-trips random layouts of primitives at random values", () => {
    const prims = [
      [u8, fc.integer({ min: 0, max: 255 })],
      [u16, fc.integer({ min: 0, max: 65535 })],
      [i32, fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })],
      [u64, fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })],
      [f64, fc.double({ noNaN: true })],
      [bool, fc.boolean()],
    ] as const;
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: prims.length - 1 }), { minLength: 1, maxLength: 12 }), fc.integer(), (kinds, seed) => {
        const fields = Object.fromEntries(kinds.map((k, i) => [`f${i}`, prims[k]![0]]));
        const layout = defineLayout(struct(fields));
        const value = Object.fromEntries(kinds.map((k, i) => [`f${i}`, fc.sample(prims[k]![1] as fc.Arbitrary<unknown>, { numRuns: 1, seed: seed + i })[0]]));
        const { bytes } = layout.toIpc(value as never);
        assert.deepEqual(layout.fromSlice(bytes)!.$get(), value);
      }),
    );
  });

  it("refuses every short buffer and every foreign signature (null, not an error)", () => {
    const { bytes } = L.toIpc(value);
    for (let n = 0; n < 16 + L.size; n++) assert.equal(L.fromSlice(bytes.subarray(0, n)), null, `${n} bytes`);
    assert.notEqual(L.fromSlice(bytes.subarray(0, 16 + L.size)), null);
    assert.equal(L.fromSlice(bytes, L.signature ^ 1n), null, "a different expected signature");
    const other = defineLayout(struct({ id: u32, seq: u64 }));
    assert.equal(other.fromSlice(bytes), null, "made for another layout");
    const forged = bytes.slice();
    new DataView(forged.buffer).setUint32(8, 8, true); // the right signature, a wrong size
    assert.equal(L.fromSlice(forged), null);
  });

  it("checks what another PD wrote, on access: bools, chars, options, string and vec lengths", () => {
    const H = defineLayout(struct({ b: bool, c: char, o: option(u8), s: string(4), v: vec(u8, 2) }));
    const { bytes } = H.toIpc({ b: true, c: "x", o: 1, s: "ok", v: [1] });
    const at = (name: string): number => 16 + offsets(H.type)[name]!;
    const hostile = (patch: (dv: DataView) => void): ReturnType<typeof H.fromSlice> => {
      const copy = bytes.slice();
      patch(new DataView(copy.buffer));
      return H.fromSlice(copy);
    };
    assert.equal(code(() => hostile((dv) => { dv.setUint8(at("b"), 2); })!.b), "InvalidMessage");
    assert.equal(code(() => hostile((dv) => { dv.setUint32(at("c"), 0xd800, true); })!.c), "InvalidMessage");
    assert.equal(code(() => hostile((dv) => { dv.setUint8(at("o"), 2); })!.o), "InvalidMessage");
    assert.equal(code(() => hostile((dv) => { dv.setUint32(at("s"), 5, true); })!.s), "InvalidMessage");
    assert.equal(code(() => hostile((dv) => { dv.setUint32(at("v"), 3, true); })!.v.length), "InvalidMessage");
    assert.equal(code(() => hostile((dv) => { dv.setUint32(at("v"), 3, true); })!.$get()), "InvalidMessage");
  });

  it("a string reads what its own buffer's bytes say: never another view's text, never bytes that are not UTF-8, a BOM kept", () => {
    const N = defineLayout(struct({ name: string(16), names: vec(string(8), 2), long: string(300) }));
    const a = N.toIpc({ name: "admin", names: ["admin"], long: "admin" });
    const b = N.toIpc({ name: "guest", names: ["guest"], long: "guest" });
    // Read one, then the other, then each again after its bytes changed under the view (as another PD writes).
    for (let round = 0; round < 3; round++) {
      assert.equal(a.view.name, "admin");
      assert.equal(b.view.name, "guest");
      assert.equal(b.view.names.get(0), "guest");
      assert.equal(b.view.long, "guest");
    }
    const at = 16 + offsets(N.type)["name"]!;
    a.bytes.set(new TextEncoder().encode("guest"), at + 4); // same length, other bytes: the cache must not answer
    assert.equal(a.view.name, "guest");
    a.bytes.set([0xef, 0xbb, 0xbf, 0x61, 0x62], at + 4); // a BOM, then "ab"
    assert.equal(a.view.name, "\ufeffab", "a leading BOM is part of the text");
    a.view.name = "\ufeffadmin";
    assert.equal(a.view.name, "\ufeffadmin");
    assert.equal(N.fromSlice(a.bytes)!.$get().name, "\ufeffadmin");
    a.bytes.set([0x61, 0xff, 0x62, 0x63, 0x64], at + 4); // not UTF-8
    assert.equal(code(() => a.view.name), "InvalidMessage");
    assert.equal(code(() => N.fromSlice(a.bytes)!.$get()), "InvalidMessage");
  });

  it("bounded strings take any length up to N; bounded vecs refuse a push when full, visibly", () => {
    const S = defineLayout(struct({ s: string(5), v: vec(u16, 2) }));
    const { view } = S.toIpc({ s: "", v: [] });
    for (const text of ["", "a", "abcd", "abcde", "ééa"]) {
      view.s = text;
      assert.equal(view.s, text);
    }
    assert.equal(code(() => (view.s = "abcdef")), "InvalidArgument");
    assert.equal(view.s, "ééa", "a refused write changes nothing");
    view.v.push(1);
    view.v.push(2);
    assert.equal(code(() => { view.v.push(3); }), "InvalidArgument");
    assert.deepEqual(view.v.toArray(), [1, 2]);
    assert.equal(code(() => (view.s = "x".repeat(6))), "InvalidArgument");
  });

  it("a refused whole-value write changes nothing, however deep the bad field is", () => {
    const { bytes, view } = L.toIpc(value);
    const before = bytes.slice();
    assert.equal(code(() => { view.$set({ ...value, id: 7, samples: [1, 2, 2 ** 40] }); }), "InvalidArgument");
    assert.equal(code(() => { view.$set({ ...value, id: 7, name: "x".repeat(25) }); }), "InvalidArgument");
    assert.equal(code(() => { view.$set({ ...value, id: 7, samples: Array.from({ length: 9 }, () => 1) }); }), "InvalidArgument");
    assert.equal(code(() => { view.$set({ ...value, id: 7, urgent: 1 as unknown as boolean }); }), "InvalidArgument");
    assert.deepEqual(bytes, before);
  });

  it("accepts exactly the values that fit, by an independent oracle; a refused one changes nothing", () => {
    // Near-miss values for every field: integers one past their range, fractions, -0, NaN, bigints for numbers
    // and numbers for bigints, strings of 1-, 2-, 3- and 4-byte characters and lone surrogates around the
    // 24-byte bound, vecs around their 8-item bound.
    const near = (low: number, high: number): fc.Arbitrary<unknown> =>
      fc.oneof(fc.integer({ min: low, max: high }), fc.constantFrom(low - 1, high + 1, 0.5, -0, Number.NaN, 1n, "1", null));
    const text = fc.string({ unit: fc.constantFrom("a", "é", "✓", "😀", "\ud800", "\udc00"), maxLength: 26 });
    const fits = (v: Record<"id" | "seq" | "kind" | "urgent" | "x" | "y" | "delta" | "name" | "samples", unknown>): boolean => {
      const int = (x: unknown, low: number, high: number): boolean => typeof x === "number" && Number.isInteger(x) && x >= low && x <= high;
      const samples = v.samples;
      return (
        int(v.id, 0, 2 ** 32 - 1) &&
        typeof v.seq === "bigint" && v.seq >= 0n && v.seq < 2n ** 64n &&
        int(v.kind, 0, 255) &&
        typeof v.urgent === "boolean" &&
        typeof v.x === "number" && !Number.isNaN(v.x) &&
        typeof v.y === "number" && !Number.isNaN(v.y) &&
        int(v.delta, -32768, 32767) &&
        typeof v.name === "string" && new TextEncoder().encode(v.name).length <= 24 &&
        Array.isArray(samples) && samples.length <= 8 && samples.every((x) => int(x, -(2 ** 31), 2 ** 31 - 1))
      );
    };
    const { bytes, view } = L.toIpc(value);
    fc.assert(
      fc.property(
        fc.record({
          id: near(0, 2 ** 32 - 1),
          seq: fc.oneof(fc.bigInt({ min: -1n, max: 2n ** 64n }), fc.constant(5)),
          kind: near(0, 255),
          urgent: fc.oneof(fc.boolean(), fc.constantFrom(0, 1, "true")),
          x: fc.oneof(fc.double(), fc.constant("1")),
          y: fc.float(),
          delta: near(-32768, 32767),
          name: fc.oneof(text, fc.constant(7)),
          samples: fc.array(near(-(2 ** 31), 2 ** 31 - 1), { maxLength: 10 }),
        }),
        (v) => {
          const before = bytes.slice();
          let refused = false;
          try {
            view.$set(v as never);
          } catch (error) {
            assert.equal(code(() => { throw error; }), "InvalidArgument");
            refused = true;
          }
          assert.equal(refused, !fits(v), `refused ${String(refused)}: ${JSON.stringify(v, (_, x: unknown) => (typeof x === "bigint" ? `${x}n` : x))}`);
          // Each field set on its own takes exactly what it takes in a whole value.
          const one = L.toIpc(value).view as unknown as Record<string, unknown>;
          for (const key of Object.keys(v) as (keyof typeof v)[]) {
            let alone = false;
            try {
              one[key] = v[key];
            } catch (error) {
              assert.equal(code(() => { throw error; }), "InvalidArgument");
              alone = true;
            }
            assert.equal(alone, !fits({ ...value, [key]: v[key] }), `field ${key} set alone: ${String(v[key])}`);
          }
          if (refused) assert.deepEqual(bytes, before, "a refused write changed the buffer");
          else {
            const int = (x: unknown): unknown => (x === 0 ? 0 : x); // -0 is written as 0
            const expected = { ...v, id: int(v.id), kind: int(v.kind), delta: int(v.delta), samples: v.samples.map(int) };
            const name = new TextDecoder().decode(new TextEncoder().encode(v.name as string)); // lone surrogates become U+FFFD
            assert.deepEqual(L.fromSlice(bytes)!.$get(), { ...expected, name, y: Math.fround(v.y) });
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("field names may be anything but the view's own $-names", () => {
    const N = defineLayout(struct({ at: u32, core: u8, kids: u16, constructor: u8 }));
    const { view } = N.toIpc({ at: 1, core: 2, kids: 3, constructor: 4 });
    assert.deepEqual([view.at, view.core, view.kids, view.constructor], [1, 2, 3, 4]);
    assert.equal(code(() => struct({ $set: u8 })), "InvalidArgument");
    assert.equal(code(() => struct({ "a-b": u8 })), "InvalidArgument");
  });

  it("a vec whose length changes while it is written never writes past its bound", () => {
    const V = defineLayout(struct({ v: vec(u8, 4), after: u32 }));
    const { view } = V.toIpc({ v: [], after: 0xdeadbeef });
    let reads = 0;
    // A proxy that claims 4 items when checked and 1000 when written.
    const shifty = new Proxy([1, 2, 3, 4], { get: (target, key) => (key === "length" ? (reads++ === 0 ? 4 : 1000) : Reflect.get(target, key) as unknown) });
    view.$set({ v: shifty, after: 0xdeadbeef });
    assert.equal(view.after, 0xdeadbeef);
    assert.equal(view.v.length, 4);
  });

  it("read-only views refuse writes; numbers out of range are refused; a detached view refuses everything", () => {
    const { bytes, view } = L.toIpc(value);
    const ro = L.fromSlice(bytes)!;
    assert.equal(code(() => (ro.id = 1)), "PermissionDenied");
    assert.equal(code(() => (view.kind = 256)), "InvalidArgument");
    assert.equal(code(() => (view.seq = -1n)), "InvalidArgument");
    assert.equal(code(() => (view.id = 1.5)), "InvalidArgument");
    detach(view, "lent to the server");
    assert.equal(code(() => view.id), "ResourceBusy");
    assert.equal(code(() => view.samples.length), "ResourceBusy");
    attach(view);
    assert.equal(view.id, 42);
  });
});
