// The floors: raw SharedArrayBuffer ping-pong between two workers (never the main thread), with no library in
// the way. floor.spin is the best a protected call between two awake domains can do; floor.futex the best
// when each side sleeps in Atomics.wait and is woken with Atomics.notify every time; floor.ppcall the protected-call
// protocol itself (its words, CAS and checks) written inline, the floor under the runtime.
import type { Worker } from "node:worker_threads";
import type { BenchCase, RunContext } from "../harness.ts";
import { nextMessage, ready, valueOf } from "../threads.ts";
import { CHANNEL, CHANNEL_BYTES, CHANNEL_I32, DOORBELL_BYTES, DOORBELL_I32 } from "../../src/protocol/layout.ts";

/** The channel buffer's word indices, for the inline protocols of workers/pingpong.mjs (one source: protocol/layout.ts). */
const WORDS = { ...CHANNEL_I32, MRS: CHANNEL.MRS / 4, BELL_RING: DOORBELL_I32.RING, BELL_SLEEPING: DOORBELL_I32.SLEEPING };

/** Main's word in the pingpong.mjs layout: non-zero tells both workers to leave their wait loops. */
const STOP = 32;
/** How long a worker waits for its peer within one round before it gives up (the harness has its own). */
const WORKER_TIMEOUT_MS = 20_000;

function pingPongCase(id: string, mode: "spin" | "futex" | "protocol" | "notify", operations: number, note: string): BenchCase {
  let workers: { ping: Worker; pong: Worker; stop: Int32Array } | undefined;
  return {
    id,
    unit: "µs/op",
    lowerIsBetter: true,
    note,
    async setup(context: RunContext) {
      const sab = new SharedArrayBuffer(256);
      // The protocol floor's channel buffer and the callee's doorbell (protocol/layout.ts sizes).
      const wires = mode === "protocol" || mode === "notify" ? { channel: new SharedArrayBuffer(CHANNEL_BYTES), doorbell: new SharedArrayBuffer(DOORBELL_BYTES), words: WORDS } : {};
      const pong = context.spawn("pingpong.mjs", { workerData: { sab, role: "pong", mode, ...wires } });
      const ping = context.spawn("pingpong.mjs", { workerData: { sab, role: "ping", mode, ...wires } });
      workers = { ping, pong, stop: new Int32Array(sab) };
      await Promise.all([ready(pong, `${id} pong`), ready(ping, `${id} ping`)]);
    },
    async run(_round, context) {
      const { ping, pong } = workers!;
      const n = Math.max(1000, Math.round(operations * context.scale));
      const command = { n, timeoutMs: WORKER_TIMEOUT_MS };
      const pinged = nextMessage(ping, `${id} ping`);
      const ponged = nextMessage(pong, `${id} pong`);
      ping.postMessage(command);
      pong.postMessage(command);
      // Both must be back in their event loops (not spinning) before the next round or the teardown.
      const [result] = await Promise.all([pinged, ponged]);
      return valueOf(result, `${id} ping`);
    },
    teardown() {
      // Tells any loop still running to give up; the harness then terminates both workers.
      if (workers !== undefined) Atomics.store(workers.stop, STOP, 1);
      workers = undefined;
      return Promise.resolve();
    },
  };
}

const cases: readonly BenchCase[] = [
  // ~0.1 µs per round trip: 2,000,000 make a 0.2 s round.
  pingPongCase("floor.spin", "spin", 2_000_000, "raw SAB ping-pong, 2 workers spinning on Atomics.load"),
  // ~10-20 µs: 10,000 make a 0.1-0.2 s round.
  pingPongCase("floor.futex", "futex", 10_000, "raw SAB ping-pong, Atomics.wait/notify every time"),
  // The ppcall protocol itself, no runtime: what ppcall.hot costs above it is the runtime's.
  pingPongCase("floor.ppcall", "protocol", 2_000_000, "the ppcall protocol written inline: the same words, CAS and checks per call, no runtime"),
  // The notification protocol itself: what notify.hot costs above it is the runtime's (its loop, notified()).
  pingPongCase("floor.notify", "notify", 2_000_000, "the notification protocol written inline: a count each way on its own line, the DEAD and SLEEPING loads, no runtime"),
];

export default cases;
