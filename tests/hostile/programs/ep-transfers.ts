// Finding 14: transfers without messages. The attacker makes 20,000 raw `transfer` syscalls through its
// connected slot (each carrying a capability it may grant) and never publishes a message. The kernel must
// not pile them up in the receiver's space (the server takes nothing meanwhile); then an honest client's
// calls are served. ctl word 0: attack done.
import { call, createEndpoint, debugPrintln, grantCap, lookupCapability, pdName, protectionDomain, receive, reply, Rights, send } from "../../../src/index.ts";
import { codeOf, count, ctl, dec, enc, rawClient, setWord, tally, waitWord } from "./ep-common.ts";

export const TRANSFERS = 20_000;
export const CALLS = 10;

function server(): void {
  const { cap } = createEndpoint();
  grantCap(cap.derive(Rights.SEND | Rights.GRANT), "attacker", Rights.SEND, { name: "ep" });
  grantCap(cap.derive(Rights.SEND | Rights.GRANT), "honest", Rights.SEND, { name: "ep" });
  // Busy elsewhere while the attack runs (it takes nothing): whatever the transfers leave, they leave at once.
  if (!waitWord(ctl(), 0, 60_000)) debugPrintln("the attack never ended");
  let answered = 0;
  try {
    for (;;) {
      const m = receive(cap, { timeout: 60_000 });
      if (m.sender !== "honest") continue;
      if (dec(m.data) === "bye") break;
      if (m.reply !== undefined && reply(m.reply, enc(`re ${dec(m.data)}`))) answered++;
    }
  } catch (error) {
    debugPrintln(`receive: ${codeOf(error)}`);
  }
  debugPrintln(`answered honest ${answered}`);
}

function attacker(): void {
  const c = ctl();
  const ep = lookupCapability("ep", { timeout: 20_000 });
  try {
    send(ep, enc("hello"), { timeout: 0 }); // connects its slot
  } catch {
    // WouldBlock or Timeout: connected all the same
  }
  const gift = createEndpoint().cap.derive(Rights.SEND | Rights.GRANT);
  const raw = rawClient().link;
  const codes = new Map<string, number>();
  for (let i = 0; i < TRANSFERS; i++) {
    try {
      raw.syscall({ op: "transfer", through: ep.token, tokens: [gift.token], move: false });
      count(codes, "ok");
    } catch (error) {
      count(codes, codeOf(error));
    }
  }
  debugPrintln(`transfers: ${tally(codes)}`);
  setWord(c, 0);
}

function honest(): void {
  const c = ctl();
  if (!waitWord(c, 0, 60_000)) debugPrintln("the attack never ended");
  const ep = lookupCapability("ep", { timeout: 20_000 });
  let right = 0;
  for (let i = 0; i < CALLS; i++) {
    try {
      if (dec(call(ep, enc(`q${i}`), { timeout: 20_000 }).data) === `re q${i}`) right++;
    } catch (error) {
      debugPrintln(`call ${i}: ${codeOf(error)}`);
    }
  }
  send(ep, enc("bye"), { timeout: 20_000 });
  debugPrintln(`calls answered right ${right}`);
}

export default protectionDomain({
  init() {
    if (pdName() === "server") server();
    else if (pdName() === "attacker") attacker();
    else honest();
  },
});
