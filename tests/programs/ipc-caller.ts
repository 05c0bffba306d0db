// A caller on a real worker thread, driven by tests/ipc-death.test.ts: the real IpcClient over a real kernel
// port, without a PD runtime around it. For each round it looks up `ep-<round>`, calls it, and reports how the
// call ended.
import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import { IpcClient } from "../../src/ipc/client.ts";
import { isIpcError } from "../../src/index.ts";
import { WorkerKernelLink } from "../../src/pd/kernel-link.ts";

interface Data {
  readonly name: string;
  readonly port: MessagePort;
  readonly control: SharedArrayBuffer;
  readonly doorbell: SharedArrayBuffer;
  readonly kernelBell: SharedArrayBuffer;
}

const data = workerData as Data;
const link = new WorkerKernelLink(data.name, data.port, new Int32Array(data.control), new Int32Array(data.kernelBell), new Int32Array(data.doorbell), { spinMicros: 20, sliceMs: 50 }, () => {
  throw new Error("stopped");
});
const client = new IpcClient(link);

parentPort!.on("message", (round: number) => {
  let outcome: string;
  try {
    const cap = client.lookupCapability(`ep-${round}`, { timeout: 20_000 });
    client.call(cap, new Uint8Array([round & 0xff]), { timeout: 20_000 });
    outcome = "answered";
  } catch (error) {
    outcome = isIpcError(error) ? error.code : String(error);
  }
  parentPort!.postMessage({ round, outcome });
});
parentPort!.postMessage({ ready: true });
