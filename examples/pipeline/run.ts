// Seed 002's producer-consumer pipeline across three PDs on async channels:
//
//   source --raw--> transform --cooked--> sink --report--> this thread
//
// Each stage prints its own throughput; the sink checks that every message arrived, in order, transformed.
// Run: node --import tsx examples/pipeline/run.ts [messages]
import { fileURLToPath } from "node:url";
import { boot } from "isokit";
import { HOST } from "isokit/streams";

const messages = Number(process.argv[2] ?? 1_000_000);
const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));

const system = await boot(
  {
    protectionDomains: [
      { name: "source", priority: 100, program: here("source.ts") },
      { name: "transform", priority: 110, program: here("transform.ts") },
      { name: "sink", priority: 120, program: here("sink.ts") },
    ],
    channels: [],
  },
  {
    asyncChannels: [
      { name: "count", producers: [HOST], consumer: "source", capacity: 1, slotBytes: 4 },
      { name: "raw", producers: ["source"], consumer: "transform", capacity: 4096, slotBytes: 16 },
      { name: "cooked", producers: ["transform"], consumer: "sink", capacity: 4096, slotBytes: 16 },
      { name: "report", producers: ["sink"], consumer: HOST, capacity: 4, slotBytes: 64 },
    ],
  },
);
const count = new Uint8Array(4);
new DataView(count.buffer).setUint32(0, messages, true);
await system.asyncProducer("count").sendAsync(count);
const started = performance.now();
const report = await system.asyncConsumer("report").receiveAsync({ timeout: 120_000 });
const seconds = (performance.now() - started) / 1000;
console.log(`host: sink reports ${new TextDecoder().decode(report)}; ${messages} messages through 3 PDs in ${seconds.toFixed(2)} s`);
await system.shutdown();
if (system.faults.length > 0) {
  for (const f of system.faults) console.error(`fault in ${f.pd}: ${f.error.message}`);
  process.exitCode = 1;
}
