// Reports a fault whose error record claims a code isokit does not have, with a 100,000-character message.
import { parentPort } from "node:worker_threads";
import { protectionDomain } from "../../../src/index.ts";

export default protectionDomain({
  init() {
    parentPort?.postMessage({ type: "fault", entry: "init", error: { name: "IpcError", message: "m".repeat(100_000), code: "NotARealCode", details: { pd: "someone-else" } } });
    for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50); // as a faulted PD waits for its end
  },
});
