// Finding 19: fairness per sender PD. The attacker (ep-fair-attacker.ts) floods the server's endpoint
// through every capability it could connect (up to 1,000 derived); the honest client makes CALLS calls once
// the flood is in full swing. The server counts what it takes, by sender, while the honest client has a call
// waiting (it says so in ctl word 2 just before each call: the number of calls made, this one included).
// ctl words: 0 = the flood is in full swing, 1 = the honest client is done (stop), 2 = as said.
import { call, createEndpoint, debugPrintln, grantCap, lookupCapability, pdName, protectionDomain, receive, reply, Rights, send } from "../../../src/index.ts";
import { codeOf, ctl, dec, enc, setWord, waitWord } from "./ep-common.ts";

export const CALLS = 2000;

function server(): void {
  const { cap } = createEndpoint();
  grantCap(cap.derive(Rights.SEND | Rights.GRANT), "attacker", Rights.SEND, { name: "ep" });
  grantCap(cap.derive(Rights.SEND | Rights.GRANT), "honest", Rights.SEND, { name: "ep" });
  const c = ctl();
  let honest = 0;
  let attacker = 0;
  let total = 0;
  try {
    for (;;) {
      const m = receive(cap, { timeout: 60_000 });
      if (m.sender === "honest") {
        if (dec(m.data) === "done") break;
        honest++;
        if (m.reply !== undefined) reply(m.reply, m.data);
      } else {
        total++;
        if (Atomics.load(c, 2) > honest) attacker++; // an honest call is waiting
      }
    }
  } catch (error) {
    debugPrintln(`receive: ${codeOf(error)}`);
  }
  debugPrintln(`while honest was active: honest ${honest} attacker ${attacker}`);
  debugPrintln(`attacker messages taken in all: ${total}`);
  cap.close(); // ends the flood: the attacker's sends fail EndpointClosed
}

function honest(): void {
  const c = ctl();
  if (!waitWord(c, 0, 60_000)) debugPrintln("the flood never started");
  const ep = lookupCapability("ep", { timeout: 20_000 });
  let right = 0;
  for (let i = 0; i < CALLS; i++) {
    Atomics.store(c, 2, i + 1);
    try {
      if (dec(call(ep, enc(`c${i}`), { timeout: 30_000 }).data) === `c${i}`) right++;
    } catch (error) {
      debugPrintln(`call ${i}: ${codeOf(error)}`);
      break;
    }
  }
  setWord(c, 1);
  send(ep, enc("done"), { timeout: 30_000 });
  debugPrintln(`calls answered right ${right}`);
}

export default protectionDomain({
  init() {
    if (pdName() === "server") server();
    else honest();
  },
});
