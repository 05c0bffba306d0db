// postMessage echo: returns every message it gets.
import { parentPort } from "node:worker_threads";

parentPort.on("message", (m) => parentPort.postMessage(m));
