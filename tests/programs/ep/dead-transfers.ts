// Capabilities carried by messages that are never taken: `client` sends 200 messages carrying a capability
// with timeout 0 while `server` is not receiving (each is withdrawn), then one the server takes. The withdrawn
// messages' capabilities must not pile up in the server's space (the test counts the kernel's capabilities).
import { createEndpoint, debugPrintln, grantCap, isIpcError, lookupCapability, pdName, protectionDomain, receive, Rights, send } from "../../../src/index.ts";
import { dec, enc } from "./util.ts";

const WITHDRAWN = 200;

function server(): void {
  const ep = createEndpoint();
  const ctl = createEndpoint();
  grantCap(ep.cap.derive(Rights.SEND | Rights.GRANT), "client", Rights.SEND | Rights.GRANT, { name: "ep" });
  grantCap(ctl.cap.derive(Rights.SEND | Rights.GRANT), "client", Rights.SEND, { name: "ctl" });
  receive(ctl.cap, { timeout: 20_000 }); // the client has withdrawn its messages
  const m = receive(ep.cap, { timeout: 20_000 });
  debugPrintln(`took ${dec(m.data)} with ${m.caps.length} capability`);
}

function client(): void {
  const ep = lookupCapability("ep", { timeout: 20_000 });
  const ctl = lookupCapability("ctl", { timeout: 20_000 });
  const own = createEndpoint();
  const give = own.cap.derive(Rights.SEND | Rights.GRANT);
  let withdrawn = 0;
  for (let i = 0; i < WITHDRAWN; i++) {
    try {
      send(ep, enc("never taken"), { grant: [give], timeout: 0 });
    } catch (error) {
      if (!isIpcError(error, "WouldBlock") && !isIpcError(error, "Timeout")) throw error;
      withdrawn++;
    }
  }
  send(ctl, enc("done"));
  send(ep, enc("last"), { grant: [give] });
  debugPrintln(`withdrawn ${withdrawn}`);
}

export default protectionDomain({
  init() {
    if (pdName() === "server") server();
    else client();
  },
});
