// The async forms (receiveAsync, callAsync, sendAsync) in PDs whose loop keeps the event loop running: an
// AbortSignal fired by a timer ends a wait at once, timers run while a PD waits, and a call aborted after the
// server took it is answered late and dropped.
import {
  callAsync,
  createEndpoint,
  debugPrintln,
  grantCap,
  isIpcError,
  lookupCapability,
  pdName,
  protectionDomain,
  receiveAsync,
  reply,
  Rights,
  sendAsync,
} from "../../../src/index.ts";
import { dec, enc } from "./util.ts";

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (error) {
    return isIpcError(error) ? error.code : String(error);
  }
}

async function server(): Promise<void> {
  const { cap } = createEndpoint();
  const abort = new AbortController();
  let ticks = 0;
  const timer = setInterval(() => ticks++, 2);
  setTimeout(() => { abort.abort(new Error("enough")); }, 40);
  debugPrintln(`receiveAsync, aborted by a timer: ${await codeOf(receiveAsync(cap, { signal: abort.signal }))}; timers ran meanwhile: ${ticks > 0}`);
  clearInterval(timer);
  for (const name of ["ep", "side"]) grantCap(cap.derive(Rights.SEND | Rights.GRANT), "client", Rights.SEND, { name });
  const back = lookupCapability("back", { timeout: 20_000 });
  for (;;) {
    const m = await receiveAsync(cap, { timeout: 20_000 });
    const text = dec(m.data);
    debugPrintln(`got ${text}`);
    if (text === "slow") {
      await sendAsync(back, enc("taken"));
      debugPrintln(`then ${dec((await receiveAsync(cap, { timeout: 20_000 })).data)}`);
      debugPrintln(`late reply delivered=${reply(m.reply!, enc("SLOW"))}`);
    } else if (m.reply !== undefined) {
      reply(m.reply, enc(text.toUpperCase()));
    }
    if (text === "bye") return;
  }
}

async function client(): Promise<void> {
  const own = createEndpoint();
  grantCap(own.cap.derive(Rights.SEND | Rights.GRANT), "server", Rights.SEND, { name: "back" });
  const ep = lookupCapability("ep", { timeout: 20_000 });
  const side = lookupCapability("side", { timeout: 20_000 });
  debugPrintln(`callAsync: ${dec((await callAsync(ep, enc("hi"), { timeout: 20_000 })).data)}`);
  const abort = new AbortController();
  const slow = codeOf(callAsync(ep, enc("slow"), { signal: abort.signal }));
  debugPrintln(`server: ${dec((await receiveAsync(own.cap, { timeout: 20_000 })).data)}`); // while the call waits
  abort.abort(new Error("changed my mind"));
  debugPrintln(`callAsync aborted after the server took it: ${await slow}`);
  await sendAsync(side, enc("gave-up"));
  debugPrintln(`the next call gets its own reply: ${dec((await callAsync(ep, enc("fast"), { timeout: 20_000 })).data)}`);
  await sendAsync(ep, enc("bye"));
}

export default protectionDomain(
  {
    init() {
      void (pdName() === "server" ? server() : client());
    },
  },
  { wait: "async" },
);
