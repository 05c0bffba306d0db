// Entry of every PD worker thread. Plain JavaScript, and no module hooks: the kernel compiled the runtime and
// the program into JavaScript (src/kernel/loader.ts), so a worker costs little more than a bare one.
import { workerData } from "node:worker_threads";

// The compiled files carry inline source maps: with them a fault's stack names the program's own files.
process.setSourceMapsEnabled(true);
const { runWorker } = await import(workerData.runtimeUrl);
await runWorker();
