// Async channels between two real workers (bench/workers/channel-peer.mjs, on the compiled dist/):
// 64-byte messages one publish each, 64-byte messages published 32 at a time, and 4 KiB messages, each
// against postMessage's pipelined 64-byte messages where the unit allows. Every message carries its
// sequence number and the consumer checks it, so a round that loses or reorders one fails.
import type { Worker } from "node:worker_threads";
import type { BenchCase } from "../harness.ts";
import { nextMessage, ready } from "../threads.ts";

interface Shape {
  readonly id: string;
  /** The raw ring (bench/workers/raw-ring.mjs) instead of an AsyncChannel: the floor for this shape. */
  readonly raw?: boolean;
  readonly baseline?: readonly string[];
  readonly size: number;
  readonly batch: number;
  readonly capacity: number;
  readonly messages: number;
  readonly note: string;
}

/** The dist/ build's AsyncChannel (`npm run bench` builds first), so the workers and main share one copy. */
const dist = new URL("../../dist/ipc/async/index.js", import.meta.url).href;

function channelCase(shape: Shape): BenchCase {
  let producer: Worker | undefined;
  let consumer: Worker | undefined;
  let control = new SharedArrayBuffer(256);
  const timeoutMs = 30_000;
  return {
    id: shape.id,
    unit: shape.size <= 64 ? "M msg/s" : "GB/s",
    lowerIsBetter: false,
    ...(shape.baseline === undefined ? {} : { baseline: shape.baseline }),
    note: shape.note,
    async setup(context) {
      control = new SharedArrayBuffer(256);
      const common = { control, size: shape.size, batch: shape.batch };
      if (shape.raw === true) {
        const sab = new SharedArrayBuffer(384 + shape.capacity * (8 + Math.ceil(shape.size / 8) * 8));
        const raw = { ...common, sab, capacity: shape.capacity };
        consumer = context.spawn("raw-ring.mjs", { workerData: { role: "consumer", ...raw } });
        producer = context.spawn("raw-ring.mjs", { workerData: { role: "producer", ...raw } });
        await Promise.all([ready(consumer, `${shape.id} consumer`), ready(producer, `${shape.id} producer`)]);
        return;
      }
      const { AsyncChannel } = (await import(dist)) as typeof import("../../src/ipc/async/index.ts");
      const channel = AsyncChannel.create(shape.capacity, { slotBytes: shape.size });
      consumer = context.spawn("channel-peer.mjs", { workerData: { role: "consumer", end: channel.consumerDescriptor(), ...common } });
      producer = context.spawn("channel-peer.mjs", { workerData: { role: "producer", end: channel.producerDescriptor(), ...common } });
      await Promise.all([ready(consumer, `${shape.id} consumer`), ready(producer, `${shape.id} producer`)]);
    },
    async run(_round, context) {
      const n = Math.max(10_000, Math.round(shape.messages * context.scale));
      const command = { n, timeoutMs };
      const done = nextMessage(consumer!, `${shape.id} consumer`);
      const value = nextMessage(producer!, `${shape.id} producer`);
      consumer!.postMessage(command);
      producer!.postMessage(command);
      const [c, p] = await Promise.all([done, value]);
      if (c["bad"] !== 0) throw new Error(`${shape.id}: the consumer saw ${String(c["bad"])} messages out of order or of the wrong size`);
      const figure = p["value"];
      if (typeof figure !== "number") throw new Error(`${shape.id}: no figure from the producer`);
      return figure;
    },
    teardown() {
      Atomics.store(new Int32Array(control), 32, 1); // any spinning loop gives up at its next check
      return Promise.resolve();
    },
  };
}

const cases: readonly BenchCase[] = [
  channelCase({
    id: "floor.ring",
    raw: true,
    size: 64,
    batch: 1,
    capacity: 1024,
    messages: 4_000_000,
    note: "raw SPSC ring written inline, no library: 64-byte messages, one publish each",
  }),
  channelCase({
    id: "floor.ring.batched",
    raw: true,
    size: 64,
    batch: 32,
    capacity: 1024,
    messages: 8_000_000,
    note: "raw SPSC ring, published 32 at a time",
  }),
  channelCase({
    id: "floor.ring.4k",
    raw: true,
    size: 4096,
    batch: 1,
    capacity: 64,
    messages: 400_000,
    note: "raw SPSC ring, 4 KiB messages",
  }),
  channelCase({
    id: "channel.64b",
    baseline: ["floor.ring", "postmessage.pipelined"],
    size: 64,
    batch: 1,
    capacity: 1024,
    messages: 4_000_000,
    note: "64-byte messages worker -> worker, one publish (HEAD store) per message; consumer drains in place",
  }),
  channelCase({
    id: "channel.64b.batched",
    baseline: ["floor.ring.batched", "postmessage.pipelined"],
    size: 64,
    batch: 32,
    capacity: 1024,
    messages: 8_000_000,
    note: "as channel.64b, published 32 at a time (trySendBatch)",
  }),
  channelCase({
    id: "channel.4k",
    baseline: ["floor.ring.4k"],
    size: 4096,
    batch: 1,
    capacity: 64,
    messages: 400_000,
    note: "4 KiB messages worker -> worker: copied into the ring, read in place by the consumer (drain)",
  }),
];

export default cases;
