// A client that keeps calling: a ppcall to the test server every 20 ms, from a timer (async wait mode keeps
// its event loop running), until the system stops. The dashboard test watches its counters move.
import { Channel, MessageInfo, protectionDomain, setMr } from "../../../src/index.ts";

const SERVER = new Channel(13);

export default protectionDomain(
  {
    init() {
      setInterval(() => {
        setMr(0, 6);
        setMr(1, 7);
        SERVER.ppcall(new MessageInfo(1, 2));
      }, 20);
    },
  },
  { wait: "async" },
);
