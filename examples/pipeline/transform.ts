// Stage 2: value -> value + 1, in batches; closes its output when its input ends.
import { debugPrintln, protectionDomain } from "isokit/microkit";
import { asyncConsumer, asyncProducer } from "isokit/streams";

async function run(): Promise<void> {
  const raw = asyncConsumer("raw");
  const cooked = asyncProducer("cooked");
  let count = 0;
  const start = performance.now();
  for (;;) {
    const batch = await raw.receiveBatchAsync(256, { timeout: 60_000 });
    if (batch.length === 0) break; // the source closed and everything it sent was taken
    for (const message of batch) {
      const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
      view.setUint32(4, view.getUint32(4, true) + 1, true);
    }
    await cooked.sendBatch(batch, { timeout: 60_000 });
    count += batch.length;
  }
  cooked.close();
  debugPrintln(`${count} messages, ${(count / ((performance.now() - start) / 1000) / 1e6).toFixed(2)} M msg/s`);
}

export default protectionDomain({ init: () => void run() }, { wait: "async" });
