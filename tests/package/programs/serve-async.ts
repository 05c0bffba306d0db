// serve() in a `wait: "async"` PD: the handler awaits a timer before it answers, and calls keep coming in
// order. The client is serve.ts's.
import { debugPrintln, protectionDomain } from "isokit/microkit";
import { createEndpoint, grantCap, Rights, serve } from "isokit/endpoints";

export default protectionDomain(
  {
    init() {
      const { cap } = createEndpoint();
      grantCap(cap, "client", Rights.SEND, { name: "echo" });
      serve(cap, async (m) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        return new Uint8Array([...m.data].reverse());
      });
      debugPrintln("init done");
    },
    notified() {
      debugPrintln("notified");
    },
  },
  { wait: "async" },
);
