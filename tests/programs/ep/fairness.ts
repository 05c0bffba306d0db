// A flooding sender cannot starve another: it fills only its own slot, and the receiver takes one message
// per sender per turn. `normal` makes 1000 calls while `flooder` sends without pause; then the server closes
// the endpoint and the flooder's next send fails with EndpointClosed.
import { call, createEndpoint, debugPrintln, grantCap, isIpcError, lookupCapability, pdName, protectionDomain, receiveBatch, reply, Rights, send } from "../../../src/index.ts";
import { dec, enc } from "./util.ts";

const CALLS = 1000;

function server(): void {
  const { cap } = createEndpoint();
  for (const pd of ["flooder", "normal"]) grantCap(cap.derive(Rights.SEND | Rights.GRANT), pd, Rights.SEND, { name: "ep" });
  let normal = 0;
  let flood = 0;
  let done = false;
  while (!done) {
    for (const m of receiveBatch(cap, 4, { timeout: 20_000 })) {
      if (m.sender === "flooder") flood++;
      else if (dec(m.data) === "done") done = true;
      else normal++;
      if (m.reply !== undefined) reply(m.reply, m.data);
    }
  }
  cap.close(); // closes the endpoint: the flooder's next send fails
  debugPrintln(`normal calls served ${normal}, flooder messages > 0: ${flood > 0}`);
}

function flooder(): void {
  const ep = lookupCapability("ep", { timeout: 20_000 });
  const m = enc("f");
  for (;;) {
    try {
      send(ep, m, { timeout: 20_000 });
    } catch (error) {
      debugPrintln(`stopped by ${isIpcError(error) ? error.code : String(error)}`);
      return;
    }
  }
}

function normal(): void {
  const ep = lookupCapability("ep", { timeout: 20_000 });
  let ok = 0;
  for (let i = 0; i < CALLS; i++) if (dec(call(ep, enc(`n${i}`), { timeout: 20_000 }).data) === `n${i}`) ok++;
  send(ep, enc("done"));
  debugPrintln(`${ok} calls answered with their own data`);
}

export default protectionDomain({
  init() {
    const name = pdName();
    if (name === "server") server();
    else if (name === "flooder") flooder();
    else normal();
  },
});
