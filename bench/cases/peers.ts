// The peers isokit is measured against, in the same run: raw shared memory (the floors), postMessage, Comlink.
import { Worker } from "node:worker_threads";
import * as Comlink from "comlink";
import adapter from "comlink/dist/umd/node-adapter.js";
import type { BenchCase } from "../harness.ts";

const workers = new URL("../workers/", import.meta.url);
// The UMD adapter's module.exports is the function itself; its typings describe it as `exports.default`.
const nodeEndpoint = adapter as unknown as typeof adapter.default;

async function pingPong(mode: "spin" | "futex", n: number): Promise<number> {
  const sab = new SharedArrayBuffer(128);
  const script = new URL("pingpong.mjs", workers);
  const pong = new Worker(script, { workerData: { sab, role: "pong", n, mode } });
  const ping = new Worker(script, { workerData: { sab, role: "ping", n, mode } });
  try {
    return await new Promise<number>((resolve, reject) => {
      ping.once("message", resolve);
      ping.once("error", reject);
      pong.once("error", reject);
    });
  } finally {
    await Promise.all([ping.terminate(), pong.terminate()]);
  }
}

async function postMessageRtt(n: number): Promise<number> {
  const worker = new Worker(new URL("echo.mjs", workers));
  const payload = new Uint8Array(64);
  try {
    const start = performance.now();
    for (let i = 0; i < n; i++) {
      await new Promise((resolve) => {
        worker.once("message", resolve);
        worker.postMessage(payload);
      });
    }
    return ((performance.now() - start) * 1000) / n;
  } finally {
    await worker.terminate();
  }
}

async function comlinkRtt(n: number): Promise<number> {
  const worker = new Worker(new URL("comlink.mjs", workers));
  const remote = Comlink.wrap<{ echo(bytes: Uint8Array): Uint8Array }>(nodeEndpoint(worker));
  const payload = new Uint8Array(64);
  try {
    await remote.echo(payload);
    const start = performance.now();
    for (let i = 0; i < n; i++) await remote.echo(payload);
    return ((performance.now() - start) * 1000) / n;
  } finally {
    remote[Comlink.releaseProxy]();
    await worker.terminate();
  }
}

const cases: BenchCase[] = [
  { id: "floor.spin", unit: "µs/op", lowerIsBetter: true, run: () => pingPong("spin", 300_000) },
  { id: "floor.futex", unit: "µs/op", lowerIsBetter: true, run: () => pingPong("futex", 10_000) },
  { id: "postmessage.rtt", unit: "µs/op", lowerIsBetter: true, run: () => postMessageRtt(10_000) },
  { id: "comlink.rtt", unit: "µs/op", lowerIsBetter: true, baseline: ["postmessage.rtt"], run: () => comlinkRtt(5_000) },
];

export default cases;
