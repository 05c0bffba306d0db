// Capabilities carried by messages: all or nothing, never through themselves, installed in the receiver's
// space, and usable there.
import { createEndpoint, debugPrintln, grantCap, lookupCapability, pdName, protectionDomain, receive, Rights, send } from "../../../src/index.ts";
import { dec, enc, expectCode } from "./util.ts";

function server(): void {
  const { cap } = createEndpoint();
  grantCap(cap.derive(Rights.SEND | Rights.GRANT), "client", Rights.SEND | Rights.GRANT, { name: "ep" });
  for (;;) {
    const m = receive(cap, { timeout: 20_000 });
    const text = dec(m.data);
    debugPrintln(`got ${text} with ${m.caps.map((c) => `${c.kind} rights=${c.rights}`).join(", ") || "no capabilities"}`);
    if (m.caps.length > 0) send(m.caps[0]!, enc("thanks"), { timeout: 20_000 });
    if (text === "bye") break;
  }
}

function client(): void {
  const ep = lookupCapability("ep", { timeout: 20_000 });
  const own = createEndpoint();
  const give = own.cap.derive(Rights.SEND | Rights.GRANT);
  const noGrant = own.cap.derive(Rights.SEND);
  expectCode("grant one good and one without GRANT", () => { send(ep, enc("two"), { grant: [give, noGrant] }); });
  expectCode("grant a capability through itself", () => { send(ep, enc("self"), { grant: [ep] }); });
  expectCode("grant the receiving capability", () => { send(ep, enc("recv"), { grant: [own.cap] }); });
  send(ep, enc("one"), { grant: [give] });
  const m = receive(own.cap, { timeout: 20_000 });
  debugPrintln(`got ${dec(m.data)} from ${m.sender}`);
  send(ep, enc("bye"));
}

export default protectionDomain({
  init() {
    if (pdName() === "server") server();
    else client();
  },
});
