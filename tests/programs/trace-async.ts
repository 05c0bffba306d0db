// For tests/trace.test.ts: the asynchronous operations in a traced system. "client" makes two callAsync and one
// sendAsync to "server"'s endpoint and publishes one batch of three messages on the async channel "up";
// "server" answers the calls and takes the batch with receiveBatchAsync.
import {
  asyncConsumer,
  asyncProducer,
  callAsync,
  createEndpoint,
  debugPrintln,
  grantCap,
  lookupCapability,
  pdName,
  protectionDomain,
  receiveAsync,
  reply,
  Rights,
  sendAsync,
} from "../../src/index.ts";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

async function server(): Promise<void> {
  const { cap } = createEndpoint();
  grantCap(cap.derive(Rights.SEND | Rights.GRANT), "client", Rights.SEND, { name: "ep" });
  for (let n = 0; n < 3; n++) {
    const m = await receiveAsync(cap, { timeout: 20_000 });
    if (m.reply !== undefined) reply(m.reply, enc(dec(m.data).toUpperCase()));
  }
  let taken = 0;
  const up = asyncConsumer("up");
  while (taken < 3) taken += (await up.receiveBatchAsync(8, { timeout: 20_000 })).length;
  debugPrintln(`server took ${taken}`);
}

async function client(): Promise<void> {
  const ep = lookupCapability("ep", { timeout: 10_000 });
  const a = await callAsync(ep, enc("one"));
  const b = await callAsync(ep, enc("two"));
  await sendAsync(ep, enc("three"));
  const sent = asyncProducer("up").trySendBatch([enc("x"), enc("y"), enc("z")]);
  debugPrintln(`client got ${dec(a.data)} ${dec(b.data)}, published ${sent}`);
}

export default protectionDomain(
  {
    init() {
      void (pdName() === "server" ? server() : client());
    },
  },
  { wait: "async" },
);
