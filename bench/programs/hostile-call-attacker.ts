// Bench hostile.call.flooded's attacker: when the round attacks, derives up to 1,000 capabilities from its SEND
// capability to the server's endpoint, connects each (a send through it) and keeps a message waiting in every
// slot it got (sendAsync on all at once), taking the kernel's quota errors in stride; it floods with what it got
// and says how many in GOT. In the unloaded twin it stays idle. Async wait mode: its sends wait with waitAsync.
import { debugPrintln, isIpcError, lookupCapability, protectionDomain, Rights, sendAsync, type Capability } from "../../src/index.ts";
import { awaitWord, codeOf, ctl, CTL, MAX_ATTACK_MS, READY_TIMEOUT_MS, signal, stopped } from "./hostile-common.ts";

const WANTED = 1000;

async function flood(cap: Capability, c: Int32Array, deadline: number, message: Uint8Array): Promise<void> {
  while (!stopped(c, deadline)) {
    try {
      await sendAsync(cap, message, { timeout: 1000 });
      Atomics.add(c, CTL.ATTACKS, 1);
    } catch (error) {
      const code = codeOf(error);
      if (code === "EndpointClosed" || code === "PeerDied" || code === "InvalidCapability") return;
    }
  }
}

async function attacker(c: Int32Array): Promise<void> {
  if (Atomics.load(c, CTL.ATTACK) !== 1) return; // the unloaded twin: same PDs, this one idle
  const ep = lookupCapability("ep", { timeout: 20_000 });
  awaitWord(c, CTL.WARMED, READY_TIMEOUT_MS);
  const deadline = performance.now() + MAX_ATTACK_MS;
  const message = new Uint8Array(64).fill(0xee);
  const derived: Capability[] = [ep];
  for (let i = 0; i < WANTED; i++) {
    try {
      derived.push(ep.derive(Rights.SEND));
    } catch (error) {
      codeOf(error); // a quota (OutOfMemory): flood with what we have
      break;
    }
  }
  const live: Capability[] = [];
  for (const cap of derived) {
    try {
      await sendAsync(cap, message, { timeout: 5000 }); // connects its slot
      live.push(cap);
    } catch (error) {
      codeOf(error); // refused (slot quota): not one of ours
    }
  }
  Atomics.store(c, CTL.GOT, live.length);
  signal(c, CTL.READY);
  await Promise.all(live.map((cap) => flood(cap, c, deadline, message)));
}

export default protectionDomain(
  {
    init() {
      const c = ctl();
      attacker(c).catch((error: unknown) => {
        signal(c, CTL.READY); // never leave the client waiting
        debugPrintln(`attacker gave up: ${isIpcError(error) ? error.code : String(error)}`);
      });
    },
  },
  { wait: "async" },
);
