// One side of the ring test on a real worker: the producer pushes `count` messages in seeded random batch
// sizes (each: u32 sequence number, then `seq % 53` bytes of `seq & 0xff`); the consumer checks every one.
import { parentPort, workerData } from "node:worker_threads";
import { RingConsumer, RingProducer } from "../../src/shm/ring.ts";

const { role, buffer, count, seed } = workerData as { role: "producer" | "consumer"; buffer: SharedArrayBuffer; count: number; seed: number };

let state = seed >>> 0 || 1;
function random(): number {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) / 2 ** 32;
}

function message(seq: number): Uint8Array {
  const bytes = new Uint8Array(4 + (seq % 53));
  new DataView(bytes.buffer).setUint32(0, seq, true);
  bytes.fill(seq & 0xff, 4);
  return bytes;
}

if (role === "producer") {
  const ring = new RingProducer(buffer);
  let seq = 0;
  const batch: Uint8Array[] = [];
  while (seq < count) {
    const size = 1 + Math.floor(random() * 40);
    batch.length = 0;
    for (let i = 0; i < size && seq + i < count; i++) batch.push(message(seq + i));
    let sent = 0;
    while (sent < batch.length) {
      const n = ring.pushBatch(batch, sent);
      sent += n;
      if (n === 0) Atomics.wait(new Int32Array(buffer), 0, 0, 0); // full: yield briefly (wait of 0 ms)
    }
    seq += batch.length;
  }
  parentPort?.postMessage({ done: seq });
} else {
  const ring = new RingConsumer(buffer);
  let expected = 0;
  let bad = 0;
  const deadline = performance.now() + 30_000; // a dead producer must not leave this worker spinning
  while (expected < count && performance.now() < deadline) {
    const max = 1 + Math.floor(random() * 64);
    ring.popBatch(max, (payload) => {
      const seq = new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint32(0, true);
      if (seq !== expected || payload.length !== 4 + (seq % 53) || payload.some((b, i) => i >= 4 && b !== (seq & 0xff))) bad++;
      expected++;
    });
  }
  parentPort?.postMessage({ received: expected, bad, leftover: ring.available() });
}
