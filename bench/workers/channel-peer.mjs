// One end of an async channel (the compiled dist/, built by `npm run bench`) for bench/cases/channel.ts.
// workerData: { role: "producer" | "consumer", end (descriptor), control (SharedArrayBuffer), size, batch }.
// Each round: main posts { n, timeoutMs } to both. The consumer stores READY = round in `control` and drains
// n messages, checking that each carries the next sequence number in its first 4 bytes (read in place with `drain`,
// which also checks the last byte); it replies { done, bad }. The producer
// waits for READY, then times n sends (one publish per message, or `trySendBatch` of `batch`) until the
// consumer has freed every slot, and replies { value } in M msg/s (or GB/s for 4 KiB). On a full or empty
// ring both sides spin on the ring: a round is one core each, back to back. Between rounds both sit idle.
import { parentPort, workerData } from "node:worker_threads";
import { AsyncConsumer, AsyncProducer } from "../../dist/ipc/async/index.js";

const { role, end, control, size, batch } = workerData;
const ctl = new Int32Array(control);
const READY = 0;
const STOP = 32;
const CHECK_EVERY = 1 << 16;

let round = 0;
let deadline = 0;
function giveUpIfStopped() {
  if (Atomics.load(ctl, STOP) !== 0) throw new Error("stopped by main");
  if (performance.now() > deadline) throw new Error(`${role}: peer silent past the round's deadline`);
}

function consume(consumer, n) {
  let expected = 0;
  let bad = 0;
  let idle = 0;
  {
    const each = (payload) => {
      // The sequence number, read in place (little-endian u32 at offset 0).
      const seq = payload[0] | (payload[1] << 8) | (payload[2] << 16) | (payload[3] << 24);
      if (seq !== (expected | 0) || payload.length !== size || payload[size - 1] !== 7) bad++;
      expected++;
    };
    while (expected < n) {
      if (consumer.drain(256, each) === 0 && ++idle === CHECK_EVERY) {
        idle = 0;
        giveUpIfStopped();
      }
    }
  }
  return bad;
}

function produce(producer, n) {
  const messages = Array.from({ length: Math.max(1, batch) }, () => new Uint8Array(new ArrayBuffer(size + 64), 8, size).fill(7));
  const seqs = messages.map((m) => new Int32Array(m.buffer, 8, 1));
  let seq = 0;
  let idle = 0;
  if (batch <= 1) {
    const m = messages[0];
    const s = seqs[0];
    while (seq < n) {
      s[0] = seq;
      if (producer.trySend(m)) seq++;
      else if (++idle === CHECK_EVERY) {
        idle = 0;
        giveUpIfStopped();
      }
    }
  } else {
    while (seq < n) {
      const count = Math.min(batch, n - seq);
      for (let i = 0; i < count; i++) seqs[i][0] = seq + i;
      let sent = 0;
      const list = count === batch ? messages : messages.slice(0, count);
      while (sent < count) {
        const k = producer.trySendBatch(list, sent);
        sent += k;
        if (k === 0 && ++idle === CHECK_EVERY) {
          idle = 0;
          giveUpIfStopped();
        }
      }
      seq += count;
    }
  }
  while (producer.free !== producer.capacity) {
    if (++idle === CHECK_EVERY) {
      idle = 0;
      giveUpIfStopped();
    }
  }
}

const consumer = role === "consumer" ? AsyncConsumer.attach(end, {}) : undefined;
const producer = role === "producer" ? AsyncProducer.attach(end, {}) : undefined;

parentPort.on("message", ({ n, timeoutMs }) => {
  deadline = performance.now() + timeoutMs;
  round++;
  try {
    if (consumer !== undefined) {
      Atomics.store(ctl, READY, round); // publishes: the consumer is in its loop for this round
      const bad = consume(consumer, n);
      parentPort.postMessage({ done: true, bad });
    } else {
      let spins = 0;
      while (Atomics.load(ctl, READY) !== round) if (++spins === CHECK_EVERY) (spins = 0), giveUpIfStopped();
      const start = performance.now();
      produce(producer, n);
      const seconds = (performance.now() - start) / 1000;
      parentPort.postMessage({ value: size <= 64 ? n / seconds / 1e6 : (n * size) / seconds / 1e9 });
    }
  } catch (e) {
    parentPort.postMessage({ error: String(e?.message ?? e) });
  }
});
parentPort.postMessage({ ready: true });
