// A PD in async wait mode: its event loop runs between events, so a timer set in init() fires, and from it
// the PD makes a protected call.
import { Channel, debugPrintln, getMr, MessageInfo, protectionDomain, setMr } from "../../src/index.ts";

const SERVER = new Channel(13);

export default protectionDomain(
  {
    init() {
      setTimeout(() => {
        setMr(0, 8);
        setMr(1, 9);
        SERVER.ppcall(new MessageInfo(1, 2));
        debugPrintln(`timer fired; server says ${getMr(0)}`);
      }, 10);
    },
  },
  { wait: "async" },
);
