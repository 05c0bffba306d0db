// The floor under async channels: the same single-producer ring (length and tag words + payload per slot, HEAD and
// TAIL on their own lines) written inline with no library, between two workers. Same protocol as
// channel-peer.mjs: workerData { role, sab, control, size, batch, capacity }; per round { n, timeoutMs }.
import { parentPort, workerData } from "node:worker_threads";

const { role, sab, control, size, batch, capacity } = workerData;
const ctl = new Int32Array(control);
const READY = 0;
const STOP = 32;
const CHECK_EVERY = 1 << 16;
const u32 = new Uint32Array(sab);
const bytes = new Uint8Array(sab);
const HEAD = 32; // byte 128
const TAIL = 64; // byte 256
const DATA = 384;
const slotBytes = 8 + Math.ceil(size / 8) * 8; // [u32 length][u32 tag][payload, 8-aligned], as src/shm/ring.ts
const mask = capacity - 1;

let round = 0;
let deadline = 0;
function giveUpIfStopped() {
  if (Atomics.load(ctl, STOP) !== 0) throw new Error("stopped by main");
  if (performance.now() > deadline) throw new Error(`${role}: peer silent past the round's deadline`);
}

let head = 0;
let tail = 0;
function produce(n) {
  const message = new Uint8Array(size).fill(7);
  const seq = new Int32Array(message.buffer, 0, 1);
  let tailSeen = Atomics.load(u32, TAIL);
  let idle = 0;
  for (let i = 0; i < n; ) {
    if (((head - tailSeen) >>> 0) >= capacity) {
      tailSeen = Atomics.load(u32, TAIL);
      if (++idle === CHECK_EVERY) (idle = 0), giveUpIfStopped();
      continue;
    }
    const at = DATA + (head & mask) * slotBytes;
    seq[0] = i;
    u32[at >> 2] = size;
    bytes.set(message, at + 8);
    head = (head + 1) >>> 0;
    i++;
    if (i % batch === 0 || i === n) Atomics.store(u32, HEAD, head);
  }
  while (Atomics.load(u32, TAIL) !== head) if (++idle === CHECK_EVERY) (idle = 0), giveUpIfStopped();
}

function consume(n) {
  let bad = 0;
  let headSeen = tail;
  let idle = 0;
  for (let expected = 0; expected < n; ) {
    if (headSeen === tail) {
      headSeen = Atomics.load(u32, HEAD);
      if (headSeen === tail && ++idle === CHECK_EVERY) (idle = 0), giveUpIfStopped();
      continue;
    }
    while (tail !== headSeen) {
      const at = DATA + (tail & mask) * slotBytes;
      const seq = bytes[at + 8] | (bytes[at + 9] << 8) | (bytes[at + 10] << 16) | (bytes[at + 11] << 24);
      if (seq !== expected || u32[at >> 2] !== size || bytes[at + 8 + size - 1] !== 7) bad++;
      expected++;
      tail = (tail + 1) >>> 0;
    }
    Atomics.store(u32, TAIL, tail);
  }
  return bad;
}

parentPort.on("message", ({ n, timeoutMs }) => {
  deadline = performance.now() + timeoutMs;
  round++;
  try {
    if (role === "consumer") {
      Atomics.store(ctl, READY, round);
      parentPort.postMessage({ done: true, bad: consume(n) });
    } else {
      let spins = 0;
      while (Atomics.load(ctl, READY) !== round) if (++spins === CHECK_EVERY) (spins = 0), giveUpIfStopped();
      const start = performance.now();
      produce(n);
      const seconds = (performance.now() - start) / 1000;
      parentPort.postMessage({ value: size <= 64 ? n / seconds / 1e6 : (n * size) / seconds / 1e9 });
    }
  } catch (e) {
    parentPort.postMessage({ error: String(e?.message ?? e) });
  }
});
parentPort.postMessage({ ready: true });
