// A PD that notifies as fast as it can: 200,000 notifies, each a trace record, far more than its ring holds
// between two of the kernel's drains. Its ring must drop and count; the kernel's memory must stay bounded.
import { Channel, debugPrintln, protectionDomain } from "../../../src/index.ts";

const PEER = new Channel(0);

export default protectionDomain({
  init() {
    for (let i = 0; i < 200_000; i++) PEER.notify();
    debugPrintln("flood done");
  },
});
