// Findings 5 and 18: authority follows capabilities, never names. A PD connected to nobody ("interceptor",
// "pusher") tries to grant into another PD by name: a capability under the name an honest client looks up,
// capabilities and moved buffers by the hundred. The `ctl` region (not a relation) only orders the steps:
// word 0 = the server granted "echo", word 1 = the interceptor tried.
import {
  call,
  createEndpoint,
  debugPrintln,
  grantCap,
  lookupCapability,
  moveBuffer,
  pdName,
  protectionDomain,
  receive,
  reply,
  Rights,
} from "../../../src/index.ts";
import { codeOf, codeOfCall, count, ctl, dec, enc, expectCode, setWord, tally, waitWord } from "./ep-common.ts";

function server(): void {
  const c = ctl();
  const { cap } = createEndpoint();
  grantCap(cap.derive(Rights.SEND | Rights.GRANT), "client", Rights.SEND, { name: "echo" });
  setWord(c, 0);
  try {
    const m = receive(cap, { timeout: 10_000 });
    reply(m.reply!, enc(`server:${dec(m.data)}`.toUpperCase()));
    debugPrintln(`answered ${dec(m.data)} from ${m.sender}`);
  } catch (error) {
    debugPrintln(`receive: ${codeOf(error)}`);
  }
}

function interceptor(): void {
  const c = ctl();
  if (!waitWord(c, 0, 20_000)) debugPrintln("the server never granted");
  const own = createEndpoint();
  const code = expectCode("grant 'echo' into client", () => grantCap(own.cap.derive(Rights.SEND | Rights.GRANT), "client", Rights.SEND, { name: "echo" }));
  setWord(c, 1);
  if (code !== "ok") return;
  try {
    const m = receive(own.cap, { timeout: 10_000 });
    debugPrintln(`intercepted ${dec(m.data)}`);
    if (m.reply !== undefined) reply(m.reply, enc("FORGED"));
  } catch (error) {
    debugPrintln(`receive: ${codeOf(error)}`);
  }
}

function client(): void {
  const c = ctl();
  if (!waitWord(c, 1, 20_000)) debugPrintln("the interceptor never tried");
  try {
    const echo = lookupCapability("echo", { from: "server", timeout: 10_000 });
    debugPrintln(`echo granted by ${String(echo.grantedBy)}`);
    debugPrintln(`reply ${dec(call(echo, enc("secret"), { timeout: 10_000 }).data)}`);
  } catch (error) {
    debugPrintln(`lookup or call: ${codeOf(error)}`);
  }
}

function pusher(): void {
  const own = createEndpoint();
  const grants = new Map<string, number>();
  for (let i = 0; i < 100; i++) count(grants, codeOfCall(() => grantCap(own.cap, "victim", Rights.SEND, { name: `pushed-${i}` })));
  debugPrintln(`grants into victim: ${tally(grants)}`);
  const moved = new Map<string, number>();
  for (let i = 0; i < 10; i++) count(moved, codeOfCall(() => { moveBuffer(new ArrayBuffer(1 << 20), "victim", `buffer-${i}`); }));
  debugPrintln(`moved buffers into victim: ${tally(moved)}`);
}

export default protectionDomain({
  init() {
    switch (pdName()) {
      case "server":
        server();
        break;
      case "interceptor":
        interceptor();
        break;
      case "client":
        client();
        break;
      case "pusher":
        pusher();
        break;
      default: // the victim: holds nothing, does nothing
    }
  },
});
