// The single-producer single-consumer ring (groundwork of the async-channels issue).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Worker } from "node:worker_threads";
import { IpcError } from "../src/index.ts";
import { createRing, RingConsumer, RingProducer } from "../src/shm/ring.ts";

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

  test("refuses what does not fit and memory that is not a ring", () => {
    const producer = new RingProducer(createRing({ capacity: 2, slotPayload: 4 }));
    assert.throws(() => producer.tryPush(new Uint8Array(9)), (e: unknown) => e instanceof IpcError && e.code === "MessageTooLarge");
    assert.throws(() => new RingConsumer(new SharedArrayBuffer(1024)), (e: unknown) => e instanceof IpcError && e.code === "InvalidArgument");
    assert.throws(() => createRing({ capacity: 0, slotPayload: 4 }), /capacity must be/);
  });

  test("the consumer refuses a hostile producer's impossible counters and lengths: the ring reads empty after, for good", () => {
    const cases: [string, (u32: Uint32Array) => void, RegExp][] = [
      ["HEAD far ahead", (u32) => Atomics.store(u32, 32, 99), /HEAD is 99 slots ahead of TAIL in a ring of 4/],
      ["a length out of range", (u32) => { u32[96] = 1000; Atomics.store(u32, 32, 1); }, /claims 1000 bytes/],
      ["a split message whose first chunk is not full", (u32) => { u32[96] = (0x8000_0000 | 3) >>> 0; Atomics.store(u32, 32, 1); }, /split across slots is malformed/],
      // a full first chunk (slots hold 12 bytes) whose last chunk (slot 1, 16 bytes on) is not published
      ["a split message published in part", (u32) => { u32[96] = (0x8000_0000 | 12) >>> 0; u32[100] = 8; Atomics.store(u32, 32, 1); }, /not published whole/],
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
