// Capability spaces (groundwork of the capabilities issue): tokens, derive, revoke, grant, clean-up.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { ALL_RIGHTS, CapabilityRegistry, decodeToken, encodeToken, MAX_GENERATION, Rights } from "../src/caps/index.ts";
import { IpcError } from "../src/index.ts";

const A = 1;
const B = 2;
const C = 3;

function registry(): CapabilityRegistry {
  const r = new CapabilityRegistry();
  for (const pd of [A, B, C]) r.addProcess(pd);
  return r;
}

function rejects(fn: () => unknown, code: string, pattern?: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof IpcError && e.code === code && (pattern === undefined || pattern.test(e.message)));
}

describe("tokens", () => {
  test("VeridianOS layout: object 0-31, generation 32-47, rights 48-63", () => {
    const token = encodeToken({ object: 0x1234_5678, generation: 0xabcd, rights: Rights.SEND | Rights.GRANT });
    assert.equal(token, 0x0005_abcd_1234_5678n);
    assert.deepEqual(decodeToken(token), { object: 0x1234_5678, generation: 0xabcd, rights: 5 });
    assert.equal(decodeToken(0x0010_0001_0000_0001n), undefined, "unknown rights bit");
    assert.equal(decodeToken(0x0001_0000_0000_0001n), undefined, "generation 0 is never issued");
    assert.equal(decodeToken(-1n), undefined);
    assert.equal(decodeToken(1n << 64n), undefined);
  });
});

describe("capability spaces", () => {
  test("a million random, stale and borrowed tokens: none is accepted", () => {
    const r = registry();
    const live = [r.createObject(A, "endpoint"), r.createObject(A, "endpoint"), r.createObject(B, "region")];
    const derived = r.derive(A, live[0]!.token, Rights.SEND);
    const granted = r.grant(A, B, [live[1]!.token]);
    const revokedParent = r.createObject(A, "channel");
    const stale = [r.derive(A, revokedParent.token, Rights.SEND).token, revokedParent.token];
    r.revoke(A, revokedParent.token);
    const closed = r.derive(A, live[0]!.token, Rights.RECEIVE).token;
    r.close(A, closed);
    const valid = new Set([live[0]!.token, live[1]!.token, derived.token]);
    const known = [...valid, ...stale, closed, live[2]!.token, ...granted];
    let seed = 0x2545_f491;
    const next = (): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return seed >>> 0;
    };
    let accepted = 0;
    for (let i = 0; i < 1_000_000; i++) {
      let token: bigint;
      const kind = i % 4;
      if (kind === 0) token = (BigInt(next()) << 32n) | BigInt(next()); // random
      else if (kind === 1) token = known[next() % known.length]! ^ (1n << BigInt(next() % 64)); // one bit off a real token
      else if (kind === 2) token = encodeToken({ object: next() % 8, generation: 1 + (next() % 8), rights: next() % 16 }); // small guesses
      else token = known[next() % known.length]!; // real tokens: stale, closed, or another PD's
      if (valid.has(token)) continue;
      try {
        r.check(A, token, 0, "check");
        accepted++;
      } catch (error) {
        assert.ok(error instanceof IpcError && error.code === "InvalidCapability");
      }
    }
    assert.equal(accepted, 0);
    for (const token of valid) assert.equal(r.check(A, token, 0, "check").token, token);
  });

  test("derive never widens, and a derived capability has exactly the rights asked for", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 15 }), (first, second) => {
        const r = registry();
        const root = r.createObject(A, "endpoint");
        const parent = r.derive(A, root.token, first);
        if ((second & ~first) !== 0) {
          rejects(() => r.derive(A, parent.token, second), "PermissionDenied", /cannot derive/);
        } else {
          assert.equal(r.derive(A, parent.token, second).rights, second);
        }
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  test("revoke takes back everything derived or granted from a capability, and says where", () => {
    const r = registry();
    const root = r.createObject(A, "endpoint");
    const child = r.derive(A, root.token, Rights.SEND | Rights.GRANT | Rights.REVOKE);
    const [inB] = r.grant(A, B, [child.token], { rights: Rights.SEND | Rights.GRANT });
    const [inC] = r.grant(B, C, [inB!], { rights: Rights.SEND });
    const sibling = r.derive(A, root.token, Rights.RECEIVE);
    assert.equal(r.revoke(A, child.token), 3);
    rejects(() => r.check(A, child.token, 0, "send"), "InvalidCapability", /was revoked; revoked at:\n.*caps\.test/s);
    rejects(() => r.check(B, inB!, 0, "send"), "InvalidCapability", /revoked/);
    rejects(() => r.check(C, inC!, 0, "send"), "InvalidCapability", /revoked/);
    assert.equal(r.check(A, sibling.token, Rights.RECEIVE, "receive").rights, Rights.RECEIVE);
    rejects(() => r.revoke(A, sibling.token), "PermissionDenied", /needs REVOKE/);
  });

  test("grant is all-or-nothing and names the capability that failed", () => {
    const r = registry();
    const ok1 = r.createObject(A, "endpoint").token;
    const noGrant = r.derive(A, r.createObject(A, "endpoint").token, Rights.SEND).token;
    const ok2 = r.createObject(A, "region").token;
    const before = r.stats();
    rejects(() => r.grant(A, B, [ok1, noGrant, ok2]), "PermissionDenied", /needs GRANT \(capability 1 of 3; none was granted\)/);
    assert.deepEqual(r.stats(), before);
    rejects(() => r.grant(A, B, [ok1, 123n]), "InvalidCapability", /capability 1 of 2; none was granted/);
    rejects(() => r.grant(A, B, [ok1], { through: ok1 }), "InvalidCapability", /channel end it would be sent through/);
    assert.deepEqual(r.stats(), before);
    const granted = r.grant(A, B, [ok1, ok2], { rights: Rights.SEND });
    assert.deepEqual(
      granted.map((t) => r.check(B, t, 0, "check").rights),
      [Rights.SEND, Rights.SEND],
    );
  });

  test("move transfers the capability; the sender's token says it was moved", () => {
    const r = registry();
    const token = r.createObject(A, "region").token;
    const [moved] = r.grant(A, B, [token], { move: true });
    assert.equal(moved, token);
    assert.equal(r.check(B, token, ALL_RIGHTS, "map").holder, B);
    rejects(() => r.check(A, token, 0, "map"), "InvalidCapability", /was moved/);
  });

  test("generations are never reused: an object retires after 65,535 capabilities", () => {
    const r = registry();
    const root = r.createObject(A, "endpoint");
    const seen = new Set<bigint>([root.token]);
    for (let i = 1; i < MAX_GENERATION; i++) {
      const child = r.derive(A, root.token, Rights.SEND);
      assert.ok(!seen.has(child.token));
      seen.add(child.token);
      r.close(A, child.token);
    }
    rejects(() => r.derive(A, root.token, Rights.SEND), "OutOfMemory", /retired/);
    for (const token of [...seen].slice(1, 50)) rejects(() => r.check(A, token, 0, "check"), "InvalidCapability");
  });

  test("cleanupProcess closes a PD's capabilities and destroys the objects it owned", () => {
    const r = registry();
    const owned = r.createObject(A, "endpoint");
    const [inB] = r.grant(A, B, [owned.token], { rights: Rights.SEND });
    const foreign = r.createObject(B, "endpoint");
    const [inA] = r.grant(B, A, [foreign.token]);
    assert.deepEqual(r.cleanupProcess(A), [owned.object]);
    rejects(() => r.check(B, inB!, 0, "send"), "InvalidCapability", /destroyed/);
    assert.equal(r.check(B, foreign.token, 0, "receive").object, foreign.object);
    rejects(() => r.check(A, inA!, 0, "send"), "ProcessNotFound");
    assert.deepEqual(r.stats(), { objectsCreated: 2, objectsDestroyed: 1, liveCapabilities: 1 });
  });
});
