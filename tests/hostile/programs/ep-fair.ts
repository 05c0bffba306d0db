// Finding 19: fairness per sender PD. The attacker (ep-fair-attacker.ts) floods the server's endpoint
// through every capability it could connect (up to 1,000 derived); the honest client makes CALLS calls once
// the flood is in full swing. After each attacker message it takes, the server looks (through its runtime's
// own records) whether an honest call is already published and not yet taken, and counts, per honest call,
// the attacker messages it took meanwhile. Served by sender PD, that is at most one per call, however many
// slots the attacker fills; served by slot (the old code), up to one per full attacker slot.
// ctl words: 0 = the flood is in full swing, 1 = the honest client is done (stop).
import { call, createEndpoint, debugPrintln, grantCap, lookupCapability, pdName, protectionDomain, receive, reply, Rights, send } from "../../../src/index.ts";
import { SLOT_I32, SlotState } from "../../../src/protocol/endpoint.ts";
import { codeOf, ctl, dec, enc, rawClient, setWord, waitWord } from "./ep-common.ts";

/** The server runtime's record of a sender's slots (src/ipc/client.ts ReceiverSlot, the fields read here). */
interface SlotRecord {
  readonly sender: string;
  readonly i32: Int32Array;
  readonly outstanding: boolean;
}

export const CALLS = 2000;

function server(): void {
  const { id, cap } = createEndpoint();
  grantCap(cap.derive(Rights.SEND | Rights.GRANT), "attacker", Rights.SEND, { name: "ep" });
  grantCap(cap.derive(Rights.SEND | Rights.GRANT), "honest", Rights.SEND, { name: "ep" });
  const records = (rawClient().endpoints.get(id) as unknown as { slots: readonly SlotRecord[] }).slots;
  /** An honest call is published and this server has not taken it yet. */
  const honestWaiting = (): boolean =>
    records.some((r) => r.sender === "honest" && !r.outstanding && Atomics.load(r.i32, SLOT_I32.STATE) === SlotState.CALLED);
  let honest = 0;
  let total = 0;
  let ahead = 0; // attacker messages taken while the current honest call waited
  let worst = 0;
  let overtaken = 0;
  try {
    for (;;) {
      const m = receive(cap, { timeout: 60_000 });
      if (m.sender === "honest") {
        if (dec(m.data) === "done") break;
        honest++;
        worst = Math.max(worst, ahead);
        overtaken += ahead;
        ahead = 0;
        if (m.reply !== undefined) reply(m.reply, m.data);
      } else {
        total++;
        if (honestWaiting()) ahead++;
      }
    }
  } catch (error) {
    debugPrintln(`receive: ${codeOf(error)}`);
  }
  debugPrintln(`honest calls ${honest}; attacker messages taken while one waited: at most ${worst} per call, ${overtaken} in all`);
  debugPrintln(`attacker messages taken in all: ${total}`);
  cap.close(); // ends the flood: the attacker's sends fail EndpointClosed
}

function honest(): void {
  const c = ctl();
  if (!waitWord(c, 0, 60_000)) debugPrintln("the flood never started");
  const ep = lookupCapability("ep", { timeout: 20_000 });
  let right = 0;
  for (let i = 0; i < CALLS; i++) {
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
