// A server whose protected() never returns (label 1), or that exits its worker after a pause (label 2),
// long enough for other callers to be blocked on it too.
import { MessageInfo, protectionDomain } from "../../src/index.ts";

const pause = new Int32Array(new SharedArrayBuffer(4));

export default protectionDomain({
  protected(_channel, info) {
    if (info.label === 2) {
      Atomics.wait(pause, 0, 0, 300);
      process.exit(7);
    }
    for (;;) {
      // spins forever: only the kernel can stop this PD
    }
    return new MessageInfo(0, 0);
  },
});
