// Attack: derive up to 1,000 capabilities from the SEND capability the server gave, connect each (a send
// through it), then keep a message waiting in every slot it got (sendAsync on all at once), as long as it can.
// Quota errors from the kernel (OutOfMemory and the like) are taken in stride: it floods with what it got.
import { debugPrintln, isIpcError, lookupCapability, protectionDomain, Rights, sendAsync, type Capability } from "../../../src/index.ts";
import { codeOf, ctl, CTL, endpointGone, MAX_ATTACK_MS, ready, stopped } from "./flood-common.ts";

const WANTED = 1000;

async function flood(cap: Capability, c: Int32Array, deadline: number, message: Uint8Array): Promise<void> {
  while (!stopped(c, deadline)) {
    try {
      await sendAsync(cap, message, { timeout: 1000 });
      Atomics.add(c, CTL.ATTACKS, 1);
    } catch (error) {
      if (endpointGone(codeOf(error))) return;
    }
  }
}

async function attack(): Promise<void> {
  const c = ctl();
  const deadline = performance.now() + MAX_ATTACK_MS;
  const message = new Uint8Array(64).fill(0xee);
  const errors = new Set<string>();
  try {
    const ep = lookupCapability("ep", { timeout: 30_000 });
    const derived: Capability[] = [ep];
    for (let i = 0; i < WANTED; i++) {
      try {
        derived.push(ep.derive(Rights.SEND));
      } catch (error) {
        errors.add(`derive ${codeOf(error)}`);
        break;
      }
    }
    const live: Capability[] = [];
    for (const cap of derived) {
      if (stopped(c, deadline)) break;
      try {
        await sendAsync(cap, message, { timeout: 5000 }); // connects its slot
        live.push(cap);
      } catch (error) {
        errors.add(`connect ${codeOf(error)}`);
      }
    }
    Atomics.store(c, CTL.GOT, live.length);
    ready(c);
    await Promise.all(live.map((cap) => flood(cap, c, deadline, message)));
    debugPrintln(`stopped; flooded through ${live.length}; errors ${[...errors].sort().join(",")}`);
  } catch (error) {
    ready(c); // never leave the client waiting for an attack that cannot start
    debugPrintln(`gave up: ${isIpcError(error) ? error.code : String(error)}`);
  }
}

export default protectionDomain(
  {
    init() {
      void attack();
    },
  },
  { wait: "async" },
);
