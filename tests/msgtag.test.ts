// L4's MsgTag (src/protocol/msgtag.ts): exact words, flags, round trips, and what an untrusted word may not say.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { isIpcError, MsgTag, MsgTagFlag } from "../src/index.ts";

/** The fields of a tag, for deep comparison. */
function fieldsOf(tag: MsgTag): Record<string, unknown> {
  const { label, untyped, typed, propagated, redirected, crossCpu, error } = tag;
  return { label, untyped, typed, propagated, redirected, crossCpu, error };
}

describe("MsgTag", () => {
  it("encodes to the exact words of the L4 X.2 layout", () => {
    const table: [ConstructorParameters<typeof MsgTag>[0], bigint][] = [
      [{ label: 0, untyped: 3, typed: 0 }, 0x3n], // the memory server's request
      [{ label: 0x1234, untyped: 5, typed: 0 }, 0x1234_0005n], // the scheduler's SchedRequest
      [{ label: 0x1234, untyped: 1, typed: 0, error: true }, 0x1234_8001n],
      [{ label: 1, untyped: 2, typed: 3, propagated: true, redirected: true, crossCpu: true }, 0x1_70c2n],
      [{ label: 2 ** 48 - 1, untyped: 63, typed: 0 }, 0xffff_ffff_ffff_003fn],
    ];
    for (const [fields, word] of table) {
      assert.equal(new MsgTag(fields).encode(), word, JSON.stringify(fields));
      assert.deepEqual(fieldsOf(MsgTag.decode(word)), fieldsOf(new MsgTag(fields)));
    }
    assert.equal(MsgTagFlag.ERROR, 0x8000);
  });

  it("round-trips every valid tag", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 48 - 1 }),
        fc.integer({ min: 0, max: 63 }),
        fc.integer({ min: 0, max: 63 }),
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        (label, untyped, typedRaw, propagated, redirected, crossCpu, error) => {
          const typed = Math.min(typedRaw, 63 - untyped);
          const tag = new MsgTag({ label, untyped, typed, propagated, redirected, crossCpu, error });
          assert.deepEqual(fieldsOf(MsgTag.decode(tag.encode())), fieldsOf(tag));
          assert.equal(tag.count, 1 + untyped + typed);
        },
      ),
    );
  });

  it("refuses counts that do not fit 63 registers, from a constructor or from a word on the wire", () => {
    assert.throws(() => new MsgTag({ label: 0, untyped: 40, typed: 24 }), (e) => isIpcError(e, "MessageTooLarge"));
    assert.throws(() => new MsgTag({ label: 2 ** 48, untyped: 0, typed: 0 }), (e) => isIpcError(e, "InvalidArgument"));
    assert.throws(() => MsgTag.decode(0x3fn | (0x3fn << 6n)), (e) => isIpcError(e, "InvalidMessage"));
  });
});
