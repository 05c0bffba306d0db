// A reply to a caller that died while its call was taken: `replyInto` and `reply` return false (the kernel leaves
// a taken call CALLED, and marks the dead caller's slot SENDER_DEAD in the guard, which no sender can write).
// `server` takes a call from `v1` into a MessageBuffer and one from `v2` with a copying receive, tells each it
// has it, waits until both are gone, then answers both.
import {
  callAsync,
  createEndpoint,
  debugPrintln,
  grantCap,
  isIpcError,
  lookupCapability,
  MessageBuffer,
  pdName,
  processId,
  protectionDomain,
  receive,
  receiveAsync,
  receiveInto,
  reply,
  replyInto,
  Rights,
  send,
} from "../../../src/index.ts";
import { enc, sleepMs } from "./util.ts";

function gone(name: string): boolean {
  try {
    processId(name);
    return false;
  } catch (error) {
    if (isIpcError(error, "ProcessNotFound")) return true;
    throw error;
  }
}

function server(): void {
  const ep1 = createEndpoint().cap;
  const ep2 = createEndpoint().cap;
  grantCap(ep1.derive(Rights.SEND | Rights.GRANT), "v1", Rights.SEND, { name: "ep" });
  grantCap(ep2.derive(Rights.SEND | Rights.GRANT), "v2", Rights.SEND, { name: "ep" });
  const buf = new MessageBuffer();
  receiveInto(ep1, buf, { timeout: 20_000 });
  const m = receive(ep2, { timeout: 20_000 });
  debugPrintln(`holds both calls: ${buf.holdsCall && m.reply !== undefined}`);
  for (const v of ["v1", "v2"]) send(lookupCapability(`back-${v}`, { timeout: 20_000 }), enc("taken"));
  for (let i = 0; i < 4000 && !(gone("v1") && gone("v2")); i++) sleepMs(5);
  debugPrintln(`both gone: ${gone("v1") && gone("v2")}`);
  debugPrintln(`replyInto a dead caller: ${replyInto(buf)}`);
  debugPrintln(`reply to a dead caller: ${reply(m.reply!, enc("late"))}`);
}

async function victim(): Promise<void> {
  const own = createEndpoint();
  grantCap(own.cap.derive(Rights.SEND | Rights.GRANT), "server", Rights.SEND, { name: `back-${pdName()}` });
  const ep = lookupCapability("ep", { timeout: 20_000 });
  callAsync(ep, enc("never answered")).catch(() => undefined);
  await receiveAsync(own.cap, { timeout: 20_000 }); // the server holds the call
  setTimeout(() => {
    throw new Error(`${pdName()} dies with its call taken`);
  }, 0);
}

export default protectionDomain(
  {
    init() {
      if (pdName() === "server") server();
      else void victim();
    },
  },
  { wait: "async" },
);
