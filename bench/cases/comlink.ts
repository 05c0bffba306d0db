// Comlink, the usual way to call a function in a worker: echo(64 bytes) through a proxy, awaited each time.
import type { Worker } from "node:worker_threads";
import * as Comlink from "comlink";
// Comlink 4's Node adapter. The UMD file's module.exports is the adapter function itself; its typings
// describe it as `exports.default`, hence the cast.
import adapter from "comlink/dist/umd/node-adapter.js";
import type { BenchCase } from "../harness.ts";
import { ready } from "../threads.ts";

const nodeEndpoint = adapter as unknown as typeof adapter.default;

interface Echo {
  echo(bytes: Uint8Array): Uint8Array;
}

function comlinkRtt(): BenchCase {
  let remote: Comlink.Remote<Echo> | undefined;
  const payload = new Uint8Array(64).fill(7);
  return {
    id: "comlink.rtt",
    unit: "µs/op",
    lowerIsBetter: true,
    baseline: ["postmessage.rtt"],
    note: "echo(64-byte Uint8Array) on a Comlink proxy, main <-> worker",
    async setup(context) {
      const worker: Worker = context.spawn("comlink.mjs");
      await ready(worker, "comlink.rtt worker");
      remote = Comlink.wrap<Echo>(nodeEndpoint(worker));
    },
    async run(_round, context) {
      const r = remote!;
      const n = Math.max(200, Math.round(3_000 * context.scale));
      let reply: Uint8Array | undefined;
      const start = performance.now();
      for (let i = 0; i < n; i++) reply = await r.echo(payload);
      const elapsed = performance.now() - start;
      if (reply?.byteLength !== 64) throw new Error("comlink.rtt: bad echo");
      return (elapsed * 1000) / n;
    },
    teardown() {
      // Removes the proxy's listener from the worker; the harness terminates the worker itself.
      remote?.[Comlink.releaseProxy]();
      remote = undefined;
      return Promise.resolve();
    },
  };
}

const cases: readonly BenchCase[] = [comlinkRtt()];

export default cases;
