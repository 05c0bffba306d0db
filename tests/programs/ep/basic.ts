// Seed 002's simple client-server, plus the API's errors. `server` creates an endpoint, grants a badged
// SEND|GRANT capability to `client` under the name "echo", and answers calls until "bye".
import {
  call,
  capabilityFromToken,
  createEndpoint,
  debugPrintln,
  getPerformanceStats,
  grantCap,
  lookupCapability,
  pdName,
  protectionDomain,
  receive,
  receiveBatch,
  reply,
  Rights,
  send,
} from "../../../src/index.ts";
import { dec, enc, expectCode } from "./util.ts";

function server(): void {
  const { id, cap } = createEndpoint();
  debugPrintln(`endpoint ${id} rights=${cap.rights}`);
  const badged = cap.derive(Rights.SEND | Rights.GRANT, { badge: 7 });
  grantCap(badged, "client", Rights.SEND | Rights.GRANT, { name: "echo" });
  let done = false;
  while (!done) {
    // receiveBatch: one sender here, so batches of one; it waits for the first like receive
    for (const m of receiveBatch(cap, 8, { timeout: 20_000 })) {
      const text = dec(m.data);
      debugPrintln(`got ${text} label=${m.label} badge=${m.badge} from=${m.sender} call=${m.reply !== undefined}`);
      if (m.reply !== undefined) reply(m.reply, enc(text.toUpperCase()), { label: m.label + 1 });
      if (text === "bye") done = true;
    }
  }
  expectCode("receive after bye, timeout 0", () => receive(cap, { timeout: 0 }));
}

function client(): void {
  const echo = lookupCapability("echo", { timeout: 20_000 });
  debugPrintln(`echo rights=${echo.rights} badge=${echo.badge}`);
  const r = call(echo, enc("hello"), { label: 5 });
  debugPrintln(`reply ${dec(r.data)} label=${r.label}`);
  send(echo, enc("note"));
  expectCode("65 bytes", () => call(echo, new Uint8Array(65)));
  expectCode("receive without RECEIVE", () => receive(echo));
  expectCode("derive wider", () => echo.derive(Rights.SEND | Rights.RECEIVE));
  expectCode("random token", () => capabilityFromToken(0x0001_0001_0000_0077n));
  expectCode("grant RECEIVE to another PD", () => grantCap(echo, "server", Rights.SEND | Rights.RECEIVE));
  const narrow = echo.derive(Rights.SEND);
  expectCode("grant without GRANT", () => grantCap(narrow, "server", Rights.SEND));
  narrow.close();
  expectCode("send through a closed capability", () => { send(narrow, enc("x")); });
  const stats = getPerformanceStats();
  debugPrintln(`stats ops=${stats.totalOperations} p50>0=${stats.p50LatencyNs > 0}`);
  send(echo, enc("bye"));
}

export default protectionDomain({
  init() {
    if (pdName() === "server") server();
    else client();
  },
});
