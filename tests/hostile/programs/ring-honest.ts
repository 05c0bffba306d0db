// An honest async-channel producer for tests/hostile/rings.test.ts: sends COUNT messages on channel "in" in
// batches, each [seq u32, tag u32] with tag = the last character code of the PD's name, then closes.
import { workerData } from "node:worker_threads";
import { asyncProducer, protectionDomain } from "../../../src/index.ts";
import type { PdBootData } from "../../../src/internal.ts";

const COUNT = 10_000;

async function run(): Promise<void> {
  const name = (workerData as PdBootData).name;
  const tag = name.charCodeAt(name.length - 1);
  const producer = asyncProducer("in");
  for (let seq = 0; seq < COUNT; seq += 50) {
    const batch: Uint8Array[] = [];
    for (let i = seq; i < Math.min(COUNT, seq + 50); i++) {
      const m = new Uint8Array(8);
      new DataView(m.buffer).setUint32(0, i, true);
      new DataView(m.buffer).setUint32(4, tag, true);
      batch.push(m);
    }
    await producer.sendBatch(batch, { timeout: 60_000 });
  }
  producer.close();
}

export default protectionDomain({ init: () => void run() }, { wait: "async" });
