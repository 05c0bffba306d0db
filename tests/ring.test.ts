// The single-producer single-consumer ring (groundwork of the async-channels issue).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Worker } from "node:worker_threads";
import { IpcError, Rights } from "../src/index.ts";
import { createRing, RING_LAYOUT, RingConsumer, RingFlag, RingProducer } from "../src/shm/ring.ts";
import { IpcClient, type KernelLink } from "../src/ipc/client.ts";
import type { Capability } from "../src/ipc/capability.ts";
import { IpcKernel, type IpcPd } from "../src/kernel/ipc-kernel.ts";
import { QUEUE, QUEUE_ENTRY_BYTES } from "../src/protocol/endpoint.ts";
import { CONTROL_BYTES, DOORBELL_BYTES } from "../src/protocol/layout.ts";
import type { KernelMail } from "../src/protocol/syscall.ts";

const bytes = (...values: number[]) => new Uint8Array(values);

describe("ring", () => {
  test("bounded: full refuses, empty returns undefined, order is kept across wrap-around", () => {
    const buffer = createRing({ capacity: 3, slotPayload: 8 }); // rounded up to 4 slots
    const producer = new RingProducer(buffer);
    const consumer = new RingConsumer(buffer);
    assert.equal(producer.capacity, 4);
    assert.equal(consumer.tryPop(), undefined);
    for (let round = 0; round < 1000; round++) {
      for (let i = 0; i < 4; i++) assert.equal(producer.tryPush(bytes(round & 0xff, i)), true);
      assert.equal(producer.tryPush(bytes(9)), false, "full");
      assert.equal(consumer.size, 4);
      for (let i = 0; i < 4; i++) assert.deepEqual(consumer.tryPop(), bytes(round & 0xff, i));
      assert.equal(consumer.tryPop(), undefined);
    }
  });

  test("batches publish and free with one store, and keep exact lengths (no bytes of earlier messages leak)", () => {
    const buffer = createRing({ capacity: 8, slotPayload: 16 });
    const producer = new RingProducer(buffer);
    const consumer = new RingConsumer(buffer);
    producer.pushBatch([new Uint8Array(16).fill(0xee)]);
    consumer.popBatch(1, () => {});
    const sent = [bytes(1), bytes(), bytes(2, 2), new Uint8Array(16).fill(7)];
    assert.equal(producer.pushBatch(sent), 4);
    const seen: number[][] = [];
    assert.equal(
      consumer.popBatch(10, (payload) => seen.push([...payload])),
      4,
    );
    assert.deepEqual(seen, sent.map((b) => [...b]));
    assert.equal(producer.pushBatch(new Array<Uint8Array>(20).fill(bytes(5))), 8, "only what fits");
  });

  test("a consumer that reuses views hands out each message's own bytes and length, whatever the program did to an earlier view", () => {
    const buffer = createRing({ capacity: 4, slotPayload: 16 });
    const producer = new RingProducer(buffer);
    const consumer = new RingConsumer(buffer, undefined, true);
    const lengths = [5, 5, 9, 0, 16, 5, 1];
    let views = 0;
    const handed = new Set<Uint8Array>();
    for (let lap = 0; lap < 40; lap++) {
      const sent = Array.from({ length: 3 }, (_, i) => new Uint8Array(lengths[(lap * 3 + i) % lengths.length]!).fill((lap * 3 + i) & 0xff));
      assert.equal(producer.pushBatch(sent), 3);
      const seen: number[][] = [];
      consumer.popBatch(10, (payload) => {
        seen.push([...payload]);
        if (!handed.has(payload)) views++;
        handed.add(payload);
        // A program may shadow what it was handed: the ring never reads these back.
        Object.defineProperty(payload, "length", { value: 1000 });
      });
      assert.deepEqual(seen, sent.map((b) => [...b]), `lap ${lap}`);
      producer.tryPush(new Uint8Array(3).fill(lap));
      assert.deepEqual(consumer.tryPop(), new Uint8Array(3).fill(lap), "a copy, its own length");
    }
    assert.ok(views < 120, `reused: ${views} views for 120 messages`);
  });

  test("refuses what does not fit and memory that is not a ring", () => {
    const producer = new RingProducer(createRing({ capacity: 2, slotPayload: 4 }));
    assert.throws(() => producer.tryPush(new Uint8Array(17)), (e: unknown) => e instanceof IpcError && e.code === "MessageTooLarge");
    assert.throws(() => new RingConsumer(new SharedArrayBuffer(1024)), (e: unknown) => e instanceof IpcError && e.code === "InvalidArgument");
    assert.throws(() => createRing({ capacity: 0, slotPayload: 4 }), /capacity must be/);
  });

  test("the consumer refuses a hostile producer's impossible counters and lengths: the ring reads empty after, for good", () => {
    const cases: [string, (u32: Uint32Array) => void, RegExp][] = [
      ["HEAD far ahead", (u32) => Atomics.store(u32, 32, 99), /HEAD is 99 slots ahead of TAIL in a ring of 4/],
      ["a length out of range", (u32) => { u32[96] = 1000; Atomics.store(u32, 32, 1); }, /claims 1000 bytes/],
      ["a split message whose first chunk is not full", (u32) => { u32[96] = (0x8000_0000 | 3) >>> 0; Atomics.store(u32, 32, 1); }, /split across slots is malformed/],
      // a full first chunk (slots hold 8 bytes) whose last chunk (slot 1, 16 bytes on) is not published
      ["a split message published in part", (u32) => { u32[96] = (0x8000_0000 | 8) >>> 0; u32[100] = 8; Atomics.store(u32, 32, 1); }, /not published whole/],
    ];
    for (const [what, attack, reason] of cases) {
      const buffer = createRing({ capacity: 4, slotPayload: 8 });
      const consumer = new RingConsumer(buffer);
      const u32 = new Uint32Array(buffer);
      attack(u32);
      assert.equal(consumer.tryPop(), undefined, what);
      assert.match(consumer.refused ?? "", reason, what);
      assert.equal(Atomics.load(u32, 64), 0, `${what}: TAIL did not move`);
      assert.equal(new Int32Array(buffer)[3]! & 2, 2, `${what}: marked consumer-closed for the producer`);
      u32[96] = 2; // a repair changes nothing: the verdict is the consumer's own
      Atomics.store(u32, 32, 1);
      assert.equal(consumer.popInto(new Uint8Array(16)), -1, what);
      assert.equal(consumer.popBatch(4, () => assert.fail("nothing is read from a refused ring")), 0, what);
    }
  });

  test("a million messages between two workers, random batch sizes: in order, none lost, none altered", { timeout: 60_000 }, async () => {
    const buffer = createRing({ capacity: 256, slotPayload: 64 });
    const count = 1_000_000;
    const spawn = (role: string, seed: number) =>
      new Worker(new URL("./programs/ts-worker.mjs", import.meta.url), {
        workerData: { module: new URL("./programs/ring-peer.ts", import.meta.url).href, role, buffer, count, seed },
      });
    const consumer = spawn("consumer", 7);
    const producer = spawn("producer", 11);
    const [sent, received] = await Promise.all([
      new Promise<{ done: number }>((resolve, reject) => {
        producer.once("message", resolve);
        producer.once("error", reject);
      }),
      new Promise<{ received: number; bad: number; leftover: number }>((resolve, reject) => {
        consumer.once("message", resolve);
        consumer.once("error", reject);
      }),
    ]);
    await Promise.all([producer.terminate(), consumer.terminate()]);
    assert.equal(sent.done, count);
    assert.deepEqual(received, { received: count, bad: 0, leftover: 0 });
  });
});

// One SPSC ring: an endpoint queue (`createChannel`) is the ring above with the queue's words in its header, so the
// same hostile input gets the same error code from an async channel's end and from an endpoint queue's.
describe("one ring: endpoint queues and async channels", () => {
  /** Two PDs' IPC clients over a real IpcKernel, with no workers: the kernel's mail is delivered at once. */
  function twoClients(): { receiver: IpcClient; sender: IpcClient; slots: SharedArrayBuffer[] } {
    const kernel = new IpcKernel();
    const slots: SharedArrayBuffer[] = [];
    const clients = ["receiver", "sender"].map((name, i) => {
      const pid = i + 1;
      const mail: KernelMail[] = [];
      const doorbell = new SharedArrayBuffer(DOORBELL_BYTES);
      const pd: IpcPd = {
        pid,
        name,
        post: (m) => {
          const message = m as KernelMail;
          if (message.kind === "slot") slots.push(message.slot);
          mail.push(message);
        },
        control: new Int32Array(new SharedArrayBuffer(CONTROL_BYTES)),
        doorbell,
        alive: () => true,
        take: () => undefined,
        connected: new Set(["receiver", "sender"]),
        fault: (error) => {
          throw error;
        },
      };
      kernel.addPd(pd);
      const link: KernelLink = {
        pdName: name,
        syscall: (request) => kernel.handle(pid, request),
        hasMail: () => mail.length > 0,
        takeMail: () => mail.splice(0, mail.length),
        doorbell: new Int32Array(doorbell),
        checkStop: () => undefined,
        wait: { spinMicros: 0, sliceMs: 5 },
      };
      return new IpcClient(link);
    });
    return { receiver: clients[0]!, sender: clients[1]!, slots };
  }

  function channel(): { receiver: IpcClient; sender: IpcClient; send: Capability; receive: Capability; queue: Int32Array } {
    const { receiver, sender, slots } = twoClients();
    const created = receiver.createChannel(4);
    receiver.grantCapability(created.send, "sender", Rights.SEND, { name: "q" });
    const send = sender.lookupCapability("q", { timeout: 0 });
    sender.send(send, bytes(1), { timeout: 0 }); // connects: the kernel mails the receiver the queue slot
    assert.deepEqual([...receiver.receive(created.receive, { timeout: 0 }).data], [1]);
    return { receiver, sender, send, receive: created.receive, queue: new Int32Array(slots[0]!) };
  }

  test("the queue slot's words agree with the ring's header", () => {
    assert.equal(QUEUE.HEAD, RING_LAYOUT.HEAD);
    assert.equal(QUEUE.TAIL, RING_LAYOUT.TAIL);
    assert.equal(QUEUE.ENTRIES, RING_LAYOUT.SLOTS);
    assert.equal(QUEUE.FLAGS, RING_LAYOUT.FLAGS);
    assert.equal(QUEUE.PRODUCER_WAITING, RING_LAYOUT.PRODUCER_WAITING);
    assert.equal(QUEUE.PRODUCER_BELL, RING_LAYOUT.PRODUCER_BELL);
    for (const own of [QUEUE.GONE, QUEUE.THROTTLED, QUEUE.SLOT_INDEX]) assert.ok(own >= RING_LAYOUT.FREE && own < RING_LAYOUT.HEAD);
  });

  test("a consumer that moves TAIL ahead of what was sent: InvalidMessage from both producers, nothing written", () => {
    // A producer reloads TAIL when its copy says the ring is full: fill both, then the consumer's hostile store.
    const ring = createRing({ capacity: 4, slotPayload: 68 });
    const producer = new RingProducer(ring);
    for (let i = 0; i < 4; i++) assert.equal(producer.tryPush(bytes(i)), true);
    new Uint32Array(ring)[RING_LAYOUT.TAIL / 4] = 9; // the hostile consumer's store: 5 past HEAD
    const asyncCode = codeOf(() => producer.tryPush(bytes(2)));

    const { sender, send, queue } = channel(); // HEAD = TAIL = 1
    for (let i = 0; i < 4; i++) sender.send(send, bytes(i), { timeout: 0 });
    queue[QUEUE.TAIL / 4] = 10; // 5 past HEAD
    const queueCode = codeOf(() => { sender.send(send, bytes(2), { timeout: 0 }); });
    assert.equal(asyncCode, "InvalidMessage");
    assert.equal(queueCode, "InvalidMessage");
  });

  test("a producer that writes an out-of-range length: both consumers refuse the ring, and both producers then get EndpointClosed", () => {
    const ring = createRing({ capacity: 4, slotPayload: 68 });
    const consumer = new RingConsumer(ring);
    new Uint32Array(ring)[RING_LAYOUT.SLOTS / 4] = 0xffff; // the hostile producer's length word, then HEAD
    Atomics.store(new Uint32Array(ring), RING_LAYOUT.HEAD / 4, 1);
    assert.equal(consumer.tryPop(), undefined);
    assert.notEqual(consumer.refused, undefined);
    assert.notEqual(consumer.flags() & RingFlag.ConsumerClosed, 0, "the async producer's next send fails EndpointClosed (ipc/async/producer.ts)");

    const { receiver, sender, send, receive, queue } = channel();
    const entry = (QUEUE.ENTRIES + 1 * QUEUE_ENTRY_BYTES) / 4; // the next entry after the one taken
    queue[entry] = 0xffff;
    Atomics.store(queue, QUEUE.HEAD / 4, 2);
    assert.equal(codeOf(() => receiver.receive(receive, { timeout: 0 })), "WouldBlock", "the malformed entry is never delivered");
    assert.notEqual(Atomics.load(queue, QUEUE.FLAGS / 4) & RingFlag.ConsumerClosed, 0);
    assert.equal(codeOf(() => { sender.send(send, bytes(3), { timeout: 0 }); }), "EndpointClosed");
  });
});

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (error) {
    if (error instanceof IpcError) return error.code;
    throw error;
  }
  return "no error";
}
