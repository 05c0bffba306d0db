// Bounded channels (createChannel): per-sender queues, QueueFull when full, order kept, waiting for room,
// and a revoke that discards what is still queued.
import { createChannel, createEndpoint, debugPrintln, grantCap, lookupCapability, pdName, protectionDomain, receive, Rights, send } from "../../../src/index.ts";
import { dec, enc, expectCode } from "./util.ts";

const ALL = Rights.SEND | Rights.GRANT | Rights.REVOKE;

function server(): void {
  const ctl = createEndpoint();
  const channel = createChannel(4);
  const forClient = channel.receive.derive(ALL);
  grantCap(ctl.cap.derive(Rights.SEND | Rights.GRANT), "client", Rights.SEND, { name: "ctl" });
  grantCap(forClient, "client", Rights.SEND, { name: "ch" });
  debugPrintln(`ctl: ${dec(receive(ctl.cap, { timeout: 20_000 }).data)}`); // the client filled its queue
  const first = [0, 1, 2, 3].map(() => dec(receive(channel.receive, { timeout: 20_000 }).data));
  debugPrintln(`queued: ${first.join(" ")}`);
  let inOrder = 0;
  for (let i = 0; i < 1000; i++) if (dec(receive(channel.receive, { timeout: 20_000 }).data) === `m${i}`) inOrder++;
  debugPrintln(`then ${inOrder} of 1000 in order`);
  debugPrintln(`ctl: ${dec(receive(ctl.cap, { timeout: 20_000 }).data)}`); // full again
  debugPrintln(`revoked ${forClient.revoke()}`);
  expectCode("queued messages after the revoke", () => receive(channel.receive, { timeout: 100 }));
  debugPrintln(`ctl: ${dec(receive(ctl.cap, { timeout: 20_000 }).data)}`);
}

function client(): void {
  const ctl = lookupCapability("ctl", { timeout: 20_000 });
  const ch = lookupCapability("ch", { timeout: 20_000 });
  for (const m of ["a", "b", "c", "d"]) send(ch, enc(m), { timeout: 0 });
  expectCode("a fifth message, timeout 0", () => { send(ch, enc("e"), { timeout: 0 }); });
  expectCode("65 bytes through a channel", () => { send(ch, new Uint8Array(65)); });
  send(ctl, enc("full"));
  for (let i = 0; i < 1000; i++) send(ch, enc(`m${i}`), { timeout: 20_000 }); // waits for room as the server takes
  for (const m of ["w", "x", "y", "z"]) send(ch, enc(m), { timeout: 20_000 });
  send(ctl, enc("full again"));
  // The server revokes while these four are queued; the next send learns of it.
  for (;;) {
    try {
      send(ch, enc("after"), { timeout: 20_000 });
    } catch (error) {
      expectCode("send after the revoke", () => { throw error; });
      break;
    }
  }
  send(ctl, enc("done"));
}

export default protectionDomain({
  init() {
    if (pdName() === "server") server();
    else client();
  },
});
