// Stage 3: checks order and the transform of every message, then reports to the booting thread.
import { debugPrintln, protectionDomain } from "isokit/microkit";
import { asyncConsumer, asyncProducer } from "isokit/streams";

async function run(): Promise<void> {
  const cooked = asyncConsumer("cooked");
  let expected = 0;
  let wrong = 0;
  const start = performance.now();
  // Batches, not `for await (const m of cooked)`: that works too, but pays one promise per message (~1 µs).
  for (;;) {
    const batch = await cooked.receiveBatchAsync(256, { timeout: 60_000 });
    if (batch.length === 0) break; // the transform closed and everything it sent was taken
    for (const message of batch) {
      const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
      if (view.getUint32(0, true) !== expected || view.getUint32(4, true) !== expected * 3 + 1) wrong++;
      expected++;
    }
  }
  debugPrintln(`${expected} messages, ${(expected / ((performance.now() - start) / 1000) / 1e6).toFixed(2)} M msg/s`);
  const report = asyncProducer("report");
  await report.sendAsync(new TextEncoder().encode(`${expected} received, ${wrong} out of order or wrong`));
}

export default protectionDomain({ init: () => void run() }, { wait: "async" });
