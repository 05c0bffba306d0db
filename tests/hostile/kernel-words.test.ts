// What the kernel publishes for supervision and revocation (issue #13), driven directly (no workers): a mapping's
// liveness word, the slot word that tells a restart from a death, and the `async-end` syscall after a restart.
// Each request comes from a PD, so each is untrusted input: malformed ones are refused with typed errors and
// change nothing; what binds is the kernel's own record, never a word a PD can write back.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { IpcKernel, type IpcPd } from "../../src/kernel/ipc-kernel.ts";
import { AsyncChannels } from "../../src/kernel/async-channels.ts";
import { CONTROL_BYTES, DOORBELL_BYTES } from "../../src/protocol/layout.ts";
import { SLOT_I32, SlotGone } from "../../src/protocol/endpoint.ts";
import { AsyncProducer, type ConsumerDescriptor, type ProducerDescriptor } from "../../src/ipc/async/index.ts";
import { HOST } from "../../src/kernel/async-channels.ts";
import type { RegionGrant, SlotGrant } from "../../src/protocol/syscall.ts";
import { Rights } from "../../src/index.ts";
import { errorCode } from "../helpers.ts";

function kernelWith(names: readonly string[]): IpcKernel {
  const kernel = new IpcKernel();
  names.forEach((name, i) => {
    const pd: IpcPd = {
      pid: i + 1,
      name,
      post: () => undefined,
      control: new Int32Array(new SharedArrayBuffer(CONTROL_BYTES)),
      doorbell: new SharedArrayBuffer(DOORBELL_BYTES),
      alive: () => true,
      take: () => undefined,
      connected: new Set(names),
      fault: (error) => { throw error; },
    };
    kernel.addPd(pd);
  });
  return kernel;
}

/** PD 1 creates a region and grants PD 2 a copy (RECEIVE | SEND) of a child it can revoke. */
function lent(kernel: IpcKernel): { child: bigint; held: bigint } {
  const { grant } = kernel.handle(1, { op: "create-region", size: 64 }) as { grant: { token: bigint } };
  const child = (kernel.handle(1, { op: "derive", token: grant.token, rights: Rights.RECEIVE | Rights.SEND | Rights.GRANT | Rights.REVOKE }) as { token: bigint }).token;
  const held = (kernel.handle(1, { op: "grant", token: child, to: "b", rights: Rights.RECEIVE | Rights.SEND, name: "r", move: false }) as { token: bigint }).token;
  return { child, held };
}

const word = (grant: RegionGrant): number => Atomics.load(new Int32Array(grant.live), 0);

describe("hostile: the words the kernel publishes", () => {
  it("a mapping's liveness word is 1 while its capability is held and 0 from the revoke by its granter; the same capability maps to the same word", () => {
    const kernel = kernelWith(["a", "b"]);
    const { child, held } = lent(kernel);
    const first = kernel.handle(2, { op: "map", token: held }) as RegionGrant;
    const again = kernel.handle(2, { op: "map", token: held }) as RegionGrant;
    assert.equal(first.live, again.live);
    assert.equal(word(first), 1);
    kernel.handle(1, { op: "revoke", token: child });
    assert.equal(word(first), 0);
    // The holder writing its word back changes nothing that binds: the capability is gone from its space.
    Atomics.store(new Int32Array(first.live), 0, 1);
    assert.equal(errorCode(() => kernel.handle(2, { op: "map", token: held })), "InvalidCapability");
  });

  it("the word goes to 0 when the holder closes the capability and when the owner's clean-up destroys the region", () => {
    const kernel = kernelWith(["a", "b"]);
    const closed = lent(kernel);
    const byClose = kernel.handle(2, { op: "map", token: closed.held }) as RegionGrant;
    kernel.handle(2, { op: "close", token: closed.held });
    assert.equal(word(byClose), 0);
    const destroyed = lent(kernel);
    const byCleanup = kernel.handle(2, { op: "map", token: destroyed.held }) as RegionGrant;
    assert.equal(word(byCleanup), 1);
    kernel.cleanupProcess(1);
    assert.equal(word(byCleanup), 0);
  });

  it("a sender's slot says RECEIVER_RESTARTED when its endpoint's owner is cleaned up for a restart, RECEIVER_DIED otherwise", () => {
    for (const [restarting, expected] of [[true, SlotGone.RECEIVER_RESTARTED], [false, SlotGone.RECEIVER_DIED]] as const) {
      const kernel = kernelWith(["a", "b"]);
      const { grant } = kernel.handle(1, { op: "create-endpoint" }) as { grant: { token: bigint } };
      const send = (kernel.handle(1, { op: "grant", token: grant.token, to: "b", rights: Rights.SEND, name: "ep", move: false }) as { token: bigint }).token;
      const slot = kernel.handle(2, { op: "connect", token: send }) as SlotGrant;
      kernel.cleanupProcess(1, restarting);
      assert.equal(Atomics.load(new Int32Array(slot.slot), SLOT_I32.GONE), expected);
    }
  });

  it("async-end: malformed requests and ends the PD does not hold are refused; after its peer's restart it names new rings", () => {
    const kernel = kernelWith(["a", "b"]);
    assert.equal(errorCode(() => kernel.handle(1, { op: "async-end", name: "up", role: "producer" })), "InvalidArgument"); // no async channels
    const channels = new AsyncChannels([{ name: "up", producers: ["a"], consumer: "b", capacity: 4 }], new Set(["a", "b"]));
    kernel.asyncEnd = (pd, name, role) => channels.current(pd, name, role);
    for (const bad of [{ op: "async-end" }, { op: "async-end", name: "up" }, { op: "async-end", name: "up", role: "both" }, { op: "async-end", name: 7, role: "producer" }, { op: "async-end", name: "x".repeat(5000), role: "producer" }]) {
      assert.equal(errorCode(() => kernel.handle(1, bad)), "InvalidArgument", JSON.stringify(bad).slice(0, 80));
    }
    assert.equal(errorCode(() => kernel.handle(1, { op: "async-end", name: "up", role: "consumer" })), "InvalidArgument"); // a is the producer
    assert.equal(errorCode(() => kernel.handle(1, { op: "async-end", name: "down", role: "producer" })), "InvalidArgument");
    const before = kernel.handle(1, { op: "async-end", name: "up", role: "producer" }) as ProducerDescriptor;
    const consumer = kernel.handle(2, { op: "async-end", name: "up", role: "consumer" }) as ConsumerDescriptor;
    assert.deepEqual(consumer.rings, [before.ring]);
    channels.died("b", true); // the consumer is restarted: the producer's ring is rewired, then the old one marked
    const after = kernel.handle(1, { op: "async-end", name: "up", role: "producer" }) as ProducerDescriptor;
    assert.notEqual(after.ring, before.ring);
    assert.equal(after.index, 0);
    assert.deepEqual((kernel.handle(2, { op: "async-end", name: "up", role: "consumer" }) as ConsumerDescriptor).rings, [after.ring]);
    channels.died("a", false); // a death, not a restart: nothing is rewired
    assert.equal((kernel.handle(1, { op: "async-end", name: "up", role: "producer" }) as ProducerDescriptor).ring, after.ring);
  });

  it("the booting thread's consumer drains a restarted producer's new ring after reporting the old one dead", () => {
    const channels = new AsyncChannels([{ name: "up", producers: ["a"], consumer: HOST, capacity: 4 }], new Set(["a"]));
    const host = channels.hostConsumer("up");
    const old = AsyncProducer.attach(channels.current("a", "up", "producer") as ProducerDescriptor);
    assert.equal(old.trySend(new Uint8Array([1])), true);
    channels.died("a", true);
    const next = AsyncProducer.attach(channels.current("a", "up", "producer") as ProducerDescriptor);
    assert.equal(next.trySend(new Uint8Array([2])), true);
    assert.equal(channels.hostConsumer("up"), host, "the same end, with the new ring added");
    const got: string[] = [];
    for (let i = 0; i < 4; i++) {
      try {
        const m = host.tryReceive();
        if (m !== undefined) got.push(String(m[0]));
      } catch (error) {
        got.push(errorCode(() => { throw error; }));
      }
    }
    // What the old generation sent first, then the old ring's end (once), and the new generation's message.
    assert.deepEqual(got.filter((g) => g !== "PeerDied"), ["1", "2"]);
    assert.equal(got.filter((g) => g === "PeerDied").length, 1);
  });
});
