// Bench syscall.p99 / hostile.syscall.p99: `client` times single syscalls (processId, the cheapest) and reports
// their p99 in µs; `attacker`, when the round attacks, makes syscalls as fast as the honest API allows (a mix of
// answered and refused ones, every typed error ignored), else stays idle. One JSON line from the client.
import { capabilityFromToken, createEndpoint, debugPrintln, pdName, processId, protectionDomain, Rights } from "../../src/index.ts";
import { awaitWord, codeOf, ctl, CTL, MAX_ATTACK_MS, rank, READY_TIMEOUT_MS, signal, stopped } from "./hostile-common.ts";

const WARM_ATTACKS = 500;

function client(c: Int32Array): void {
  const n = Atomics.load(c, CTL.N);
  for (let i = 0; i < 500; i++) processId("attacker"); // warm-up, alone
  signal(c, CTL.WARMED);
  const attacked = Atomics.load(c, CTL.ATTACK) === 1;
  if (attacked && !awaitWord(c, CTL.READY, READY_TIMEOUT_MS)) throw new Error("the attacker never got going");
  const before = Atomics.load(c, CTL.ATTACKS);
  const samples = new Float64Array(n);
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    processId("attacker");
    samples[i] = performance.now() - t;
  }
  const elapsed = performance.now() - started;
  const attacks = Atomics.load(c, CTL.ATTACKS) - before;
  signal(c, CTL.STOP);
  samples.sort();
  debugPrintln(JSON.stringify({ p99: rank(samples, 99) * 1000, median: rank(samples, 50) * 1000, n, attackerPerSec: Math.round(attacks / (elapsed / 1000)) }));
}

function attacker(c: Int32Array): void {
  if (Atomics.load(c, CTL.ATTACK) !== 1) return; // the unloaded twin: same PDs, this one idle
  awaitWord(c, CTL.WARMED, READY_TIMEOUT_MS);
  const deadline = performance.now() + MAX_ATTACK_MS;
  const own = createEndpoint();
  for (let i = 0; !stopped(c, deadline); i++) {
    try {
      switch (i & 3) {
        case 0:
          processId("client");
          break;
        case 1:
          own.cap.derive(Rights.SEND).close();
          break;
        case 2:
          capabilityFromToken((BigInt(i) << 20n) | 0x7n); // never issued: InvalidCapability
          break;
        default:
          processId("nobody"); // ProcessNotFound
      }
    } catch (error) {
      codeOf(error);
    }
    if (Atomics.add(c, CTL.ATTACKS, 1) + 1 === WARM_ATTACKS) signal(c, CTL.READY);
  }
}

export default protectionDomain({
  init() {
    const c = ctl();
    if (pdName() === "client") client(c);
    else attacker(c);
  },
});
