// Raw shared-memory ping-pong between two workers: the floor isokit's protected call is measured against.
// `spin`: both sides spin on Atomics.load. `futex`: both sides sleep in Atomics.wait and are woken with
// Atomics.notify every time. Each round: main posts { n, timeoutMs } to both; the pinger waits for the
// ponger's READY, times n round trips and replies { value: µs per round trip }; the ponger replies
// { done: true }. Between rounds both sit idle in their event loop: nothing spins unless a round is on.
//
// Layout (Int32Array over a 256-byte SharedArrayBuffer given by main):
//   [0]  PING   written by the pinger only: the sequence number of its latest ping
//   [1]  PONG   written by the ponger only: the sequence number it last answered (same cache line as PING,
//               the cheapest raw exchange)
//   [16] READY  written by the ponger only: the round number it is ready for (own cache line)
//   [32] STOP   written by main only: non-zero tells every wait loop to give up (own cache line)
// Sequence numbers keep counting across rounds; both sides run the same n per round so they stay in step.
import { parentPort, workerData } from "node:worker_threads";

const { sab, role, mode } = workerData;
const i32 = new Int32Array(sab);
const PING = 0;
const PONG = 1;
const READY = 16;
const STOP = 32;
const CHECK_EVERY = 1 << 16; // spins between two looks at STOP and the clock (about a millisecond)
const SLEEP_MS = 50; // bound on one Atomics.wait: a lost wake-up costs at most this, then we re-check

let seq = 0;
let deadline = 0;

function giveUpIfStopped() {
  if (Atomics.load(i32, STOP) !== 0) throw new Error("stopped by main");
  if (performance.now() > deadline) throw new Error(`${role}: peer silent past the round's deadline`);
}

// Returns once i32[index] === value; spins with a bounded check of STOP and the deadline.
function spinFor(index, value) {
  let spins = 0;
  while (Atomics.load(i32, index) !== value) {
    if (++spins === CHECK_EVERY) {
      spins = 0;
      giveUpIfStopped();
    }
  }
}

// Returns once i32[index] === value; sleeps (bounded) whenever it is not there yet. `value - 1` is the
// only other value the word can hold here, so a wake-up between the load and the wait is not lost.
function sleepFor(index, value) {
  while (Atomics.load(i32, index) !== value) {
    if (Atomics.wait(i32, index, value - 1, SLEEP_MS) === "timed-out") giveUpIfStopped();
  }
}

function pingSpin(n) {
  for (let i = 0; i < n; i++) {
    const v = ++seq;
    Atomics.store(i32, PING, v); // publishes ping v
    spinFor(PONG, v); // waits for pong v
  }
}
function pongSpin(n) {
  for (let i = 0; i < n; i++) {
    const v = ++seq;
    spinFor(PING, v); // waits for ping v
    Atomics.store(i32, PONG, v); // publishes pong v
  }
}
function pingFutex(n) {
  for (let i = 0; i < n; i++) {
    const v = ++seq;
    Atomics.store(i32, PING, v);
    Atomics.notify(i32, PING); // every time, whether or not the ponger sleeps
    sleepFor(PONG, v);
  }
}
function pongFutex(n) {
  for (let i = 0; i < n; i++) {
    const v = ++seq;
    sleepFor(PING, v);
    Atomics.store(i32, PONG, v);
    Atomics.notify(i32, PONG);
  }
}

let round = 0;
parentPort.on("message", ({ n, timeoutMs }) => {
  deadline = performance.now() + timeoutMs; // each thread's performance.now() has its own origin
  round++;
  try {
    if (role === "pong") {
      Atomics.store(i32, READY, round); // publishes: the ponger is in its loop for this round
      (mode === "spin" ? pongSpin : pongFutex)(n);
      parentPort.postMessage({ done: true });
    } else {
      spinFor(READY, round); // the ponger may still be reading its message
      const start = performance.now();
      (mode === "spin" ? pingSpin : pingFutex)(n);
      parentPort.postMessage({ value: ((performance.now() - start) * 1000) / n });
    }
  } catch (e) {
    parentPort.postMessage({ error: String(e?.message ?? e) });
  }
});
parentPort.postMessage({ ready: true });
