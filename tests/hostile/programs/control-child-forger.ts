// A child that posts 1,000 forged fault reports on its control port (it has not faulted), then goes on.
import { parentPort } from "node:worker_threads";
import { protectionDomain } from "../../../src/index.ts";

export default protectionDomain({
  init() {
    for (let i = 0; i < 1000; i++) parentPort?.postMessage({ type: "fault", entry: "init", error: { name: "Error", message: `forged ${i}` } });
  },
});
