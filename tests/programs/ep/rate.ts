// Rate limits, enforced by the receiver. `client` is limited as a PD (boot option rateLimits: 10 msg/s,
// burst x2); `capclient` through a derived capability (0.5 msg/s, a burst of 10) and by bytes on another (8 B/s,
// a burst of 80 bytes). Slow refills keep the outcome independent of how fast this machine runs the loop.
import { createEndpoint, debugPrintln, grantCap, isIpcError, lookupCapability, pdName, protectionDomain, receive, Rights, send } from "../../../src/index.ts";
import { dec, enc, expectCode, sleepMs } from "./util.ts";

function server(): void {
  const { cap } = createEndpoint();
  const plain = (): ReturnType<typeof cap.derive> => cap.derive(Rights.SEND | Rights.GRANT);
  grantCap(plain(), "client", Rights.SEND, { name: "ep" });
  grantCap(cap.derive(Rights.SEND | Rights.GRANT, { rateLimits: { maxMessagesPerSec: 0.5, maxBytesPerSec: 1e6, burstMultiplier: 20 } }), "capclient", Rights.SEND, { name: "limited" });
  grantCap(cap.derive(Rights.SEND | Rights.GRANT, { rateLimits: { maxMessagesPerSec: 1000, maxBytesPerSec: 8, burstMultiplier: 10 } }), "capclient", Rights.SEND, { name: "bytes" });
  grantCap(plain(), "capclient", Rights.SEND, { name: "plain" });
  let done = 0;
  while (done < 2) if (dec(receive(cap, { timeout: 20_000 }).data) === "done") done++;
}

/** Sends `n` one-byte messages back to back; prints how many were taken, and the bound continuous refill allows. */
function burst(label: string, cap: ReturnType<typeof lookupCapability>, n: number, rate: number, depth: number): void {
  let accepted = 0;
  let refused = 0;
  let other = "";
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    try {
      send(cap, enc("m"), { timeout: 20_000 });
      accepted++;
    } catch (error) {
      if (isIpcError(error, "RateLimitExceeded")) refused++;
      else other = String(error);
    }
  }
  const seconds = (performance.now() - start) / 1000;
  const upper = depth + Math.floor(seconds * rate) + 1;
  debugPrintln(`${label}: at least the burst ${accepted >= depth}, within refill ${accepted <= upper}, all accounted ${accepted + refused === n}${other}`);
}

function client(): void {
  const ep = lookupCapability("ep", { timeout: 20_000 });
  burst("pd limit", ep, 40, 10, 20);
  sleepMs(150); // the bucket refills continuously: 1.5 messages' worth
  send(ep, enc("done"));
  debugPrintln("pd limit: a message after the refill is taken");
}

function capclient(): void {
  const limited = lookupCapability("limited", { timeout: 20_000 });
  const bytes = lookupCapability("bytes", { timeout: 20_000 });
  const plain = lookupCapability("plain", { timeout: 20_000 });
  burst("cap limit", limited, 20, 0.5, 10);
  expectCode("narrowing derive keeps the limit", () => {
    const child = limited.derive(Rights.SEND, { rateLimits: { maxMessagesPerSec: 1e9, maxBytesPerSec: 1e9, burstMultiplier: 100 } });
    send(child, enc("m"));
  });
  expectCode("64 bytes within a burst of 80", () => { send(bytes, new Uint8Array(64)); });
  expectCode("64 more bytes at once", () => { send(bytes, new Uint8Array(64)); });
  expectCode("an unlimited capability of the same PD", () => { send(plain, enc("x")); });
  send(plain, enc("done"));
}

export default protectionDomain({
  init() {
    const name = pdName();
    if (name === "server") server();
    else if (name === "client") client();
    else capclient();
  },
});
