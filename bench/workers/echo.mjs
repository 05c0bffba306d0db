// postMessage echo for main <-> worker cases: returns every message it gets. An ArrayBuffer goes back in the
// transfer list (it arrived transferred, so nothing is copied either way); anything else is cloned back.
import { parentPort } from "node:worker_threads";

parentPort.on("message", (m) => {
  if (m instanceof ArrayBuffer) parentPort.postMessage(m, [m]);
  else parentPort.postMessage(m);
});
parentPort.postMessage({ ready: true });
