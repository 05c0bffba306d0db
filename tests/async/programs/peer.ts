// One end of an async channel in a worker thread, for tests/async/workers.test.ts. workerData: { role, end,
// count, seed, ... }; each role reports with one postMessage. Messages: u32 sequence number, then `seq % 53`
// bytes of `seq & 0xff` (at most 56 bytes).
import { parentPort, workerData } from "node:worker_threads";
import { AsyncConsumer, AsyncProducer, type ConsumerDescriptor, type ProducerDescriptor } from "../../../src/ipc/async/index.ts";
import { isIpcError } from "../../../src/errors.ts";

interface Data {
  readonly role: "produce" | "consume" | "stall-producer" | "stall-consumer" | "flood";
  readonly end: ProducerDescriptor | ConsumerDescriptor;
  readonly count: number;
  readonly seed: number;
  readonly tag?: number;
}
const data = workerData as Data;

let state = data.seed >>> 0 || 1;
function random(): number {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) / 2 ** 32;
}

function message(seq: number, tag = 0): Uint8Array {
  const bytes = new Uint8Array(4 + (seq % 53));
  new DataView(bytes.buffer).setUint32(0, seq, true);
  bytes.fill(tag === 0 ? seq & 0xff : tag, 4);
  return bytes;
}

const post = (m: unknown): void => parentPort?.postMessage(m);
const keepAlive = (): void => void setInterval(() => undefined, 1 << 30);

async function produce(): Promise<void> {
  const producer = AsyncProducer.attach(data.end as ProducerDescriptor);
  let seq = 0;
  while (seq < data.count) {
    const size = 1 + Math.floor(random() * 40);
    const batch: Uint8Array[] = [];
    for (let i = 0; i < size && seq + i < data.count; i++) batch.push(message(seq + i));
    const how = random();
    if (how < 0.4) await producer.sendBatch(batch);
    else if (how < 0.7) {
      let sent = producer.trySendBatch(batch);
      while (sent < batch.length) await producer.sendAsync(batch[sent++]!);
    } else for (const m of batch) await producer.sendAsync(m);
    seq += batch.length;
  }
  producer.close();
  post({ sent: seq, closed: await producer.closed });
}

async function consume(): Promise<void> {
  const consumer = AsyncConsumer.attach(data.end as ConsumerDescriptor);
  let expected = 0;
  let bad = 0;
  const check = (payload: Uint8Array): void => {
    const seq = new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint32(0, true);
    if (seq !== expected || payload.length !== 4 + (seq % 53) || payload.some((b, i) => i >= 4 && b !== (seq & 0xff))) bad++;
    expected++;
  };
  let maxSize = 0;
  for (;;) {
    maxSize = Math.max(maxSize, consumer.size);
    const how = random();
    if (how < 0.4) {
      const batch = await consumer.receiveBatchAsync(1 + Math.floor(random() * 64));
      if (batch.length === 0) break;
      batch.forEach(check);
    } else if (how < 0.7) {
      if (consumer.drain(1 + Math.floor(random() * 64), check) === 0) {
        const m = await consumer.receiveAsync();
        if (m === undefined) break;
        check(m);
      }
    } else {
      const m = await consumer.receiveAsync();
      if (m === undefined) break;
      check(m);
    }
  }
  post({ received: expected, bad, ended: consumer.ended, closed: await consumer.closed, maxSize });
}

async function stallProducer(): Promise<void> {
  const producer = AsyncProducer.attach(data.end as ProducerDescriptor);
  for (let seq = 0; seq < data.count; seq++) await producer.sendAsync(message(seq));
  post({ sent: data.count });
  keepAlive(); // alive, silent, never closes: only a terminate ends it
}

async function stallConsumer(): Promise<void> {
  const consumer = AsyncConsumer.attach(data.end as ConsumerDescriptor);
  for (let i = 0; i < data.count; i++) await consumer.receiveAsync();
  post({ received: data.count });
  keepAlive();
}

/** Sends tagged messages as fast as the ring takes them until the channel closes; reports when first full. */
async function flood(): Promise<void> {
  const producer = AsyncProducer.attach(data.end as ProducerDescriptor);
  let seq = 0;
  let reported = false;
  try {
    for (;;) {
      if (producer.trySend(message(seq, data.tag))) seq++;
      else {
        if (!reported) post({ full: seq });
        reported = true;
        await producer.sendAsync(message(seq, data.tag));
        seq++;
      }
    }
  } catch (e) {
    post({ stopped: seq, code: isIpcError(e) ? e.code : String(e) });
  }
}

const roles = { produce, consume, "stall-producer": stallProducer, "stall-consumer": stallConsumer, flood };
roles[data.role]().catch((e: unknown) => {
  post({ error: isIpcError(e) ? `${e.code}: ${e.message}` : String(e) });
});
