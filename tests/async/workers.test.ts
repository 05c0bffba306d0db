// Async channels between real worker threads (and a worker and the main thread): order and loss over a
// million messages, death of either end, and fairness between producers. Timeouts here are hang guards only.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Worker } from "node:worker_threads";
import { IpcError } from "../../src/errors.ts";
import { AsyncChannel, markPeerDied, type ConsumerDescriptor, type ProducerDescriptor } from "../../src/ipc/async/index.ts";

const shim = new URL("../programs/ts-worker.mjs", import.meta.url);
const peer = new URL("./programs/peer.ts", import.meta.url).href;

function spawn(role: string, end: ProducerDescriptor | ConsumerDescriptor, extra: Record<string, number> = {}): Worker {
  return new Worker(shim, { workerData: { module: peer, role, end, count: 0, seed: 1, ...extra } });
}

/** The worker's next message; rejects if it errors, exits first, or reports `{ error }`. */
function next(worker: Worker): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const off = () => {
      worker.off("message", onMessage);
      worker.off("error", reject);
      worker.off("exit", onExit);
    };
    const onMessage = (m: Record<string, unknown>) => {
      off();
      if (typeof m["error"] === "string") reject(new Error(m["error"]));
      else resolve(m);
    };
    const onExit = (code: number) => {
      off();
      reject(new Error(`worker exited (${code}) before answering`));
    };
    worker.on("message", onMessage);
    worker.once("error", reject);
    worker.once("exit", onExit);
  });
}

/** Terminates `worker` and, once it has exited, marks its end dead: what a kernel does when a PD goes. */
async function kill(worker: Worker, end: ProducerDescriptor | ConsumerDescriptor): Promise<void> {
  const exited = new Promise((resolve) => worker.once("exit", resolve));
  await worker.terminate();
  await exited;
  markPeerDied(end);
}

function message(seq: number): Uint8Array {
  const bytes = new Uint8Array(4 + (seq % 53));
  new DataView(bytes.buffer).setUint32(0, seq, true);
  bytes.fill(seq & 0xff, 4);
  return bytes;
}

function seqOf(m: Uint8Array): number {
  return new DataView(m.buffer, m.byteOffset, m.byteLength).getUint32(0, true);
}

describe("async channel between threads", () => {
  test("a million messages worker -> worker, seeded random batch sizes and send/receive styles: in order, none lost", { timeout: 120_000 }, async () => {
    const channel = AsyncChannel.create(256, { slotBytes: 64 });
    const count = 1_000_000;
    const consumer = spawn("consume", channel.consumerDescriptor(), { seed: 7 });
    const producer = spawn("produce", channel.producerDescriptor(), { count, seed: 11 });
    try {
      const [sent, received] = await Promise.all([next(producer), next(consumer)]);
      assert.deepEqual(sent, { sent: count, closed: "closed" });
      assert.equal(received["received"], count);
      assert.equal(received["bad"], 0);
      assert.equal(received["ended"], true);
      assert.equal(received["closed"], "peer-closed");
      assert.ok((received["maxSize"] as number) <= channel.capacity, `at most ${channel.capacity} in flight, saw ${String(received["maxSize"])}`);
    } finally {
      await Promise.all([producer.terminate(), consumer.terminate()]);
    }
  });

  test("worker -> main thread: for await sees every message in order, then the end", { timeout: 60_000 }, async () => {
    const channel = AsyncChannel.create(16, { slotBytes: 64 });
    const count = 50_000;
    const consumer = channel.consumer();
    const producer = spawn("produce", channel.producerDescriptor(), { count, seed: 3 });
    // Listen before consuming: the worker answers as soon as it is done, and a 'message' event nobody listens
    // to is lost.
    const answer = next(producer);
    try {
      let expected = 0;
      for await (const m of consumer) {
        assert.equal(seqOf(m), expected);
        assert.deepEqual(m, message(expected));
        expected++;
      }
      assert.equal(expected, count);
      assert.deepEqual(await answer, { sent: count, closed: "closed" });
    } finally {
      await producer.terminate();
    }
  });

  test("main thread -> worker through a small ring: sends wait for room and all arrive", { timeout: 60_000 }, async () => {
    const channel = AsyncChannel.create(4, { slotBytes: 64 });
    const count = 20_000;
    const consumer = spawn("consume", channel.consumerDescriptor(), { seed: 5 });
    try {
      const producer = channel.producer();
      for (let seq = 0; seq < count; seq++) await producer.sendAsync(message(seq));
      producer.close();
      const received = await next(consumer);
      assert.deepEqual(received, { received: count, bad: 0, ended: true, closed: "peer-closed", maxSize: received["maxSize"] });
      assert.ok((received["maxSize"] as number) <= 4);
    } finally {
      await consumer.terminate();
    }
  });

  test("a producer worker killed mid-stream: the consumer gets what it sent, then PeerDied, not a hang", { timeout: 30_000 }, async () => {
    const channel = AsyncChannel.create(64, { slotBytes: 64 });
    const end = channel.producerDescriptor();
    const worker = spawn("stall-producer", end, { count: 10 });
    const consumer = channel.consumer();
    assert.deepEqual(await next(worker), { sent: 10 });
    for (let seq = 0; seq < 10; seq++) assert.equal(seqOf((await consumer.receiveAsync())!), seq);
    const waiting = consumer.receiveAsync(); // nothing more will come: this waits until the death is marked
    await kill(worker, end);
    await assert.rejects(waiting, (e: unknown) => e instanceof IpcError && e.code === "PeerDied");
    assert.equal(consumer.ended, true);
    assert.equal(await consumer.receiveAsync(), undefined);
    assert.equal(await consumer.closed, "peer-died");
  });

  test("a consumer worker killed while the producer waits for room: the send fails PeerDied", { timeout: 30_000 }, async () => {
    const channel = AsyncChannel.create(4, { slotBytes: 64 });
    const end = channel.consumerDescriptor();
    const worker = spawn("stall-consumer", end, { count: 2 });
    const producer = channel.producer();
    const answer = next(worker); // before the sends: it answers while they run
    for (let seq = 0; seq < 6; seq++) await producer.sendAsync(message(seq));
    assert.deepEqual(await answer, { received: 2 });
    assert.equal(producer.free, 0, "4 in the ring, the consumer has stopped");
    const blocked = producer.sendAsync(message(6));
    await kill(worker, end);
    await assert.rejects(blocked, (e: unknown) => e instanceof IpcError && e.code === "PeerDied");
    assert.throws(() => producer.trySend(message(7)), (e: unknown) => e instanceof IpcError && e.code === "PeerDied");
    assert.equal(await producer.closed, "peer-died");
  });

  test("fairness: a producer flooding its ring cannot starve another", { timeout: 30_000 }, async () => {
    const channel = AsyncChannel.create(64, { slotBytes: 64, producers: 2 });
    const flooder = spawn("flood", channel.producerDescriptor(0), { tag: 0xaa });
    try {
      assert.ok(typeof (await next(flooder))["full"] === "number", "the flooder has filled its ring");
      const quiet = channel.producer(1);
      const k = 32;
      assert.equal(quiet.trySendBatch(Array.from({ length: k }, (_, i) => message(i))), k);
      const consumer = channel.consumer();
      // Both rings hold at least k messages from here on: single receives must alternate exactly.
      const from: number[] = [];
      for (let i = 0; i < k; i++) assert.equal(consumer.drain(1, (_, producer) => from.push(producer)), 1);
      assert.deepEqual(from, Array.from({ length: k }, (_, i) => i % 2));
      // A batch takes an equal share from each ring: the quiet producer's other k/2 all come in one batch of k.
      const batch: number[] = [];
      consumer.drain(k, (m, producer) => {
        if (producer === 1) batch.push(seqOf(m));
      });
      assert.deepEqual(batch, Array.from({ length: k / 2 }, (_, i) => k / 2 + i));
      consumer.close();
      assert.deepEqual((await next(flooder))["code"], "EndpointClosed");
    } finally {
      await flooder.terminate();
    }
  });
});
