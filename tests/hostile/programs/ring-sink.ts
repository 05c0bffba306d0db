// A consumer PD for tests/hostile/rings.test.ts: waits until the hostile producer of ring 0 has made its move
// (the MARK word of ring-hostile.ts, a test-only handshake), then attaches to channel "in", receives until the
// honest producer's COUNT messages are in (the hostile ring never ends) or the stream ends, and reports on channel "report" (to the booting thread) as JSON:
// { attached, attachError?, received: { [tag]: count }, outOfOrder, errors: [code...] }.
import { workerData } from "node:worker_threads";
import { asyncConsumer, asyncProducer, protectionDomain } from "../../../src/index.ts";
import type { PdBootData } from "../../../src/internal.ts";
import { isIpcError } from "../../../src/errors.ts";

const MARK = 11;
const COUNT = 10_000; // what ring-honest.ts sends

async function run(): Promise<void> {
  const boot = workerData as PdBootData;
  const end = boot.asyncChannels.find((e) => e.role === "consumer")!;
  const ring0 = new Int32Array((end.descriptor as { rings: SharedArrayBuffer[] }).rings[0]!);
  for (let i = 0; i < 600 && Atomics.load(ring0, MARK) !== 0x600d; i++) await new Promise((r) => setTimeout(r, 50)); // hang guard: 30 s
  const report = asyncProducer("report");
  const result = { attached: false, attachError: "", received: {} as Record<string, number>, outOfOrder: 0, errors: [] as string[] };
  try {
    const consumer = asyncConsumer("in");
    result.attached = true;
    const next = new Map<number, number>();
    let total = 0;
    for (let round = 0; round < 100_000 && result.errors.length < 10 && total < COUNT; round++) {
      let batch: Uint8Array[];
      try {
        batch = await consumer.receiveBatchAsync(100, { timeout: 30_000 });
      } catch (e) {
        result.errors.push(isIpcError(e) ? e.code : String(e));
        continue;
      }
      if (batch.length === 0) break;
      for (const m of batch) {
        const view = new DataView(m.buffer, m.byteOffset, m.byteLength);
        const seq = view.getUint32(0, true);
        const tag = view.getUint32(4, true);
        if (seq !== (next.get(tag) ?? 0)) result.outOfOrder++;
        next.set(tag, seq + 1);
        result.received[String.fromCharCode(tag)] = (result.received[String.fromCharCode(tag)] ?? 0) + 1;
        total++;
      }
    }
  } catch (e) {
    result.attachError = isIpcError(e) ? e.code : String(e);
  }
  await report.sendAsync(new TextEncoder().encode(JSON.stringify(result)), { timeout: 30_000 });
}

export default protectionDomain({ init: () => void run() }, { wait: "async" });
