// Raw shared-memory ping-pong between two workers: the floor isokit's protected call is measured against.
// `spin`: both sides spin on Atomics.load. `futex`: both sides sleep in Atomics.wait and are woken with
// Atomics.notify every time. `protocol` and `notify` are isokit's protected call and notification written inline
// on a channel buffer (below). Each round: main posts { n, timeoutMs } to both; the pinger waits for the
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

// `protocol`: the protected-call protocol of src/protocol/layout.ts ("Channel buffer") written inline, on its own
// buffer (`channel`, CHANNEL_BYTES): per call the caller checks the callee's DEAD word and CALL_STATE, writes the
// registers and the tag words, CASes CALL_STATE to CALLED, re-checks DEAD, loads the callee's doorbell SLEEPING
// word, spins until REPLIED and copies the reply out; the callee, spinning on CALL_STATE, copies the request in,
// answers MR0 + 1 with the same tag words, CASes CALLED -> REPLIED and loads CALLER_SLEEPING. What the runtime
// adds above it (its function layers, MessageInfo objects, entry-point bookkeeping) is ppcall.hot minus this.
// Word indices from protocol/layout.ts (CHANNEL_I32 and the MRS offset), passed in by bench/cases/floor.ts.
const W = workerData.words ?? {};
const C = { PEER_DEAD: W.END1_DEAD, CALL_STATE: W.CALL_STATE, CALLER_SLEEPING: W.CALLER_SLEEPING, COUNT: W.MSG_COUNT, LABEL_LO: W.MSG_LABEL_LO, LABEL_HI: W.MSG_LABEL_HI, MRS: W.MRS };
const CALLED = 1;
const REPLIED = 2;
const channel = workerData.channel === undefined ? undefined : new Uint32Array(workerData.channel);
const doorbell = workerData.doorbell === undefined ? undefined : new Int32Array(workerData.doorbell);
const ipc = new Uint32Array(128); // the private IPC buffer: 64 registers of two words

function spinForState(state) {
  let spins = 0;
  while (Atomics.load(channel, C.CALL_STATE) !== state) {
    if (++spins === CHECK_EVERY) {
      spins = 0;
      giveUpIfStopped();
    }
  }
}
function pingProtocol(n) {
  for (let i = 0; i < n; i++) {
    ipc[0] = i;
    if (Atomics.load(channel, C.PEER_DEAD) !== 0) throw new Error("callee dead");
    const free = Atomics.load(channel, C.CALL_STATE);
    if (free !== 0 && free !== REPLIED) throw new Error(`not free: ${free}`);
    const count = 1;
    for (let k = 0; k < count * 2; k++) channel[C.MRS + k] = ipc[k];
    channel[C.COUNT] = count;
    channel[C.LABEL_LO] = 1;
    channel[C.LABEL_HI] = 0;
    if (Atomics.compareExchange(channel, C.CALL_STATE, free, CALLED) !== free) throw new Error("lost the call line");
    if (Atomics.load(channel, C.PEER_DEAD) !== 0) throw new Error("callee dead");
    if (Atomics.load(doorbell, W.BELL_SLEEPING) !== 0) Atomics.notify(doorbell, W.BELL_RING); // the ring: only if the callee sleeps
    spinForState(REPLIED);
    const replied = channel[C.COUNT];
    if (replied > 64 || channel[C.LABEL_HI] * 2 ** 32 + channel[C.LABEL_LO] > 2 ** 52) throw new Error("bad reply");
    for (let k = 0; k < replied * 2; k++) ipc[k] = channel[C.MRS + k];
    if (ipc[0] !== i + 1) throw new Error(`reply ${ipc[0]} to call ${i}`);
  }
}
function pongProtocol(n) {
  for (let i = 0; i < n; i++) {
    spinForState(CALLED);
    const count = channel[C.COUNT];
    const label = channel[C.LABEL_HI] * 2 ** 32 + channel[C.LABEL_LO];
    if (count > 64 || label > 2 ** 52) throw new Error("bad call");
    for (let k = 0; k < count * 2; k++) ipc[k] = channel[C.MRS + k];
    ipc[0] = ipc[0] + 1; // protected(): MR0 + 1, one register back
    for (let k = 0; k < 2; k++) channel[C.MRS + k] = ipc[k];
    channel[C.COUNT] = 1;
    channel[C.LABEL_LO] = label >>> 0;
    channel[C.LABEL_HI] = 0;
    Atomics.compareExchange(channel, C.CALL_STATE, CALLED, REPLIED);
    if (Atomics.load(channel, C.CALLER_SLEEPING) !== 0) Atomics.notify(channel, C.CALL_STATE);
  }
}

// `notify`: the notification protocol of src/protocol/layout.ts written inline on the same channel buffer: a PD
// sends by loading the peer's DEAD word, storing its own count (NOTIFY_TO_END0 / NOTIFY_TO_END1, one line each,
// one writer) and loading the peer's doorbell SLEEPING word; it takes one by spinning on the peer's count until it
// moves. A round trip is a notification each way, as notify.hot's ping-pong through notified().
const N = { TO_END0: W.NOTIFY_TO_END0, TO_END1: W.NOTIFY_TO_END1, END0_DEAD: W.END0_DEAD, END1_DEAD: W.END1_DEAD };
let notifySent = 0;
// Returns the count at `index` once it differs from `seen`.
function spinForCount(index, seen) {
  let spins = 0;
  let count;
  while ((count = Atomics.load(channel, index)) === seen) {
    if (++spins === CHECK_EVERY) {
      spins = 0;
      giveUpIfStopped();
    }
  }
  return count;
}
function notifyPeer(deadIndex, countIndex) {
  if (Atomics.load(channel, deadIndex) !== 0) throw new Error("peer dead");
  Atomics.store(channel, countIndex, (notifySent = (notifySent + 1) >>> 0));
  if (Atomics.load(doorbell, W.BELL_SLEEPING) !== 0) Atomics.notify(doorbell, W.BELL_RING); // the ring: only if the peer sleeps
}
let notifySeen = 0;
function pingNotify(n) {
  // end 0 (the pinger) sends on NOTIFY_TO_END1 and takes from NOTIFY_TO_END0
  for (let i = 0; i < n; i++) {
    notifyPeer(N.END1_DEAD, N.TO_END1);
    notifySeen = spinForCount(N.TO_END0, notifySeen);
  }
}
function pongNotify(n) {
  for (let i = 0; i < n; i++) {
    notifySeen = spinForCount(N.TO_END1, notifySeen);
    notifyPeer(N.END0_DEAD, N.TO_END0);
  }
}

const loops = { spin: [pingSpin, pongSpin], futex: [pingFutex, pongFutex], protocol: [pingProtocol, pongProtocol], notify: [pingNotify, pongNotify] };
let round = 0;
parentPort.on("message", ({ n, timeoutMs }) => {
  deadline = performance.now() + timeoutMs; // each thread's performance.now() has its own origin
  round++;
  try {
    if (role === "pong") {
      Atomics.store(i32, READY, round); // publishes: the ponger is in its loop for this round
      loops[mode][1](n);
      parentPort.postMessage({ done: true });
    } else {
      spinFor(READY, round); // the ponger may still be reading its message
      const start = performance.now();
      loops[mode][0](n);
      parentPort.postMessage({ value: ((performance.now() - start) * 1000) / n });
    }
  } catch (e) {
    parentPort.postMessage({ error: String(e?.message ?? e) });
  }
});
parentPort.postMessage({ ready: true });
