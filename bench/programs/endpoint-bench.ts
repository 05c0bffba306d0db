// Benchmark endpoint calls: `server` answers calls with replyRecv; `client` times back-to-back 64-byte calls
// (mean µs per call) or, when a `flooder` runs too, each call on its own (p99 µs). With ISOKIT_BENCH_INTO=1 both
// sides go through a MessageBuffer (callInto, replyRecvInto: no copies to fresh arrays, no allocation). One JSON
// line per run.
import {
  call,
  callInto,
  createEndpoint,
  debugPrintln,
  grantCap,
  isIpcError,
  lookupCapability,
  MessageBuffer,
  pdName,
  protectionDomain,
  receive,
  receiveInto,
  replyRecv,
  replyRecvInto,
  Rights,
  send,
  type Capability,
} from "../../src/index.ts";
import { benchParam } from "./params.ts";

let iterations = 100_000;
let flooded = false;
let into = false;
const STOP = 0xff;

function server(): void {
  const { cap } = createEndpoint();
  const clients = flooded ? ["client", "flooder"] : ["client"];
  for (const pd of clients) grantCap(cap.derive(Rights.SEND | Rights.GRANT), pd, Rights.SEND, { name: "ep" });
  if (into) {
    serveInto(cap);
    return;
  }
  let m = receive(cap);
  for (;;) {
    if (m.reply === undefined) {
      if (m.data[0] === STOP) break;
      m = receive(cap);
      continue;
    }
    m = replyRecv(m.reply, m.data, cap);
  }
  cap.close(); // ends the flooder
}

/** The server's loop through one buffer: each call is answered with its own bytes, in place. */
function serveInto(cap: Capability): void {
  const buf = new MessageBuffer();
  receiveInto(cap, buf);
  for (;;) {
    if (!buf.holdsCall) {
      if (buf.bytes[0] === STOP) break;
      receiveInto(cap, buf);
      continue;
    }
    replyRecvInto(cap, buf);
  }
  cap.close();
}

function timeMeanInto(ep: Capability, n: number, bytes: number): number {
  const buf = new MessageBuffer();
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    buf.bytes[0] = i & 0x7f;
    buf.length = bytes;
    callInto(ep, buf);
  }
  return ((performance.now() - start) * 1000) / n;
}

function timeMean(ep: Capability, n: number, message: Uint8Array): number {
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    message[0] = i & 0x7f;
    call(ep, message);
  }
  return ((performance.now() - start) * 1000) / n;
}

function timeP99(ep: Capability, n: number, message: Uint8Array): number {
  const samples = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    call(ep, message);
    samples[i] = performance.now() - start;
  }
  samples.sort();
  return samples[Math.floor(n * 0.99)]! * 1000;
}

function client(): void {
  const ep = lookupCapability("ep", { timeout: 20_000 });
  const message = new Uint8Array(Number(benchParam("ISOKIT_BENCH_BYTES") ?? 64));
  const time = flooded ? timeP99 : into ? (e: Capability, n: number, m: Uint8Array) => timeMeanInto(e, n, m.length) : timeMean;
  const n = flooded ? Math.max(1000, Math.floor(iterations / 10)) : iterations;
  time(ep, n, message); // warm-up
  const result = time(ep, n, message);
  message[0] = STOP;
  send(ep, message);
  debugPrintln(JSON.stringify({ case: flooded ? "flooded" : "call", rounds: [result] }));
}

function flooder(): void {
  const ep = lookupCapability("ep", { timeout: 20_000 });
  const message = new Uint8Array(64);
  for (;;) {
    try {
      send(ep, message);
    } catch (error) {
      if (isIpcError(error, "EndpointClosed") || isIpcError(error, "PeerDied") || isIpcError(error, "InvalidCapability")) return;
      throw error;
    }
  }
}

export default protectionDomain({
  init() {
    iterations = Number(benchParam("ISOKIT_BENCH_ITERATIONS") ?? 100_000);
    flooded = benchParam("ISOKIT_BENCH_FLOODED") === "1";
    into = benchParam("ISOKIT_BENCH_INTO") === "1";
    const name = pdName();
    if (name === "server") server();
    else if (name === "flooder") flooder();
    else client();
  },
});
