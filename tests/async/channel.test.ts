// Async channels in one thread: bounds, waits, timeouts and aborts, close and death, limits, descriptors.
// Cross-thread behaviour (real workers) is in workers.test.ts.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { IpcError } from "../../src/errors.ts";
import { AsyncChannel, AsyncConsumer, AsyncProducer, markPeerDied } from "../../src/ipc/async/index.ts";

const bytes = (...values: number[]) => new Uint8Array(values);
const code = (c: string) => (e: unknown) => e instanceof IpcError && e.code === c;
/** Lets pending promise callbacks and timers of 0 ms run: enough for a wake-up that was due to happen. */
const turns = async (n = 5) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};
function tracked<T>(p: Promise<T>) {
  const state = { settled: false, value: undefined as T | undefined, error: undefined as unknown };
  p.then(
    (v) => {
      state.settled = true;
      state.value = v;
    },
    (e: unknown) => {
      state.settled = true;
      state.error = e;
    },
  );
  return state;
}

describe("async channel, one thread", () => {
  test("bounded: capacity slots, then trySend false, timeout 0 QueueFull, and a waiting send that completes in order", async () => {
    const channel = AsyncChannel.create(3, { slotBytes: 8 });
    assert.equal(channel.capacity, 4, "rounded up to a power of two");
    const producer = channel.producer();
    const consumer = channel.consumer();
    for (let i = 0; i < 4; i++) assert.equal(producer.trySend(bytes(i)), true);
    assert.equal(producer.trySend(bytes(99)), false);
    await assert.rejects(producer.sendAsync(bytes(99), { timeout: 0 }), code("QueueFull"));
    const waiting = tracked(producer.sendAsync(bytes(4)));
    await turns();
    assert.equal(waiting.settled, false, "no room: the send waits");
    assert.equal(producer.trySend(bytes(98)), false, "trySend may not overtake a queued send");
    assert.equal(consumer.size, 4);
    assert.deepEqual(consumer.tryReceive(), bytes(0));
    await turns();
    assert.equal(waiting.settled, true);
    assert.equal(waiting.error, undefined);
    assert.deepEqual(consumer.receiveBatch(10), [bytes(1), bytes(2), bytes(3), bytes(4)]);
    assert.equal(consumer.tryReceive(), undefined);
    await assert.rejects(consumer.receiveAsync({ timeout: 0 }), code("QueueEmpty"));
  });

  test("a timeout and an abort take or write nothing and leave the channel usable", async () => {
    const channel = AsyncChannel.create(2, { slotBytes: 8 });
    const producer = channel.producer();
    const consumer = channel.consumer();
    await assert.rejects(consumer.receiveAsync({ timeout: 5 }), code("Timeout"));
    assert.equal(producer.trySendBatch([bytes(1), bytes(2)]), 2);
    await assert.rejects(producer.sendAsync(bytes(3), { timeout: 5 }), code("Timeout"));

    const controller = new AbortController();
    const aborted = producer.sendAsync(bytes(4), { signal: controller.signal });
    const queued = producer.sendAsync(bytes(5), { signal: controller.signal }); // behind the first, also aborted
    const reason = new Error("user gave up");
    controller.abort(reason);
    for (const p of [aborted, queued]) {
      await assert.rejects(p, (e: unknown) => e instanceof IpcError && e.code === "Aborted" && e.cause === reason);
    }
    await assert.rejects(producer.sendAsync(bytes(6), { signal: AbortSignal.abort("early") }), code("Aborted"));

    assert.deepEqual(consumer.receiveBatch(10), [bytes(1), bytes(2)], "nothing of the failed sends was written");
    await producer.sendAsync(bytes(7));
    assert.deepEqual(await consumer.receiveAsync(), bytes(7));

    const receiver = new AbortController();
    const receive = consumer.receiveAsync({ signal: receiver.signal });
    receiver.abort();
    await assert.rejects(receive, code("Aborted"));
    producer.trySend(bytes(8));
    assert.deepEqual(await consumer.receiveAsync({ timeout: 1000 }), bytes(8));
  });

  test("producer close: the consumer drains what was sent, then iteration ends; later sends fail with where it was closed", async () => {
    const channel = AsyncChannel.create(8, { slotBytes: 8 });
    const producer = channel.producer();
    const consumer = channel.consumer();
    const waiting = tracked(consumer.receiveBatchAsync(1));
    await turns();
    assert.equal(waiting.settled, false);
    producer.trySend(bytes(1));
    await producer.sendBatch([bytes(2), bytes(3)]);
    producer.close();
    assert.throws(() => producer.trySend(bytes(4)), (e: unknown) => e instanceof IpcError && e.code === "EndpointClosed" && /closed by this end, at\n/.test(e.message));
    const seen: number[] = [];
    for await (const m of consumer) seen.push(m[0]!);
    assert.equal(waiting.settled, true);
    assert.deepEqual([...(waiting.value ?? [])].concat(seen.map((v) => bytes(v))), [bytes(1), bytes(2), bytes(3)]);
    assert.equal(consumer.ended, true);
    assert.equal(await consumer.closed, "peer-closed");
    assert.equal(await producer.closed, "closed");
    assert.equal(await consumer.receiveAsync(), undefined, "the end is sticky");
  });

  test("consumer close: a waiting send and later sends fail EndpointClosed; receives on the closed end fail too", async () => {
    const channel = AsyncChannel.create(1, { slotBytes: 8 });
    const producer = channel.producer();
    const consumer = channel.consumer();
    producer.trySend(bytes(1));
    const blocked = producer.sendAsync(bytes(2));
    consumer.close();
    await assert.rejects(blocked, code("EndpointClosed"));
    assert.throws(() => producer.trySend(bytes(3)), code("EndpointClosed"));
    assert.equal(await producer.closed, "peer-closed");
    assert.throws(() => consumer.tryReceive(), /this consumer was closed, at/);
    await assert.rejects(consumer.receiveAsync(), code("EndpointClosed"));
  });

  test("a producer marked dead: its messages first, then PeerDied once, while another producer goes on", async () => {
    const channel = AsyncChannel.create(4, { slotBytes: 8, producers: 2 });
    const p0 = channel.producer(0);
    const p1 = channel.producer(1);
    const consumer = channel.consumer();
    p0.trySendBatch([bytes(0, 1), bytes(0, 2)]);
    markPeerDied(channel.producerDescriptor(0));
    p1.trySend(bytes(1, 1));
    const got: string[] = [];
    let deaths = 0;
    for (;;) {
      try {
        const m = await consumer.receiveAsync({ timeout: 0 });
        if (m === undefined) break;
        got.push(m.join("."));
      } catch (e) {
        if (e instanceof IpcError && e.code === "QueueEmpty") break;
        assert.ok(e instanceof IpcError && e.code === "PeerDied" && /producer 0 died/.test(e.message), String(e));
        deaths++;
      }
    }
    assert.deepEqual(got.sort(), ["0.1", "0.2", "1.1"]);
    assert.equal(deaths, 1);
    assert.equal(consumer.ended, false, "producer 1 is still open");
    p1.trySend(bytes(1, 2));
    p1.close();
    assert.deepEqual(await consumer.receiveAsync(), bytes(1, 2));
    assert.equal(await consumer.receiveAsync(), undefined);
    assert.equal(await consumer.closed, "peer-died");
    assert.throws(() => p0.trySend(bytes(9)), /marked dead/);
  });

  test("a consumer marked dead wakes a blocked producer with PeerDied", async () => {
    const channel = AsyncChannel.create(1, { slotBytes: 8 });
    const producer = channel.producer();
    producer.trySend(bytes(1));
    const blocked = producer.sendAsync(bytes(2));
    channel.markDied("consumer");
    await assert.rejects(blocked, code("PeerDied"));
    assert.equal(await producer.closed, "peer-died");
  });

  test("sizes: larger than the ring is refused before anything is written; receiveInto keeps a message that does not fit", async () => {
    const channel = AsyncChannel.create(4, { slotBytes: 8 });
    const producer = channel.producer();
    const consumer = channel.consumer();
    assert.equal(producer.maxMessageBytes, 32, "4 slots of 8 bytes");
    assert.throws(() => producer.trySend(new Uint8Array(33)), code("MessageTooLarge"));
    await assert.rejects(producer.sendAsync(new Uint8Array(33)), code("MessageTooLarge"));
    assert.throws(() => producer.trySendBatch([bytes(1), new Uint8Array(33)]), /message 1 has 33 bytes/);
    await assert.rejects(producer.sendBatch([bytes(1), new Uint8Array(33)]), code("MessageTooLarge"));
    assert.equal(consumer.size, 0, "no message of a refused batch went out");
    producer.trySend(bytes(1, 2, 3));
    const small = new Uint8Array(2);
    assert.throws(() => consumer.receiveInto(small), code("MessageTooLarge"));
    const big = new Uint8Array(8);
    assert.equal(consumer.receiveInto(big), 3);
    assert.deepEqual(big.subarray(0, 3), bytes(1, 2, 3));
    assert.equal(consumer.receiveInto(big), -1);
  });

  test("messages larger than a slot travel in consecutive slots, whole and in order, through every receive path", async () => {
    const channel = AsyncChannel.create(8, { slotBytes: 16 }); // 8 slots of 16 bytes
    const producer = channel.producer();
    const consumer = channel.consumer();
    const message = (n: number, fill: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (fill + i) & 0xff);
    assert.equal(producer.maxMessageBytes, 128);
    assert.equal(producer.trySend(message(40, 1)), true, "3 slots");
    assert.equal(producer.trySend(message(16, 2)), true, "exactly one slot");
    assert.equal(producer.trySend(message(80, 3)), false, "5 slots do not fit the 4 left: nothing written");
    assert.deepEqual(consumer.tryReceive(), message(40, 1));
    assert.deepEqual(consumer.tryReceive(), message(16, 2));
    assert.equal(consumer.tryReceive(), undefined, "the refused message left nothing behind");
    assert.equal(producer.trySendBatch([message(3, 4), message(128, 5), message(13, 6)]), 1, "the 8-slot message waits for an empty ring");
    const seen: Uint8Array[] = [];
    consumer.drain(10, (payload) => seen.push(payload.slice()));
    assert.deepEqual(seen, [message(3, 4)]);
    assert.equal(producer.trySendBatch([message(128, 5), message(13, 6)]), 1);
    const into = new Uint8Array(128);
    assert.equal(consumer.receiveInto(into), 128);
    assert.deepEqual(into, message(128, 5));
    await producer.sendAsync(message(13, 6));
    assert.deepEqual(await consumer.receiveAsync({ timeout: 1000 }), message(13, 6));
  });

  test("descriptors survive structured clone; one producer and one consumer per ring; junk is refused", () => {
    const channel = AsyncChannel.create(4);
    const desc = structuredClone(channel.producerDescriptor());
    assert.ok(desc.ring instanceof SharedArrayBuffer);
    const producer = AsyncProducer.attach(desc);
    assert.throws(() => AsyncProducer.attach(channel.producerDescriptor()), code("ResourceBusy"));
    const consumer = AsyncConsumer.attach(structuredClone(channel.consumerDescriptor()));
    assert.throws(() => channel.consumer(), code("ResourceBusy"));
    producer.trySend(bytes(42));
    assert.deepEqual(consumer.tryReceive(), bytes(42), "the clone shares the memory");
    const other = AsyncChannel.create(4);
    assert.throws(() => AsyncProducer.attach({ ...other.producerDescriptor(), ring: new SharedArrayBuffer(4096) }), code("InvalidArgument"), "geometry does not fit the ring");
    assert.throws(() => AsyncProducer.attach({ ...other.producerDescriptor(), claim: undefined as unknown as SharedArrayBuffer }), code("InvalidArgument"));
    assert.throws(() => AsyncConsumer.attach({ ...other.consumerDescriptor(), rings: [] }), code("InvalidArgument"));
    assert.throws(() => AsyncConsumer.attach({ ...other.consumerDescriptor(), capacity: 8 }), code("InvalidArgument"));
    assert.throws(() => AsyncChannel.create(0), code("InvalidArgument"));
    assert.throws(() => channel.producerDescriptor(3), /no producer ring 3/);
  });

  test("a hostile producer's impossible HEAD or slot length refuses its ring: reported once, nothing consumed, the stream ends", () => {
    for (const [attack, message] of [["head", /HEAD is 99 slots ahead of TAIL in a ring of 4/], ["length", /claims 1000 bytes/]] as const) {
      const channel = AsyncChannel.create(4, { slotBytes: 8 });
      const consumer = channel.consumer();
      const u32 = new Uint32Array(channel.producerDescriptor().ring);
      if (attack === "head") Atomics.store(u32, 32, 99); // HEAD
      else {
        u32[96] = 1000; // slot 0's length
        Atomics.store(u32, 32, 1);
      }
      assert.throws(() => consumer.tryReceive(), (e: unknown) => code("InvalidMessage")(e) && message.test((e as Error).message));
      assert.equal(Atomics.load(u32, 64), 0, "TAIL did not move");
      u32[96] = 2; // repairing it changes nothing: the verdict is the consumer's own
      assert.equal(consumer.tryReceive(), undefined);
      assert.equal(consumer.drain(4, () => undefined), 0);
      assert.equal(consumer.ended, true);
      assert.deepEqual(consumer.refused.map((r) => r.producer), [0]);
    }
  });

  test("a producer ring added after the consumer attached is drained too, and wakes a waiting receive", async () => {
    const channel = AsyncChannel.create(4, { slotBytes: 8 });
    const consumer = channel.consumer();
    const waiting = tracked(consumer.receiveAsync());
    const desc = channel.addProducer();
    consumer.addProducer(desc);
    await turns();
    AsyncProducer.attach(desc).trySend(bytes(7));
    await turns(20);
    assert.equal(waiting.settled, true);
    assert.deepEqual(waiting.value, bytes(7));
  });
});
