// serve() under a hostile client. `server` serves an echo endpoint with serve() from init(); `attacker` floods
// it with sends and calls it gives up on at once (so the server's replies find the caller gone), then throws
// out of init() with calls abandoned; `honest` makes CALLS calls meanwhile and checks each reply is its own.
import { debugPrintln, pdName, protectionDomain } from "isokit/microkit";
import { call, createEndpoint, grantCap, lookupCapability, Rights, send, serve } from "isokit/endpoints";
import { isIpcError } from "isokit";

const CALLS = 200; // tests/hostile/serve.test.ts expects this many
const FLOOD = 3000;

function server(): void {
  const { cap } = createEndpoint();
  grantCap(cap.derive(Rights.SEND | Rights.GRANT), "attacker", Rights.SEND, { name: "echo" });
  grantCap(cap.derive(Rights.SEND | Rights.GRANT), "honest", Rights.SEND, { name: "echo" });
  serve(cap, (m) => m.data);
}

function attacker(): void {
  const echo = lookupCapability("echo", { from: "server", timeout: 20_000 });
  const junk = new Uint8Array(64).fill(0xff);
  const codes = new Map<string, number>();
  for (let i = 0; i < FLOOD; i++) {
    try {
      if (i % 2 === 0) send(echo, junk, { timeout: 1 });
      else call(echo, junk, { timeout: 0 });
    } catch (error) {
      if (!isIpcError(error)) throw error;
      codes.set(error.code, (codes.get(error.code) ?? 0) + 1);
    }
  }
  debugPrintln(`flooded ${FLOOD}`);
  throw new Error("the attacker quits mid-flood");
}

function honest(): void {
  const echo = lookupCapability("echo", { from: "server", timeout: 20_000 });
  let right = 0;
  for (let i = 0; i < CALLS; i++) {
    const mine = new TextEncoder().encode(`honest ${i}`);
    const reply = call(echo, mine, { timeout: 20_000 });
    if (new TextDecoder().decode(reply.data) === `honest ${i}`) right++;
  }
  debugPrintln(`${right}/${CALLS} answered with their own bytes`);
}

export default protectionDomain({
  init() {
    const role = pdName();
    if (role === "server") server();
    else if (role === "attacker") attacker();
    else honest();
  },
});
