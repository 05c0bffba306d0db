// The honest client: once the hostile one is done, calls the service through its stub and lends a value; the
// server must still answer both.
import { Channel, debugPrintln, getMr, isIpcError, lend, lendable, memoryRegion, protectionDomain } from "../../../src/index.ts";
import { Add, Counter } from "./l4-shared.ts";

export default protectionDomain({
  notified() {
    try {
      debugPrintln(`add: ${Add.client(new Channel(3)).call({ a: 2, b: 40 }).sum}`);
      const view = lendable(Counter, memoryRegion("lent"), 256);
      view.$set({ count: 7, note: "honest" });
      const reply = lend(new Channel(4), 1, view);
      debugPrintln(`lend: label ${reply.label} count ${getMr(0)}`);
    } catch (error) {
      debugPrintln(`threw ${isIpcError(error) ? error.code : String(error)}`);
    }
  },
});
