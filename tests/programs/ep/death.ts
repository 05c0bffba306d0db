// A receiver that dies with calls in hand: every caller wakes with PeerDied, none hangs.
import { call, createEndpoint, debugPrintln, grantCap, lookupCapability, pdName, protectionDomain, receive, Rights, send } from "../../../src/index.ts";
import { enc, expectCode } from "./util.ts";

const CALLERS = ["c1", "c2", "c3"];

function server(): void {
  const { cap } = createEndpoint();
  for (const c of CALLERS) grantCap(cap.derive(Rights.SEND | Rights.GRANT), c, Rights.SEND, { name: "ep" });
  for (let i = 0; i < CALLERS.length; i++) receive(cap, { timeout: 20_000 }); // take every call, answer none
  debugPrintln(`took ${CALLERS.length} calls`);
  throw new Error("server dies with calls in hand");
}

function caller(): void {
  const ep = lookupCapability("ep", { timeout: 20_000 });
  expectCode("call", () => call(ep, enc("x"), { timeout: 20_000 }));
  expectCode("send after", () => { send(ep, enc("y"), { timeout: 20_000 }); });
}

export default protectionDomain({
  init() {
    if (pdName() === "server") server();
    else caller();
  },
});
