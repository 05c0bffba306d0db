// Entry of every PD worker thread. Plain JavaScript so it runs without a loader: on Node 20 the tsx loader
// of the booting thread does not propagate into worker_threads, so a PD whose program (or whose runtime, when
// isokit runs from its TypeScript sources) is TypeScript registers tsx here first.
import { workerData } from "node:worker_threads";

if (workerData.useTsx) {
  const { register } = await import("tsx/esm/api");
  register();
}
const { runWorker } = await import(workerData.runtimeUrl);
await runWorker();
