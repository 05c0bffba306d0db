// Stage 1: produces messages [seq u32, value u32] in batches of 256 (one index publish per batch).
import { debugPrintln, protectionDomain } from "isokit/microkit";
import { asyncConsumer, asyncProducer } from "isokit/streams";

const BATCH = 256;

async function run(): Promise<void> {
  // How many to send comes from the host, over a channel of its own: a confined PD has no process.env.
  const count = await asyncConsumer("count").receiveAsync({ timeout: 60_000 });
  if (count === undefined) return; // the host closed it without a count
  const total = new DataView(count.buffer, count.byteOffset, count.byteLength).getUint32(0, true);
  const raw = asyncProducer("raw");
  const batch = Array.from({ length: BATCH }, () => new Uint8Array(8));
  const start = performance.now();
  for (let seq = 0; seq < total; seq += BATCH) {
    const n = Math.min(BATCH, total - seq);
    for (let i = 0; i < n; i++) {
      const view = new DataView(batch[i]!.buffer);
      view.setUint32(0, seq + i, true);
      view.setUint32(4, (seq + i) * 3, true);
    }
    await raw.sendBatch(n === BATCH ? batch : batch.slice(0, n), { timeout: 60_000 });
  }
  raw.close(); // the transform drains what was sent, then its iteration ends
  debugPrintln(`${total} messages, ${rate(total, start)}`);
}

function rate(n: number, start: number): string {
  return `${(n / ((performance.now() - start) / 1000) / 1e6).toFixed(2)} M msg/s`;
}

export default protectionDomain({ init: () => void run() }, { wait: "async" });
