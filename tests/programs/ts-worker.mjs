// Runs a TypeScript module in a worker thread: on Node 20 the tsx loader does not propagate into workers.
import { workerData } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
await import(workerData.module);
