// Timeouts and aborts leave both PDs usable, and a reply that comes after its caller gave up is dropped,
// never delivered to the caller's next call.
import { call, createEndpoint, debugPrintln, grantCap, lookupCapability, pdName, protectionDomain, receive, reply, Rights, send } from "../../../src/index.ts";
import { dec, enc, expectCode } from "./util.ts";

function server(): void {
  const { cap } = createEndpoint();
  // Nobody can send yet (the client has no capability): these waits find nothing.
  expectCode("receive, timeout 0", () => receive(cap, { timeout: 0 }));
  expectCode("receive, timeout 30 ms", () => receive(cap, { timeout: 30 }));
  const aborted = new AbortController();
  aborted.abort(new Error("not now"));
  expectCode("receive, aborted signal", () => receive(cap, { signal: aborted.signal }));
  grantCap(cap.derive(Rights.SEND | Rights.GRANT), "client", Rights.SEND, { name: "ep" });
  grantCap(cap.derive(Rights.SEND | Rights.GRANT), "client", Rights.SEND, { name: "side" });
  for (;;) {
    const m = receive(cap, { timeout: 20_000 });
    const text = dec(m.data);
    debugPrintln(`got ${text}`);
    if (text === "slow") {
      // Answer only after the caller has given up (it says so through its other capability): the reply is late.
      debugPrintln(`then ${dec(receive(cap, { timeout: 20_000 }).data)}`);
      debugPrintln(`reply to slow delivered=${reply(m.reply!, enc("SLOW"))}`);
    } else if (m.reply !== undefined) {
      reply(m.reply, enc(text.toUpperCase()));
    }
    if (text === "bye") break;
  }
}

function client(): void {
  const ep = lookupCapability("ep", { timeout: 20_000 });
  expectCode("lookup of a name never granted, timeout 20 ms", () => lookupCapability("nothing", { timeout: 20 }));
  const aborted = new AbortController();
  aborted.abort();
  expectCode("call, aborted signal", () => call(ep, enc("never"), { signal: aborted.signal }));
  const side = lookupCapability("side", { timeout: 20_000 });
  expectCode("call slow, timeout 200 ms", () => call(ep, enc("slow"), { timeout: 200 }));
  send(side, enc("gave-up"));
  // The slot stays with the server until it has answered "slow": this call waits for it, then gets its own reply.
  debugPrintln(`fast reply ${dec(call(ep, enc("fast"), { timeout: 20_000 }).data)}`);
  send(ep, enc("bye"));
}

export default protectionDomain({
  init() {
    if (pdName() === "server") server();
    else client();
  },
});
