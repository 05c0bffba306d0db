// Holds channels 0, 1 and 2 (with pp) to the rr-server and drives it through the channel buffers directly:
// each round a call on 1 (the gate), then, once the server is inside it, calls on 0 and 2 together.
import { workerData } from "node:worker_threads";
import { debugPrintln, protectionDomain } from "../../../src/index.ts";
import { layout, type PdBootData } from "../../../src/internal.ts";
import { rawCall } from "./raw-call.ts";

const MARK = layout.CHANNEL.MRS / 4 + 126;
const C = layout.CHANNEL_I32;

export default protectionDomain({
  init() {
    const boot = workerData as PdBootData;
    const ch = (id: number): Int32Array => new Int32Array(boot.ends.find((e) => e.id === id)!.buffer);
    const bell = new Int32Array(boot.ends[0]!.peerDoorbell);
    const call = (i32: Int32Array): void => {
      rawCall(i32, bell);
    };
    const deadline = Date.now() + 20_000;
    const waitFor = (done: () => boolean): boolean => {
      while (!done()) if (Date.now() > deadline) return false;
      return true;
    };
    for (let round = 0; round < 20; round++) {
      Atomics.store(ch(1), MARK, 0);
      call(ch(1));
      if (!waitFor(() => Atomics.load(ch(1), MARK) === 1)) break;
      call(ch(0));
      call(ch(2));
      if (!waitFor(() => [0, 1, 2].every((id) => Atomics.load(ch(id), C.CALL_STATE) === layout.CallState.REPLIED))) break;
    }
    debugPrintln("done");
  },
});
