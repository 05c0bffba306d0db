// The MessagePack codec (src/codec): round trips, limits on both sides, and malformed input refused with a
// typed error — fed whole, truncated at every length, and one byte at a time.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { decodeValue, encodeValue } from "../../src/codec/index.ts";
import { errorCode } from "../helpers.ts";

const code = errorCode;

const json = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double({ noNaN: true }).filter((x) => !Object.is(x, -0)), // -0 comes back as 0
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
    fc.string(),
    fc.array(tie("value"), { maxLength: 5 }),
    fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }).filter((k) => k !== "__proto__"), tie("value"), { maxKeys: 5, noNullPrototype: true }),
  ),
})).value;

describe("MessagePack codec", () => {
  it("round-trips random values", () => {
    fc.assert(
      fc.property(json, (value) => {
        assert.deepEqual(decodeValue(encodeValue(value)), value);
      }),
      { numRuns: 200 },
    );
  });

  it("keeps bigints exact over 64 bits, bytes as bytes", () => {
    const v = { big: 2n ** 63n - 1n, neg: -(2n ** 63n), bytes: new Uint8Array([1, 2, 3]) };
    const back = decodeValue(encodeValue(v)) as typeof v;
    assert.equal(back.big, 2n ** 63n - 1n);
    assert.equal(back.neg, -(2n ** 63n));
    assert.deepEqual([...back.bytes], [1, 2, 3]);
  });

  it("limits both sides: MessageTooLarge over maxBytes, before decoding", () => {
    const big = { text: "x".repeat(1000) };
    assert.equal(code(() => encodeValue(big, { maxBytes: 100 })), "MessageTooLarge");
    const bytes = encodeValue(big);
    assert.equal(code(() => decodeValue(bytes, { maxBytes: 100 })), "MessageTooLarge");
    assert.equal(code(() => decodeValue(bytes, { maxBytes: 2000 })), "ok");
    assert.equal(code(() => encodeValue(1, { maxBytes: 0 })), "InvalidArgument");
    assert.equal(code(() => encodeValue({ f: () => 1 })), "InvalidArgument");
    assert.equal(code(() => encodeValue([Symbol("s")])), "InvalidArgument");
    assert.equal(code(() => encodeValue(new (class Secret {})())), "InvalidArgument");
  });

  it("refuses every truncation, trailing bytes, the unused byte 0xc1 and garbage with InvalidMessage", () => {
    const bytes = encodeValue({ list: [1, "two", { three: 3n ** 30n }], flag: true });
    for (let n = 0; n < bytes.length; n++) {
      const c = code(() => decodeValue(bytes.subarray(0, n)));
      assert.ok(c === "InvalidMessage", `${n} bytes: ${c}`);
    }
    assert.equal(code(() => decodeValue(new Uint8Array([...bytes, 0]))), "InvalidMessage");
    assert.equal(code(() => decodeValue(new Uint8Array([0x91, 0xc1]))), "InvalidMessage");
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (garbage) => {
        const c = code(() => decodeValue(garbage));
        assert.ok(c === "ok" || c === "InvalidMessage", `${Buffer.from(garbage).toString("hex")}: ${c}`);
      }),
      { numRuns: 2000 },
    );
  });

  it("a message fed one byte at a time decodes only when whole", () => {
    const bytes = encodeValue({ a: [1, 2, 3], b: "text" });
    const seen: string[] = [];
    for (let n = 1; n <= bytes.length; n++) seen.push(code(() => decodeValue(bytes.subarray(0, n))));
    assert.deepEqual(seen.slice(0, -1).filter((c) => c !== "InvalidMessage"), []);
    assert.equal(seen.at(-1), "ok");
  });

  it("copies a message in shared memory before decoding it (a peer cannot change it mid-decode)", () => {
    const bytes = encodeValue({ a: "shared" });
    const shared = new Uint8Array(new SharedArrayBuffer(bytes.length));
    shared.set(bytes);
    assert.deepEqual(decodeValue(shared), { a: "shared" });
  });
});
