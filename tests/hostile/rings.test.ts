// Hostile async-channel peers (issue #11, findings 2, 8, 9): a PD that writes straight into the ring memory
// of its own end must cost only itself. Real workers first (tests/hostile/programs/ring-*.ts, booted with
// `asyncChannels`), then the same attacks on rings in one thread, where each rule can be pinned exactly.
// Timeouts are hang guards only.
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { boot, HOST, isIpcError } from "../../src/index.ts";
import { AsyncChannel, AsyncConsumer, AsyncProducer, markPeerDied } from "../../src/ipc/async/index.ts";
import { markRingPeerDied } from "../../src/shm/ring.ts";

const programs = join(dirname(fileURLToPath(import.meta.url)), "programs");
const program = (name: string): string => join(programs, `${name}.ts`);
const COUNT = 10_000; // what ring-honest.ts sends

// Ring header words (src/shm/ring.ts), as a hostile PD addresses them.
const W = { MAGIC: 0, CAPACITY: 1, SLOT_BYTES: 2, FLAGS: 3, PRODUCER_CLAIM: 6, CONSUMER_CLAIM: 7, HEAD: 32, TAIL: 64 } as const;
const DATA = 384;
const MORE = 0x8000_0000;

const code = (c: string) => (e: unknown) => isIpcError(e) && e.code === c;

interface Tally {
  received: Record<string, number>;
  outOfOrder: number;
  errors: string[];
  messages: string[];
}

/** Receives batches until the stream ends, `stopAt` messages, or 10 errors; checks each producer's order. */
async function receiveAll(consumer: AsyncConsumer, stopAt = Infinity): Promise<Tally> {
  const tally: Tally = { received: {}, outOfOrder: 0, errors: [], messages: [] };
  const next = new Map<number, number>();
  let total = 0;
  while (tally.errors.length < 10 && total < stopAt) {
    let batch: Uint8Array[];
    try {
      batch = await consumer.receiveBatchAsync(100, { timeout: 30_000 });
    } catch (e) {
      tally.errors.push(isIpcError(e) ? e.code : String(e));
      tally.messages.push(e instanceof Error ? e.message : String(e));
      continue;
    }
    if (batch.length === 0) break;
    for (const m of batch) {
      const view = new DataView(m.buffer, m.byteOffset, m.byteLength);
      const seq = view.getUint32(0, true);
      const tag = String.fromCharCode(view.getUint32(4, true));
      if (seq !== (next.get(tag.charCodeAt(0)) ?? 0)) tally.outOfOrder++;
      next.set(tag.charCodeAt(0), seq + 1);
      tally.received[tag] = (tally.received[tag] ?? 0) + 1;
      total++;
    }
  }
  return tally;
}

function pd(name: string, file: string) {
  return { name, priority: 1, program: program(file) };
}

describe("hostile async-channel producers on real workers", () => {
// Trusted: these PDs attack from below the PD API (raw shared memory, workerData's ring descriptors), as a trusted
// PD can; the kernel's defences must hold against that, confined or not.
  for (const attack of ["evil-length", "evil-chain", "evil-head"]) {
    test(`${attack}: the malformed ring is refused once, by name; both honest producers' 10,000 messages arrive in order`, { timeout: 120_000 }, async () => {
      const system = await boot(
        { protectionDomains: [pd(attack, "ring-hostile"), pd("honest-a", "ring-honest"), pd("honest-b", "ring-honest")], channels: [] },
        { asyncChannels: [{ name: "in", producers: [attack, "honest-a", "honest-b"], consumer: HOST, capacity: 64 }], trusted: [attack, "honest-a", "honest-b"] },
      );
      try {
        const consumer = system.asyncConsumer("in");
        const tally = await receiveAll(consumer);
        assert.deepEqual(tally.received, { a: COUNT, b: COUNT });
        assert.equal(tally.outOfOrder, 0);
        assert.deepEqual(tally.errors, ["InvalidMessage"], tally.messages.join("\n"));
        assert.match(tally.messages[0]!, /producer 0/);
        assert.deepEqual(consumer.refused.map((r) => r.producer), [0]);
        assert.equal(consumer.ended, true, "the refused ring counts as ended; the honest ones closed");
      } finally {
        await system.shutdown();
      }
    });
  }

  for (const attack of ["evil-claim", "evil-geometry"]) {
    test(`${attack}: a producer that rewrites the ring header before the consumer PD attaches cannot stop it`, { timeout: 120_000 }, async () => {
      const system = await boot(
        { protectionDomains: [pd(attack, "ring-hostile"), pd("honest-a", "ring-honest"), pd("sink", "ring-sink")], channels: [] },
        {
          trusted: [attack, "honest-a", "sink"],
          asyncChannels: [
            { name: "in", producers: [attack, "honest-a"], consumer: "sink", capacity: 64 },
            { name: "report", producers: ["sink"], consumer: HOST, capacity: 4, slotBytes: 1024 },
          ],
        },
      );
      try {
        const report = await system.asyncConsumer("report").receiveAsync({ timeout: 90_000 });
        const r = JSON.parse(new TextDecoder().decode(report)) as { attached: boolean; attachError: string; received: Record<string, number>; outOfOrder: number; errors: string[] };
        assert.equal(r.attachError, "");
        assert.equal(r.attached, true);
        assert.deepEqual(r.received, { a: COUNT });
        assert.equal(r.outOfOrder, 0);
        assert.deepEqual(r.errors, []);
      } finally {
        await system.shutdown();
      }
    });
  }

  // Last: on a kernel whose death handler throws, this takes the process down.
  test("evil-exit: a producer that zeroes MAGIC and CAPACITY and exits is marked dead; the consumer drains the rest, then PeerDied", { timeout: 120_000 }, async () => {
    const system = await boot(
      { protectionDomains: [pd("evil-exit", "ring-hostile"), pd("honest-a", "ring-honest")], channels: [] },
      { asyncChannels: [{ name: "in", producers: ["evil-exit", "honest-a"], consumer: HOST, capacity: 64 }], trusted: ["evil-exit", "honest-a"] },
    );
    try {
      const consumer = system.asyncConsumer("in");
      const tally = await receiveAll(consumer);
      assert.deepEqual(tally.received, { a: COUNT });
      assert.equal(tally.outOfOrder, 0);
      assert.deepEqual(tally.errors, ["PeerDied"], tally.messages.join("\n"));
      assert.match(tally.messages[0]!, /producer 0 died/);
      assert.equal(await consumer.closed, "peer-died");
    } finally {
      await system.shutdown();
    }
  });
});

describe("hostile ring peers, one thread", () => {
  const msg = (seq: number): Uint8Array => {
    const m = new Uint8Array(8);
    new DataView(m.buffer).setUint32(0, seq, true);
    new DataView(m.buffer).setUint32(4, 0x62, true); // "b"
    return m;
  };
  /** A channel of 2 producers: ring 0's memory for the attacker, producer 1 honest with 10 messages queued. */
  function setup(capacity = 8) {
    const channel = AsyncChannel.create(capacity, { slotBytes: 8, producers: 2 });
    const evil = channel.producerDescriptor(0);
    const u32 = new Uint32Array(evil.ring);
    const honest = channel.producer(1);
    const consumer = channel.consumer();
    return { channel, evil, u32, i32: new Int32Array(evil.ring), honest, consumer };
  }

  test("markPeerDied after the dead end zeroed MAGIC and CAPACITY: no throw, and the other end wakes with PeerDied", async () => {
    const channel = AsyncChannel.create(4, { slotBytes: 8 });
    const producerEnd = channel.producerDescriptor();
    const consumer = channel.consumer();
    const waiting = consumer.receiveAsync({ timeout: 30_000 });
    const i32 = new Int32Array(producerEnd.ring);
    i32[W.MAGIC] = 0;
    i32[W.CAPACITY] = 0;
    i32[W.SLOT_BYTES] = -1;
    assert.doesNotThrow(() => { markPeerDied(producerEnd); });
    assert.doesNotThrow(() => { markRingPeerDied(producerEnd.ring, "producer"); });
    await assert.rejects(waiting, code("PeerDied"));

    const other = AsyncChannel.create(4, { slotBytes: 8 });
    const producer = other.producer();
    const consumerEnd = other.consumerDescriptor();
    for (let i = 0; i < 4; i++) producer.trySend(msg(i));
    const blocked = producer.sendAsync(msg(4), { timeout: 30_000 });
    new Int32Array(consumerEnd.rings[0]!).fill(0, 0, 3);
    assert.doesNotThrow(() => { markPeerDied(consumerEnd); });
    await assert.rejects(blocked, code("PeerDied"));
  });

  test("a slot whose length is out of range is refused for its producer only: the honest producer's messages all come, in order", () => {
    const { u32, honest, consumer, evil } = setup();
    const evilEnd = AsyncProducer.attach(evil);
    for (let i = 0; i < 5; i++) assert.equal(honest.trySend(msg(i)), true);
    u32[DATA / 4] = 1_000_000;
    Atomics.store(u32, W.HEAD, 1);
    const first = consumer.receiveBatch(100);
    assert.deepEqual(first.map((m) => new DataView(m.buffer).getUint32(0, true)), [0, 1, 2, 3, 4]);
    assert.throws(() => consumer.receiveBatch(100), (e: unknown) => code("InvalidMessage")(e) && /producer 0/.test((e as Error).message) && /1000000 bytes/.test((e as Error).message));
    assert.deepEqual(consumer.refused, [{ producer: 0, reason: consumer.refused[0]!.reason }]);
    for (let i = 5; i < 10; i++) honest.trySend(msg(i));
    assert.deepEqual(consumer.receiveBatch(100).map((m) => new DataView(m.buffer).getUint32(0, true)), [5, 6, 7, 8, 9], "reported once; the rest flows");
    assert.throws(() => evilEnd.trySend(msg(0)), code("EndpointClosed"), "the refused producer's own end learns its ring was closed");
    honest.close();
    assert.deepEqual(consumer.receiveBatch(100), []);
    assert.equal(consumer.ended, true);
  });

  test("every receive path refuses per producer: tryReceive, receiveInto, drain, receiveAsync", async () => {
    for (const how of ["tryReceive", "receiveInto", "drain", "receiveAsync"] as const) {
      const { u32, honest, consumer } = setup();
      u32[DATA / 4] = 9999;
      Atomics.store(u32, W.HEAD, 1);
      honest.trySend(msg(7));
      const seqs: number[] = [];
      const errors: string[] = [];
      for (let i = 0; i < 4; i++) {
        try {
          if (how === "tryReceive") {
            const m = consumer.tryReceive();
            if (m !== undefined) seqs.push(new DataView(m.buffer).getUint32(0, true));
          } else if (how === "receiveInto") {
            const into = new Uint8Array(64);
            if (consumer.receiveInto(into) >= 0) seqs.push(new DataView(into.buffer).getUint32(0, true));
          } else if (how === "drain") {
            consumer.drain(10, (m) => seqs.push(new DataView(m.buffer, m.byteOffset).getUint32(0, true)));
          } else {
            const m = await consumer.receiveAsync({ timeout: 0 });
            if (m !== undefined) seqs.push(new DataView(m.buffer).getUint32(0, true));
          }
        } catch (e) {
          errors.push(isIpcError(e) ? e.code : String(e));
        }
      }
      assert.deepEqual(seqs, [7], how);
      assert.deepEqual(errors.filter((e) => e !== "QueueEmpty"), ["InvalidMessage"], `${how}: reported once (${errors.join(",")})`);
    }
  });

  test("a split message longer than the ring, or HEAD far ahead of TAIL: refused at once, no endless loop, no huge allocation", () => {
    for (const attack of ["chain", "head", "head-behind", "partial"] as const) {
      const { u32, i32, honest, consumer } = setup(8);
      const stride = i32[W.SLOT_BYTES]!;
      if (attack === "chain") {
        for (let i = 0; i < 8; i++) u32[(DATA + i * stride) / 4] = (MORE | (stride - 4)) >>> 0;
        Atomics.store(u32, W.HEAD, 8);
      } else if (attack === "head") {
        Atomics.store(u32, W.HEAD, 0x7fff_ffff);
      } else if (attack === "head-behind") {
        Atomics.store(u32, W.HEAD, 0xffff_ffff); // behind TAIL (0): 2^32 - 1 slots "full"
      } else {
        u32[DATA / 4] = (MORE | (stride - 4)) >>> 0; // a split message whose second slot is not published
        u32[(DATA + stride) / 4] = 4;
        Atomics.store(u32, W.HEAD, 1);
      }
      honest.trySend(msg(1));
      assert.deepEqual(consumer.receiveBatch(10).length, 1, attack);
      assert.throws(() => consumer.receiveBatch(10), code("InvalidMessage"), attack);
      assert.equal(consumer.refused.length, 1, attack);
    }
  });

  test("a producer that sets CONSUMER_CLAIM (or a consumer PRODUCER_CLAIM) on the ring cannot keep the other end out; a second attach still fails", () => {
    const channel = AsyncChannel.create(4, { slotBytes: 8 });
    const ring = new Int32Array(channel.producerDescriptor().ring);
    Atomics.store(ring, W.CONSUMER_CLAIM, 1);
    Atomics.store(ring, W.PRODUCER_CLAIM, 1);
    const consumer = AsyncConsumer.attach(channel.consumerDescriptor());
    const producer = AsyncProducer.attach(channel.producerDescriptor());
    assert.equal(producer.trySend(new Uint8Array([42])), true);
    assert.deepEqual(consumer.tryReceive(), new Uint8Array([42]));
    assert.throws(() => AsyncConsumer.attach(channel.consumerDescriptor()), code("ResourceBusy"));
    assert.throws(() => AsyncProducer.attach(channel.producerDescriptor()), code("ResourceBusy"));
    assert.equal(structuredClone(channel.consumerDescriptor()).claim !== channel.producerDescriptor().claim, true, "each role's claim is its own memory");
  });

  test("geometry a peer rewrites (MAGIC, CAPACITY, SLOT_BYTES), before or after attach, is never used: each side keeps its own", () => {
    const channel = AsyncChannel.create(4, { slotBytes: 12 }); // slots of 16 payload bytes
    const i32 = new Int32Array(channel.producerDescriptor().ring);
    i32[W.MAGIC] = 0;
    i32[W.CAPACITY] = 1 << 30;
    i32[W.SLOT_BYTES] = 8;
    const consumer = channel.consumer();
    const producer = channel.producer();
    assert.equal(producer.capacity, 4);
    i32[W.CAPACITY] = 1 << 20;
    i32[W.SLOT_BYTES] = 1 << 20;
    const sent = Array.from({ length: 4 }, (_, i) => new Uint8Array(12).fill(i));
    assert.equal(producer.trySendBatch(sent), 4);
    assert.equal(producer.trySend(new Uint8Array(1)), false, "full at 4, as created");
    assert.deepEqual(consumer.receiveBatch(10), sent);
  });

  test("a consumer that corrupts TAIL gets a typed error at its producer, never a hang or an untyped throw", async () => {
    const channel = AsyncChannel.create(4, { slotBytes: 8 });
    const producer = channel.producer();
    Atomics.store(new Uint32Array(channel.consumerDescriptor().rings[0]!), W.TAIL, 1000);
    for (let i = 0; i < 4; i++) assert.equal(producer.trySend(new Uint8Array(1)), true, "by its own count the ring has room");
    assert.throws(() => producer.trySend(new Uint8Array(1)), (e: unknown) => isIpcError(e), "TAIL reloaded: refused, typed");
    await assert.rejects(producer.sendAsync(new Uint8Array(1), { timeout: 1000 }), (e: unknown) => isIpcError(e));
  });
});
