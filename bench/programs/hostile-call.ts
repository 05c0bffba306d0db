// Bench hostile.call.unloaded / hostile.call.flooded: `server` answers calls (64 B, replyRecv) and takes sends;
// `client` times calls in batches of 32 and reports the median batch mean in µs. The attacker is hostile-call-attacker.ts.
import {
  call,
  createEndpoint,
  debugPrintln,
  grantCap,
  lookupCapability,
  pdName,
  protectionDomain,
  receive,
  replyRecv,
  Rights,
  send,
} from "../../src/index.ts";
import { awaitWord, ctl, CTL, rank, READY_TIMEOUT_MS, ROUND_BUDGET_MS, signal } from "./hostile-common.ts";

const STOP_LABEL = 0x570;
const WARM_CALLS = 2000;
const BATCH = 32;

function server(): void {
  const { cap } = createEndpoint();
  for (const pd of ["client", "attacker"]) grantCap(cap.derive(Rights.SEND | Rights.GRANT), pd, Rights.SEND, { name: "ep" });
  let m = receive(cap, { timeout: 60_000 });
  for (;;) {
    if (m.reply === undefined) {
      if (m.sender === "client" && m.label === STOP_LABEL) break;
      m = receive(cap, { timeout: 60_000 });
      continue;
    }
    m = replyRecv(m.reply, m.data, cap, { timeout: 60_000 });
  }
  cap.close(); // ends the attack: its sends fail EndpointClosed
}

function client(c: Int32Array): void {
  const ep = lookupCapability("ep", { timeout: 20_000 });
  const message = new Uint8Array(64);
  for (let i = 0; i < WARM_CALLS; i++) call(ep, message);
  signal(c, CTL.WARMED);
  if (Atomics.load(c, CTL.ATTACK) === 1 && !awaitWord(c, CTL.READY, READY_TIMEOUT_MS)) throw new Error("the attacker never got going");
  const n = Atomics.load(c, CTL.N);
  // Timed in batches of BATCH back-to-back calls (a performance.now() read can cost as much as a call): the
  // figure is the median of the batches' means, so one slow batch moves it no more than one slow call would.
  const batches = Math.max(5, Math.floor(n / BATCH));
  const samples = new Float64Array(batches);
  const before = Atomics.load(c, CTL.ATTACKS);
  const started = performance.now();
  let done = 0;
  // Bounded by time too: without fair service an honest call can take milliseconds.
  while (done < batches && (done < 5 || performance.now() - started < ROUND_BUDGET_MS)) {
    const t = performance.now();
    for (let i = 0; i < BATCH; i++) {
      message[0] = i;
      const reply = call(ep, message, { timeout: 20_000 });
      if (reply.data[0] !== i) throw new Error(`call ${done * BATCH + i}: wrong reply`);
    }
    samples[done++] = (performance.now() - t) / BATCH;
  }
  const attacks = Atomics.load(c, CTL.ATTACKS) - before;
  signal(c, CTL.STOP);
  send(ep, new Uint8Array(1), { label: STOP_LABEL, timeout: 20_000 });
  const sorted = samples.subarray(0, done).sort();
  debugPrintln(JSON.stringify({ median: rank(sorted, 50) * 1000, worstBatch: rank(sorted, 100) * 1000, calls: done * BATCH, attackerMessages: attacks }));
}

export default protectionDomain({
  init() {
    if (pdName() === "server") server();
    else client(ctl());
  },
});
