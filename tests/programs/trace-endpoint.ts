// For tests/trace.test.ts: synchronous endpoint calls in a traced system, taken by the receive loop (spinning
// for them, or not). "a" and "b" each make CALLS calls to "server"'s endpoint, call i with label i + 1;
// "server" answers each with the call's label + 1000: the first 2 x CALLS/2 calls two at a time, taking two
// before it answers either (so it takes a call while it still holds one), the rest with replyRecv (so its first
// poll after each reply may take the next).
import { call, createEndpoint, debugPrintln, grantCap, lookupCapability, pdName, protectionDomain, receive, reply, replyRecv, Rights } from "../../src/index.ts";

export const CALLS = 200;

function server(): void {
  const { cap } = createEndpoint();
  for (const pd of ["a", "b"]) grantCap(cap.derive(Rights.SEND | Rights.GRANT), pd, Rights.SEND, { name: "ep" });
  for (let n = 0; n < CALLS / 2; n++) {
    const first = receive(cap, { timeout: 20_000 });
    const second = receive(cap, { timeout: 20_000 });
    for (const m of [first, second]) reply(m.reply!, m.data, { label: m.label + 1000 });
  }
  let m = receive(cap, { timeout: 20_000 });
  for (let n = 1; n < CALLS; n++) m = replyRecv(m.reply!, m.data, cap, { timeout: 20_000, label: m.label + 1000 });
  reply(m.reply!, m.data, { label: m.label + 1000 });
  debugPrintln(`server answered ${2 * CALLS}`);
}

function client(): void {
  const ep = lookupCapability("ep", { timeout: 10_000 });
  let wrong = 0;
  for (let i = 0; i < CALLS; i++) if (call(ep, new Uint8Array([i & 0xff]), { label: i + 1 }).label !== i + 1001) wrong++;
  debugPrintln(`${pdName()} made ${CALLS} calls, ${wrong} wrong`);
}

export default protectionDomain({
  init() {
    if (pdName() === "server") server();
    else client();
  },
});
