// The kernel's half of the IPC layer, driven directly (no workers): hostile syscalls, tokens that name nothing,
// revocation and clean-up as the slots see them; and the receiver's token buckets on a fake clock.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { IpcKernel, type IpcPd } from "../src/kernel/ipc-kernel.ts";
import { RateLimiter, validateRateLimits } from "../src/ipc/rate-limit.ts";
import { CONTROL_BYTES, DOORBELL_BYTES } from "../src/protocol/layout.ts";
import { GUARD_I32, Refusal, SLOT_I32, SlotGone, SlotState, SlotStatus, slotStatus } from "../src/protocol/endpoint.ts";
import type { KernelToPd, SlotGrant } from "../src/protocol/syscall.ts";
import { Rights } from "../src/index.ts";
import { errorCode } from "./helpers.ts";

interface FakePd extends IpcPd {
  readonly posted: KernelToPd[];
  dead: boolean;
}

function kernelWith(names: readonly string[]): { kernel: IpcKernel; pds: FakePd[] } {
  const kernel = new IpcKernel();
  const pds = names.map((name, i) => {
    const posted: KernelToPd[] = [];
    const pd: FakePd = {
      pid: i + 1,
      name,
      posted,
      dead: false,
      post: (m) => posted.push(m),
      control: new Int32Array(new SharedArrayBuffer(CONTROL_BYTES)),
      doorbell: new SharedArrayBuffer(DOORBELL_BYTES),
      alive: () => !pd.dead,
      take: () => undefined,
      connected: new Set(names),
      fault: (error) => { throw error; },
    };
    kernel.addPd(pd);
    return pd;
  });
  return { kernel, pds };
}

const code = errorCode;

describe("IPC kernel: syscalls are untrusted input", () => {
  it("refuses anything that is not exactly a known request, with InvalidArgument", () => {
    const { kernel } = kernelWith(["a"]);
    for (const bad of [null, 42, "create-endpoint", {}, { op: "format-disk" }, { op: "connect" }, { op: "connect", token: 5 }, { op: "revoke", token: "1" }, { op: "derive", token: 1n }, { op: "grant", token: 1n, rights: 1 }, { op: "transfer", through: 1n, tokens: [1] }, { op: "pid" }, { op: "__proto__" }]) {
      assert.equal(code(() => kernel.handle(1, bad)), "InvalidArgument", JSON.stringify(bad, (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v)));
    }
  });

  it("100,000 random and stale tokens connect to nothing; the real one does", () => {
    const { kernel } = kernelWith(["owner", "other"]);
    const { grant } = kernel.handle(1, { op: "create-endpoint" }) as { grant: { token: bigint } };
    const sendCap = (kernel.handle(1, { op: "derive", token: grant.token, rights: Rights.SEND }) as { token: bigint }).token;
    let seed = 12345;
    const random = (): number => (seed = (seed * 1103515245 + 12345) >>> 0);
    for (let i = 0; i < 100_000; i++) {
      const token = i % 4 === 0 ? sendCap ^ (1n << BigInt(i % 64)) : (BigInt(random()) << 32n) | BigInt(random());
      if (token === sendCap) continue;
      assert.notEqual(code(() => kernel.handle(1, { op: "connect", token })), "ok");
    }
    assert.equal(code(() => kernel.handle(2, { op: "connect", token: sendCap })), "InvalidCapability", "another PD's token names nothing");
    assert.equal(code(() => kernel.handle(1, { op: "connect", token: sendCap })), "ok");
  });

  it("derive never widens; RECEIVE stays with the creator; grants to unknown PDs fail", () => {
    const { kernel } = kernelWith(["owner", "other"]);
    const { grant } = kernel.handle(1, { op: "create-endpoint" }) as { grant: { token: bigint } };
    const send = (kernel.handle(1, { op: "derive", token: grant.token, rights: Rights.SEND | Rights.GRANT }) as { token: bigint }).token;
    assert.equal(code(() => kernel.handle(1, { op: "derive", token: send, rights: Rights.SEND | Rights.REVOKE })), "PermissionDenied");
    assert.equal(code(() => kernel.handle(1, { op: "grant", token: grant.token, to: "other", rights: Rights.SEND | Rights.RECEIVE, move: false })), "PermissionDenied");
    assert.equal(code(() => kernel.handle(1, { op: "grant", token: send, to: "nobody", rights: Rights.SEND, move: false })), "ProcessNotFound");
    assert.equal(code(() => kernel.handle(1, { op: "derive", token: grant.token, rights: Rights.SEND, badge: 1, limits: { maxMessagesPerSec: -1, maxBytesPerSec: 1, burstMultiplier: 1 } })), "InvalidArgument");
  });

  it("revoke refuses a message waiting in a slot and closes the slot; clean-up closes the receiver's endpoints", () => {
    const { kernel, pds } = kernelWith(["owner", "sender"]);
    const created = kernel.handle(1, { op: "create-endpoint" }) as { grant: { token: bigint }; guard: SharedArrayBuffer };
    const grant = created.grant;
    const guard = new Int32Array(created.guard);
    const mine = (kernel.handle(1, { op: "derive", token: grant.token, rights: Rights.SEND | Rights.GRANT | Rights.REVOKE }) as { token: bigint }).token;
    const theirs = (kernel.handle(1, { op: "grant", token: mine, to: "sender", rights: Rights.SEND, move: false }) as { token: bigint }).token;
    const slot = kernel.handle(2, { op: "connect", token: theirs }) as SlotGrant;
    const i32 = new Int32Array(slot.slot);
    assert.equal(Atomics.load(guard, GUARD_I32.STATUS + slot.index), slotStatus(slot.generation, SlotStatus.LIVE));
    assert.ok(pds[0]!.posted.some((m) => m.kind === "slot" && m.index === slot.index && m.sender === "sender"), "the receiver is told of the new sender");
    Atomics.store(i32, SLOT_I32.STATE, SlotState.SENT); // a message waits in the slot
    assert.deepEqual(kernel.handle(1, { op: "revoke", token: mine }), { count: 2 });
    assert.equal(Atomics.load(guard, GUARD_I32.STATUS + slot.index), slotStatus(slot.generation, SlotStatus.REVOKED));
    assert.equal(Atomics.load(i32, SLOT_I32.STATE), SlotState.REFUSED);
    assert.equal(Atomics.load(i32, SLOT_I32.ERROR), Refusal.REVOKED);
    assert.equal(Atomics.load(i32, SLOT_I32.GONE), SlotGone.CAPABILITY_REVOKED);
    assert.equal(code(() => kernel.handle(2, { op: "connect", token: theirs })), "InvalidCapability");

    const again = (kernel.handle(1, { op: "grant", token: grant.token, to: "sender", rights: Rights.SEND, move: false }) as { token: bigint }).token;
    const second = new Int32Array((kernel.handle(2, { op: "connect", token: again }) as SlotGrant).slot);
    Atomics.store(second, SLOT_I32.STATE, SlotState.CALLED);
    pds[0]!.dead = true;
    kernel.cleanupProcess(1);
    assert.equal(Atomics.load(second, SLOT_I32.STATE), SlotState.CLOSED);
    assert.equal(Atomics.load(second, SLOT_I32.GONE), SlotGone.RECEIVER_DIED);
    assert.equal(kernel.stats().endpointsLive, 0);
  });
});

describe("IPC kernel: a message's end survives its endpoint closing", () => {
  it("a slot closes from any state and keeps the state it closed from", () => {
    for (const [before, name] of [
      [SlotState.DELIVERED, "a send the receiver took"],
      [SlotState.REPLIED, "a call it answered"],
      [SlotState.REFUSED, "a message it refused"],
      [SlotState.SENT, "a send not taken"],
      [SlotState.CALLED, "a call not answered"],
      [SlotState.IDLE, "an idle slot"],
    ] as const) {
      const { kernel } = kernelWith(["owner", "sender"]);
      const { grant } = kernel.handle(1, { op: "create-endpoint" }) as { grant: { token: bigint } };
      const theirs = (kernel.handle(1, { op: "grant", token: grant.token, to: "sender", rights: Rights.SEND, move: false }) as { token: bigint }).token;
      const i32 = new Int32Array((kernel.handle(2, { op: "connect", token: theirs }) as SlotGrant).slot);
      Atomics.store(i32, SLOT_I32.STATE, before);
      kernel.handle(1, { op: "close", token: grant.token }); // the receiver closes its endpoint
      assert.equal(Atomics.load(i32, SLOT_I32.STATE), SlotState.CLOSED, name);
      assert.equal(Atomics.load(i32, SLOT_I32.CLOSED_FROM), before, name);
      assert.equal(Atomics.load(i32, SLOT_I32.GONE), SlotGone.ENDPOINT_CLOSED, name);
    }
  });
});

describe("rate limits: token buckets on the receiving side", () => {
  const limits = { maxMessagesPerSec: 10, maxBytesPerSec: 100, burstMultiplier: 2 };

  it("start full: a burst of rate x multiplier, then refusal", () => {
    const bucket = new RateLimiter(limits, 0);
    let taken = 0;
    while (bucket.tryTake(1, 0)) taken++;
    assert.equal(taken, 20);
  });

  it("refill continuously, not in whole-second steps", () => {
    const bucket = new RateLimiter(limits, 0);
    while (bucket.tryTake(1, 0));
    assert.equal(bucket.tryTake(1, 50), false, "50 ms = half a message");
    assert.equal(bucket.tryTake(1, 100), true, "100 ms = one message");
    assert.equal(bucket.tryTake(1, 100), false);
    let taken = 0;
    while (bucket.tryTake(1, 100_000)) taken++;
    assert.equal(taken, 20, "never more than the burst, however long the pause");
  });

  it("limit bytes per second; a refused message costs nothing", () => {
    const bucket = new RateLimiter(limits, 0);
    assert.equal(bucket.tryTake(150, 0), true);
    assert.equal(bucket.tryTake(64, 0), false, "50 bytes left");
    assert.equal(bucket.tryTake(50, 0), true, "the refusal took nothing");
    assert.equal(bucket.tryTake(201, 1e9), false, "more than a burst of bytes is never allowed");
  });

  it("a clock that goes backwards refills nothing", () => {
    const bucket = new RateLimiter(limits, 1000);
    while (bucket.tryTake(1, 1000));
    assert.equal(bucket.tryTake(1, 0), false);
  });

  it("invalid limits are refused with InvalidArgument", () => {
    for (const bad of [{ ...limits, maxMessagesPerSec: 0 }, { ...limits, maxBytesPerSec: Number.NaN }, { ...limits, burstMultiplier: 0.5 }, { ...limits, maxMessagesPerSec: Infinity }]) {
      assert.equal(code(() => validateRateLimits(bad, "test")), "InvalidArgument");
    }
  });
});

describe("performance statistics (seed 003's report)", () => {
  it("counts every operation, times one send or call in 16, and reports the fast-path share", async () => {
    const { OperationStats } = await import("../src/ipc/stats.ts");
    const stats = new OperationStats();
    let sampled = 0;
    for (let i = 0; i < 64; i++) {
      const started = stats.shouldSample() ? performance.now() - 0.0005 : -1; // a 0.5 µs operation
      if (started >= 0) sampled++;
      stats.record(started, i % 4 === 0);
    }
    for (let i = 0; i < 36; i++) stats.record(-1, false); // receives: counted, not timed
    const report = stats.report();
    assert.equal(sampled, 4);
    assert.equal(report.totalOperations, 100);
    assert.equal(report.sampledOperations, 4);
    assert.equal(report.fastPathPercent, 84, "16 of 100 slept");
    assert.ok(report.p50LatencyNs >= 500 && report.p50LatencyNs <= report.p99LatencyNs, JSON.stringify(report));
    assert.equal(report.meetsPhase1Targets, report.averageLatencyNs < 5000);
    assert.equal(new OperationStats().report().meetsPhase5Targets, false, "no measurement, no claim");
  });
});

describe("IPC kernel: what a capability carries survives a move", () => {
  it("a moved capability keeps its badge and its rate limits (moving cannot shed them)", () => {
    const { kernel, pds } = kernelWith(["owner", "holder", "other"]);
    const { grant } = kernel.handle(1, { op: "create-endpoint" }) as { grant: { token: bigint } };
    const limited = kernel.handle(1, {
      op: "derive",
      token: grant.token,
      rights: Rights.SEND | Rights.GRANT,
      badge: 5,
      limits: { maxMessagesPerSec: 1, maxBytesPerSec: 64, burstMultiplier: 1 },
    }) as { token: bigint };
    const held = (kernel.handle(1, { op: "grant", token: limited.token, to: "holder", rights: Rights.SEND | Rights.GRANT, move: false }) as { token: bigint }).token;
    const moved = (kernel.handle(2, { op: "grant", token: held, to: "other", rights: Rights.SEND | Rights.GRANT, move: true }) as { token: bigint }).token;
    assert.equal(code(() => kernel.handle(2, { op: "connect", token: held })), "InvalidCapability", "gone from the mover");
    kernel.handle(3, { op: "connect", token: moved });
    const slot = pds[0]!.posted.find((m) => m.kind === "slot" && m.sender === "other");
    assert.ok(slot?.kind === "slot");
    assert.equal(slot.badge, 5);
    assert.deepEqual(slot.capLimits.map((b) => b.limits), [{ maxMessagesPerSec: 1, maxBytesPerSec: 64, burstMultiplier: 1 }]);
  });

  it("deriving from a token the caller does not hold reveals nothing about it", () => {
    const { kernel } = kernelWith(["owner", "stranger"]);
    const { grant } = kernel.handle(1, { op: "create-endpoint" }) as { grant: { token: bigint } };
    const badged = kernel.handle(1, { op: "derive", token: grant.token, rights: Rights.SEND, badge: 9 }) as { token: bigint };
    assert.equal(code(() => kernel.handle(2, { op: "derive", token: badged.token, rights: Rights.SEND, badge: 3 })), "InvalidCapability");
  });
});
