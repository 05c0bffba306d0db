// Raw shared-memory ping-pong between two workers: the floor isokit's protected call is measured against.
// `spin`: both sides spin on Atomics.load. `futex`: both sides sleep in Atomics.wait and are woken with
// Atomics.notify every time. The pinger times `n` round trips and posts µs per round trip.
import { parentPort, workerData } from "node:worker_threads";

const { sab, role, n, mode } = workerData;
const i32 = new Int32Array(sab);
const PING = 0; // written by the pinger only
const PONG = 1; // written by the ponger only (same cache line: the cheapest raw exchange)
let seq = 0;

function pingSpin(count) {
  for (let i = 0; i < count; i++) {
    const v = ++seq;
    Atomics.store(i32, PING, v);
    while (Atomics.load(i32, PONG) !== v);
  }
}
function pongSpin(count) {
  for (let i = 0; i < count; i++) {
    const v = ++seq;
    while (Atomics.load(i32, PING) !== v);
    Atomics.store(i32, PONG, v);
  }
}
function pingFutex(count) {
  for (let i = 0; i < count; i++) {
    const v = ++seq;
    Atomics.store(i32, PING, v);
    Atomics.notify(i32, PING);
    while (Atomics.load(i32, PONG) !== v) Atomics.wait(i32, PONG, v - 1, 100);
  }
}
function pongFutex(count) {
  for (let i = 0; i < count; i++) {
    const v = ++seq;
    while (Atomics.load(i32, PING) !== v) Atomics.wait(i32, PING, v - 1, 100);
    Atomics.store(i32, PONG, v);
    Atomics.notify(i32, PONG);
  }
}

const warm = Math.max(100, Math.floor(n / 10));
if (role === "ping") {
  const ping = mode === "spin" ? pingSpin : pingFutex;
  ping(warm);
  const start = performance.now();
  ping(n);
  parentPort.postMessage(((performance.now() - start) * 1000) / n);
} else {
  (mode === "spin" ? pongSpin : pongFutex)(warm + n);
}
