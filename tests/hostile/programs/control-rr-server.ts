// Serves calls on its channels 0, 1 and 2 and prints the channel of each call it serves. A call on channel 1
// is a gate: it marks MR63 of channel 1 (the caller watches for it) and waits, bounded, until calls are
// pending on both 0 and 2, so the next call it serves shows which end its scan prefers.
import { workerData } from "node:worker_threads";
import { debugPrintln, MessageInfo, protectionDomain } from "../../../src/index.ts";
import { layout, type PdBootData } from "../../../src/internal.ts";

const MARK = layout.CHANNEL.MRS / 4 + 126;

export default protectionDomain({
  protected(channel) {
    debugPrintln(`served ${channel.index}`);
    if (channel.index === 1) {
      const boot = workerData as PdBootData;
      const state = (id: number): number => Atomics.load(new Int32Array(boot.ends.find((e) => e.id === id)!.buffer), layout.CHANNEL_I32.CALL_STATE);
      Atomics.store(new Int32Array(boot.ends.find((e) => e.id === 1)!.buffer), MARK, 1);
      const deadline = Date.now() + 5000;
      while ((state(0) !== layout.CallState.CALLED || state(2) !== layout.CallState.CALLED) && Date.now() < deadline);
    }
    return new MessageInfo(0, 0);
  },
});
