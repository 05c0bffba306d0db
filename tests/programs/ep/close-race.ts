// A message taken (or answered) just before its endpoint closes: `server` makes a fresh endpoint per round,
// takes one message through it, answers it if it is a call, and closes the endpoint at once; `client` sends
// (even rounds) or calls (odd rounds). Every send must end delivered and every call answered, however the
// close races the sender's look at its slot: the message got through.
import {
  call,
  createEndpoint,
  debugPrintln,
  grantCap,
  isIpcError,
  lookupCapability,
  pdName,
  protectionDomain,
  receive,
  reply,
  Rights,
  send,
} from "../../../src/index.ts";
import { dec, enc } from "./util.ts";

const ROUNDS = 400;

function server(): void {
  let taken = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const { cap } = createEndpoint();
    grantCap(cap.derive(Rights.SEND | Rights.GRANT), "client", Rights.SEND, { name: `ep${r}` });
    const m = receive(cap, { timeout: 20_000 });
    if (dec(m.data) === `m${r}`) taken++;
    if (m.reply !== undefined) reply(m.reply, enc(`r${r}`));
    cap.close(); // at once: the client may not have looked at its slot yet
  }
  debugPrintln(`took ${taken} of ${ROUNDS}`);
}

function client(): void {
  let delivered = 0;
  let answered = 0;
  const errors = new Map<string, number>();
  for (let r = 0; r < ROUNDS; r++) {
    const ep = lookupCapability(`ep${r}`, { timeout: 20_000 });
    try {
      if (r % 2 === 0) {
        send(ep, enc(`m${r}`));
        delivered++;
      } else if (dec(call(ep, enc(`m${r}`)).data) === `r${r}`) answered++;
    } catch (error) {
      const code = isIpcError(error) ? error.code : String(error);
      errors.set(code, (errors.get(code) ?? 0) + 1);
    }
  }
  debugPrintln(`sends delivered ${delivered}, calls answered ${answered}, errors ${JSON.stringify([...errors])}`);
}

export default protectionDomain({
  init() {
    if (pdName() === "server") server();
    else client();
  },
});
