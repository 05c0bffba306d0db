// Quotas per sender: a connected 'squatter' grants into the 'client' until its own quota is used up and then
// says so (ctl word 10); only then does the 'server' grant the client its endpoint. The honest grant must get
// through: one granter's quota toward a PD is its own, not the PD's.
import { createEndpoint, debugPrintln, grantCap, isIpcError, lookupCapability, call, protectionDomain, pdName, receive, reply, Rights } from "../../../src/index.ts";
import { ctl, setWord, waitWord } from "./ep-common.ts";

const SQUATTED = 10;
const DONE = 11;

function squatter(): void {
  const own = createEndpoint();
  let granted = 0;
  let refusal = "none";
  for (let i = 0; i < 1000; i++) {
    try {
      grantCap(own.cap, "client", Rights.SEND, { name: `junk${i}` });
      granted++;
    } catch (error) {
      refusal = isIpcError(error) ? error.code : String(error);
      break;
    }
  }
  debugPrintln(`granted ${granted} then ${refusal}`);
  setWord(ctl(), SQUATTED, 1);
  waitWord(ctl(), DONE, 20_000); // stays alive, holding its grants, until the client is done
}

function server(): void {
  if (!waitWord(ctl(), SQUATTED, 20_000)) debugPrintln("the squatter never finished");
  const { cap } = createEndpoint();
  grantCap(cap.derive(Rights.SEND | Rights.GRANT), "client", Rights.SEND, { name: "ep" });
  const m = receive(cap, { timeout: 20_000 });
  reply(m.reply!, m.data);
  debugPrintln("answered");
}

function client(): void {
  const ep = lookupCapability("ep", { timeout: 20_000, from: "server" });
  const answer = call(ep, new TextEncoder().encode("hi"), { timeout: 20_000 });
  debugPrintln(`reply ${new TextDecoder().decode(answer.data)}`);
  setWord(ctl(), DONE, 1);
}

export default protectionDomain({
  init() {
    const name = pdName();
    if (name === "squatter") squatter();
    else if (name === "server") server();
    else client();
  },
});
