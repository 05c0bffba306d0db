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

  test("revoke takes back everything derived or granted from a capability, and says who did it", () => {
    const r = registry();
    const root = r.createObject(A, "endpoint");
    const child = r.derive(A, root.token, Rights.SEND | Rights.GRANT | Rights.REVOKE);
    const [inB] = r.grant(A, B, [child.token], { rights: Rights.SEND | Rights.GRANT });
    const [inC] = r.grant(B, C, [inB!], { rights: Rights.SEND });
    const sibling = r.derive(A, root.token, Rights.RECEIVE);
    assert.equal(r.revoke(A, child.token), 3);
    rejects(() => r.check(A, child.token, 0, "send"), "InvalidCapability", /was revoked by PD 1 \(revoke\)$/);
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
    assert.equal(r.check(B, moved!, ALL_RIGHTS, "map").holder, B);
    rejects(() => r.check(A, token, 0, "map"), "InvalidCapability", /was moved by PD 1 \(grant\)$/);
    assert.equal(r.count(A), 0);
  });

  test("generations wrap within a space, past live tokens and the dead ones it remembers: a derive-and-close loop never runs out", () => {
    const r = registry();
    const root = r.createObject(A, "endpoint");
    const recent: bigint[] = [];
    for (let i = 1; i < MAX_GENERATION + 2000; i++) {
      const child = r.derive(A, root.token, Rights.SEND);
      assert.notEqual(child.token, root.token, "a live token is never issued again");
      assert.ok(!recent.includes(child.token), `generation ${decodeToken(child.token)!.generation} was closed among the last 1000`);
      recent.push(child.token);
      if (recent.length > 1000) recent.shift();
      r.close(A, child.token);
    }
    assert.equal(r.check(A, root.token, ALL_RIGHTS, "check").token, root.token);
    // Another space has its own generations for the same object.
    const [inB] = r.grant(A, B, [root.token], { rights: Rights.SEND });
    assert.equal(r.check(B, inB!, Rights.SEND, "send").holder, B);
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

describe("holding against a hostile PD", () => {
  /** What a failed operation must leave as it was: the counters and every space's size. */
  function snapshot(r: CapabilityRegistry, pds: readonly number[] = [A, B, C]): unknown {
    return { stats: r.stats(), counts: pds.map((pd) => r.count(pd)) };
  }

  test("revoke of the issue's attack, a chain of 20,000 derived capabilities in one space, takes all of it", () => {
    const r = new CapabilityRegistry({ maxDerivationDepth: 50_000, maxCapabilitiesPerPd: 50_000 });
    r.addProcess(A);
    const root = r.createObject(A, "endpoint").token;
    const first = r.derive(A, root, ALL_RIGHTS).token;
    let last = first;
    for (let i = 1; i < 20_000; i++) last = r.derive(A, last, ALL_RIGHTS).token;
    assert.equal(r.revoke(A, first), 20_000); // the recursive walk overflowed the stack at ~8,000 and revoked nothing
    rejects(() => r.check(A, last, 0, "send"), "InvalidCapability", /was revoked/);
    assert.equal(r.stats().liveCapabilities, 1);
  });

  test("revoke is iterative: a chain of 100,000 capabilities across three PDs is revoked whole", () => {
    const r = new CapabilityRegistry({ maxDerivationDepth: 200_000, maxCapabilitiesPerPd: 200_000 });
    for (const pd of [A, B, C]) r.addProcess(pd);
    const root = r.createObject(A, "endpoint");
    const first = r.derive(A, root.token, ALL_RIGHTS);
    const chain: { pd: number; token: bigint }[] = [{ pd: A, token: first.token }];
    // Each link is a grant (copy) into the next PD: a derivation chain 100,000 deep, ~33,000 nodes per space.
    for (let i = 1; i < 100_000; i++) {
      const last = chain[chain.length - 1]!;
      const to = [A, B, C][i % 3]!;
      const [token] = r.grant(last.pd, to, [last.token]);
      chain.push({ pd: to, token: token! });
    }
    assert.equal(r.stats().liveCapabilities, 100_001);
    assert.equal(r.revoke(A, first.token), 100_000);
    // (Only the last 1,024 dead tokens of a space keep their tombstone; older ones just name nothing.)
    for (const { pd, token } of [chain[0]!, chain[50_000]!, chain[99_999]!]) rejects(() => r.check(pd, token, 0, "send"), "InvalidCapability");
    assert.deepEqual([r.count(A), r.count(B), r.count(C)], [1, 0, 0]);
    assert.equal(r.check(A, root.token, ALL_RIGHTS, "send").token, root.token);
  });

  test("revoke of a wide tree takes exactly the subtree, siblings stay", () => {
    const r = new CapabilityRegistry({ maxCapabilitiesPerPd: 100_000 });
    for (const pd of [A, B, C]) r.addProcess(pd);
    const root = r.createObject(A, "endpoint");
    const left = r.derive(A, root.token, ALL_RIGHTS);
    const right = r.derive(A, root.token, ALL_RIGHTS);
    const leaves: bigint[] = [];
    for (let i = 0; i < 20_000; i++) {
      const [inB] = r.grant(A, B, [left.token]);
      leaves.push(r.derive(B, inB!, Rights.SEND).token);
    }
    const kept = r.grant(A, B, [right.token])[0]!;
    assert.equal(r.revoke(A, left.token), 1 + 40_000);
    assert.equal(r.count(B), 1);
    rejects(() => r.check(B, leaves[12_345]!, 0, "send"), "InvalidCapability");
    rejects(() => r.check(B, leaves[19_999]!, 0, "send"), "InvalidCapability");
    assert.equal(r.check(B, kept, Rights.SEND, "send").holder, B);
    assert.equal(r.revoke(A, right.token), 2);
  });

  test("derivation depth is limited: beyond maxDerivationDepth, derive and grant fail and change nothing", () => {
    const r = registry();
    let token = r.createObject(A, "endpoint").token;
    for (let i = 0; i < 64; i++) token = r.derive(A, token, ALL_RIGHTS).token;
    const before = snapshot(r);
    rejects(() => r.derive(A, token, Rights.SEND), "OutOfMemory", /^derive: .*chain is 64 deep \(limit 64\)/);
    rejects(() => r.grant(A, B, [token]), "OutOfMemory", /^grant: .*chain is 64 deep \(limit 64\).*none was granted/);
    assert.deepEqual(snapshot(r), before);
    // A move keeps the node's place in the tree: it is not a derivation.
    const [moved] = r.grant(A, B, [token], { move: true });
    assert.equal(r.check(B, moved!, ALL_RIGHTS, "send").holder, B);

    const shallow = new CapabilityRegistry({ maxDerivationDepth: 2 });
    shallow.addProcess(A);
    const top = shallow.createObject(A, "region").token;
    const two = shallow.derive(A, shallow.derive(A, top, ALL_RIGHTS).token, ALL_RIGHTS).token;
    rejects(() => shallow.derive(A, two, Rights.SEND), "OutOfMemory", /chain is 2 deep \(limit 2\)/);
  });

  test("a space holds at most maxCapabilitiesPerPd: createObject, derive, grant and move into a full space fail whole", () => {
    const r = new CapabilityRegistry({ maxCapabilitiesPerPd: 4, describePd: (pd) => `PD '${["", "a", "b", "c"][pd]!}'` });
    for (const pd of [A, B, C]) r.addProcess(pd);
    const x = r.createObject(A, "endpoint").token;
    const y = r.createObject(A, "endpoint").token;
    r.derive(A, x, Rights.SEND);
    r.derive(A, y, Rights.SEND);
    assert.equal(r.count(A), 4);
    const full = snapshot(r);
    rejects(() => r.createObject(A, "endpoint"), "OutOfMemory", /^createObject: PD 'a' holds 4 capabilities \(limit 4\)/);
    rejects(() => r.derive(A, x, Rights.SEND), "OutOfMemory", /^derive: PD 'a' holds 4 capabilities \(limit 4\)/);
    assert.deepEqual(snapshot(r), full);

    // B has room for one more: a grant of two installs neither, and a move of two moves neither.
    for (let i = 0; i < 3; i++) r.grant(A, B, [x]);
    const before = snapshot(r);
    rejects(() => r.grant(A, B, [x, y]), "OutOfMemory", /^grant: PD 'b' holds 3 capabilities, 2 more would exceed its limit of 4; none was granted/);
    rejects(() => r.grant(A, B, [x, y], { move: true }), "OutOfMemory", /none was granted/);
    assert.deepEqual(snapshot(r), before);
    assert.equal(r.check(A, x, ALL_RIGHTS, "send").token, x, "the sender keeps what it failed to move");
    assert.equal(r.check(A, y, ALL_RIGHTS, "send").token, y);
    // A move within one space needs no room.
    const [again] = r.grant(A, A, [x], { move: true });
    assert.equal(r.count(A), 4);
    assert.notEqual(again, x);
    // The kernel-internal move obeys the quota too.
    r.grant(A, B, [y]);
    rejects(() => r.move(A, B, again!, "transfer"), "OutOfMemory", /^transfer: PD 'b' holds 4 capabilities/);
    assert.equal(r.check(A, again!, ALL_RIGHTS, "send").holder, A);
  });

  test("an unlimited (kernel-internal) space takes any number; objects per owner are limited too", () => {
    const r = new CapabilityRegistry({ maxCapabilitiesPerPd: 2, maxObjectsPerPd: 3 });
    const KERNEL = 0;
    r.addProcess(KERNEL, { unlimited: true });
    r.addProcess(A);
    const x = r.createObject(A, "endpoint").token;
    const held: bigint[] = [];
    for (let i = 0; i < 10; i++) held.push(r.grant(A, KERNEL, [x])[0]!);
    assert.equal(r.count(KERNEL), 10);
    const back = r.move(KERNEL, A, held[0]!, "transfer");
    assert.equal(r.check(A, back, ALL_RIGHTS, "receive").holder, A);
    rejects(() => r.move(KERNEL, A, held[1]!, "transfer"), "OutOfMemory", /holds 2 capabilities \(limit 2\)/);
    r.revoke(A, back);
    // An object outlives its capabilities until it is destroyed: revoking them all does not free its place.
    for (let i = 0; i < 2; i++) r.revoke(A, r.createObject(A, "region").token);
    assert.equal(r.count(A), 1);
    const before = r.stats();
    rejects(() => r.createObject(A, "region"), "OutOfMemory", /^createObject: PD 1 owns 3 objects \(limit 3\)/);
    assert.deepEqual(r.stats(), before);
    assert.equal(r.cleanupProcess(A).length, 3);
  });

  test("a kernel-internal space never runs out of generations: they wrap, skipping live tokens", () => {
    const r = new CapabilityRegistry();
    const KERNEL = 0;
    r.addProcess(KERNEL, { unlimited: true });
    r.addProcess(A);
    const x = r.createObject(A, "endpoint").token;
    const early = r.check(KERNEL, r.grant(A, KERNEL, [x])[0]!, 0, "transfer"); // generation 1, live throughout
    const second = r.check(KERNEL, r.grant(A, KERNEL, [x], { rights: Rights.SEND })[0]!, 0, "transfer"); // generation 2
    for (let i = 0; i < MAX_GENERATION + 10; i++) r.close(KERNEL, r.grant(A, KERNEL, [x])[0]!, "transfer");
    const after = r.grant(A, KERNEL, [x])[0]!;
    assert.ok(decodeToken(after)!.generation > 2, "generations 1 and 2 are live: skipped");
    assert.equal(r.check(KERNEL, early.token, 0, "transfer").id, early.id);
    assert.equal(r.check(KERNEL, second.token, 0, "transfer").id, second.id);
    assert.equal(r.count(KERNEL), 3);
  });

  test("generations cannot be used up from outside: a client deriving in a loop, or putting copies into the server's space, leaves every space able to get capabilities", () => {
    const r = registry();
    const server = r.createObject(A, "endpoint").token;
    const [client] = r.grant(A, B, [server], { rights: Rights.SEND | Rights.GRANT });
    // The attack from the issue: a SEND-only client derives and closes in a loop...
    for (let i = 0; i < MAX_GENERATION + 10; i++) r.close(B, r.derive(B, client!, Rights.SEND).token);
    // ...and one that puts copies of the server's own endpoint into the server's space, which closes them.
    for (let i = 0; i < MAX_GENERATION + 10; i++) r.close(A, r.grant(B, A, [client!], { rights: Rights.SEND })[0]!);
    const [other] = r.grant(A, C, [server], { rights: Rights.SEND });
    assert.equal(r.check(C, other!, Rights.SEND, "send").holder, C);
    assert.equal(r.derive(A, server, Rights.SEND).rights, Rights.SEND);
    assert.equal(r.derive(B, client!, Rights.SEND).rights, Rights.SEND);
    assert.equal(r.check(B, client!, Rights.SEND, "send").holder, B, "what it holds still works");
  });

  test("tokens are unique within a space, not across: the same value in two spaces names two capabilities", () => {
    const r = registry();
    const root = r.createObject(A, "endpoint").token;
    const [copy] = r.grant(A, B, [root]);
    assert.equal(copy, root, "first generation in each space, same rights: the same 64-bit value");
    r.close(B, copy);
    assert.equal(r.check(A, root, ALL_RIGHTS, "send").holder, A, "closing B's capability leaves A's");
    rejects(() => r.check(B, copy, 0, "send"), "InvalidCapability", /was closed by PD 2 \(close\)/);
    const [second] = r.grant(A, B, [root]);
    assert.notEqual(second, copy, "a closed token is never issued again in that space");
  });

  test("move re-issues the node in the receiver's space: new token, same place in the tree, onRemove(old, 'moved')", () => {
    const removed: { token: bigint; holder: number; reason: string; to: bigint | undefined }[] = [];
    const r = new CapabilityRegistry({
      onRemove: (info, reason, movedTo) => removed.push({ token: info.token, holder: info.holder, reason, to: movedTo?.token }),
      describePd: (pd) => `PD '${["", "a", "b", "c"][pd]!}'`,
    });
    for (const pd of [A, B, C]) r.addProcess(pd);
    const root = r.createObject(A, "endpoint").token;
    const node = r.derive(A, root, ALL_RIGHTS);
    const child = r.derive(A, node.token, Rights.SEND).token; // stays in A, below the node that moves
    r.grant(B, B, [], {}); // a grant of nothing is a no-op
    r.close(B, r.derive(B, r.grant(A, B, [root], { rights: Rights.SEND })[0]!, Rights.SEND).token); // B's counter for the endpoint moves on
    const [moved] = r.grant(A, B, [node.token], { move: true });
    assert.notEqual(moved, node.token);
    const info = r.check(B, moved!, ALL_RIGHTS, "send");
    assert.equal(info.holder, B);
    assert.equal(info.id, node.id, "the same capability, re-issued");
    assert.equal(decodeToken(moved!)!.generation, 3, "from B's own counter");
    rejects(() => r.check(A, node.token, 0, "send"), "InvalidCapability", /^send: capability 0x[0-9a-f]{16} was moved by PD 'a' \(grant\)$/);
    assert.deepEqual(removed.at(-1), { token: node.token, holder: A, reason: "moved", to: moved });
    // Its children came with it: revoking through the new token takes the child in A.
    const kernelMoved = r.move(B, C, moved!, "transfer");
    assert.deepEqual(removed.at(-1), { token: moved, holder: B, reason: "moved", to: kernelMoved });
    assert.equal(r.revoke(C, kernelMoved), 2);
    rejects(() => r.check(A, child, 0, "send"), "InvalidCapability", /was revoked by PD 'c' \(revoke\)/);
    rejects(() => r.move(B, C, 0x1234n, "transfer"), "InvalidCapability", /^transfer: /);
  });

  test("messages a PD reads name who did it and how, never a host path or a kernel stack", () => {
    const r = new CapabilityRegistry({ describePd: (pd) => (pd === A ? "PD 'server'" : `PD ${pd}`) });
    for (const pd of [A, B]) r.addProcess(pd);
    const root = r.createObject(A, "endpoint").token;
    const [held] = r.grant(A, B, [root], { rights: Rights.SEND });
    r.revoke(A, root);
    assert.throws(
      () => r.check(B, held!, 0, "send"),
      (e: unknown) =>
        e instanceof IpcError &&
        /^send: capability 0x[0-9a-f]{16} was revoked by PD 'server' \(revoke\)$/.test(e.message) &&
        !/\/|\bat\b/.test(e.message),
    );
    const other = r.createObject(A, "region").token;
    const [mapped] = r.grant(A, B, [other], { rights: Rights.RECEIVE });
    r.cleanupProcess(A);
    rejects(() => r.check(B, mapped!, 0, "map"), "InvalidCapability", /^map: capability 0x[0-9a-f]{16} was destroyed by PD 'server', when it ended or was restarted$/);
  });

  test("cleanupProcess of a PD with 100,000 capabilities touches only what it held and owned", (t) => {
    const reasons = new Map<string, number>();
    const r = new CapabilityRegistry({ maxCapabilitiesPerPd: 200_000, onRemove: (_info, reason) => reasons.set(reason, (reasons.get(reason) ?? 0) + 1) });
    for (const pd of [A, B, C]) r.addProcess(pd);
    const bystander = r.createObject(C, "endpoint").token;
    const bystanderKids = Array.from({ length: 100 }, () => r.derive(C, bystander, Rights.SEND).token);
    const theirs = r.createObject(B, "endpoint").token;
    const [lent] = r.grant(B, A, [theirs]); // A holds B's endpoint, with children in A and one granted back to B
    const intoB = r.grant(A, B, [r.derive(A, lent!, ALL_RIGHTS).token])[0]!;
    const mine = r.createObject(A, "endpoint").token;
    const [inB] = r.grant(A, B, [mine], { rights: Rights.SEND });
    for (let o = 0; o < 50; o++) {
      const object = o === 0 ? mine : r.createObject(A, "endpoint").token;
      for (let i = 0; i < 2_000 - (o === 0 ? 3 : 1); i++) r.derive(A, object, Rights.SEND);
    }
    assert.equal(r.count(A), 100_000);
    const before = r.stats();
    const start = performance.now();
    assert.equal(r.cleanupProcess(A).length, 50);
    t.diagnostic(`cleanupProcess of 100,000 capabilities: ${(performance.now() - start).toFixed(1)} ms`);
    assert.deepEqual(r.stats(), { objectsCreated: before.objectsCreated, objectsDestroyed: 50, liveCapabilities: before.liveCapabilities - 100_001 });
    assert.deepEqual(Object.fromEntries(reasons), { closed: 100_000, destroyed: 1 });
    assert.equal(r.count(A), 0);
    rejects(() => r.check(B, inB!, 0, "send"), "InvalidCapability", /destroyed/);
    // B's endpoint lives on, and B's capability that A granted it stays, re-parented under B's own.
    assert.equal(r.check(B, intoB, ALL_RIGHTS, "send").holder, B);
    assert.equal(r.revoke(B, theirs), 2);
    assert.equal(r.count(C), 101);
    for (const token of [bystander, ...bystanderKids]) assert.equal(r.check(C, token, 0, "send").holder, C);
  });

  test("destroy touches that object's capabilities only; count and stats follow every operation", () => {
    const removed: bigint[] = [];
    const r = new CapabilityRegistry({ onRemove: (info) => removed.push(info.token) });
    for (const pd of [A, B, C]) r.addProcess(pd);
    const doomed = r.createObject(A, "endpoint").token;
    const keep = r.createObject(A, "endpoint").token;
    const [b1] = r.grant(A, B, [doomed, keep]);
    r.derive(B, b1!, Rights.SEND);
    r.grant(A, C, [doomed]);
    assert.deepEqual([r.count(A), r.count(B), r.count(C)], [2, 3, 1]);
    assert.equal(r.destroyObject(A, doomed), 1);
    assert.equal(removed.length, 4);
    assert.deepEqual([r.count(A), r.count(B), r.count(C)], [1, 1, 0]);
    assert.deepEqual(r.stats(), { objectsCreated: 2, objectsDestroyed: 1, liveCapabilities: 2 });
    assert.equal(r.count(99), 0, "an unknown PD holds nothing");
  });
});
