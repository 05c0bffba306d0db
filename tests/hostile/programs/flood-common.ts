// Shared by the flood test programs: the control words in the `ctl` region (mapped into the client and the
// attacker, and supplied by the test so it can read them too), and what every program needs to stay bounded.
//
// | i32 | written by | meaning                                                                     |
// | --- | ---------- | --------------------------------------------------------------------------- |
// | 0   | client     | STOP: non-zero once the client is done; every attacker stops at its next op  |
// | 1   | attacker   | ATTACKS: attack operations made so far (Atomics.add, one per op)             |
// | 2   | attacker   | GOT: capabilities the attacker floods through (slots attack)                 |
// | 3   | attacker   | READY: 1 once the attack is in full swing (the client measures after it)     |
//
// The attacker holds this memory too, so it could scribble on it: these are our own test programs, and every
// wait on these words is bounded anyway (an attacker also stops after MAX_ATTACK_MS on its own).
import { isIpcError, memoryRegion } from "../../../src/index.ts";

export const CTL = { STOP: 0, ATTACKS: 1, GOT: 2, READY: 3 } as const;

/** An attacker stops after this long even if nobody tells it to. */
export const MAX_ATTACK_MS = 10_000;
/** Honest calls and honest syscalls the client makes under the attack. */
export const CALLS = 2000;
export const SYSCALLS = 2000;
/** The attack operations an attacker makes before it says READY. */
export const WARM_ATTACKS = 200;
/** The label of the client's last message: the server stops after it. */
export const DONE_LABEL = 0xd0e;

export function ctl(): Int32Array {
  return new Int32Array(memoryRegion("ctl").writableBytes().buffer, 0, 16);
}

/** Counts one attack operation, says READY after WARM_ATTACKS of them, and tells whether to stop. */
export function attacked(c: Int32Array, deadline: number): boolean {
  const n = Atomics.add(c, CTL.ATTACKS, 1) + 1;
  if (n === WARM_ATTACKS) ready(c);
  return Atomics.load(c, CTL.STOP) !== 0 || ((n & 255) === 0 && performance.now() > deadline);
}

export function ready(c: Int32Array): void {
  Atomics.store(c, CTL.READY, 1);
  Atomics.notify(c, CTL.READY);
}

export function stopped(c: Int32Array, deadline: number): boolean {
  return Atomics.load(c, CTL.STOP) !== 0 || performance.now() > deadline;
}

/** An attacker goes on after any typed error (that is the kernel saying no); anything else is a bug here. */
export function codeOf(error: unknown): string {
  if (isIpcError(error)) return error.code;
  throw error;
}

/** The codes that mean the endpoint the attacker floods is gone: nothing more to flood. */
export function endpointGone(code: string): boolean {
  return code === "EndpointClosed" || code === "PeerDied" || code === "InvalidCapability";
}

/** The server's answer to the client's message `data`: every byte XOR 0x5a (so a wrong reply is seen). */
export function answer(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i]! ^ 0x5a;
  return out;
}

/** The client's i-th 64-byte message: i in bytes 0-3, then a pattern that depends on i. */
export function request(i: number, into: Uint8Array): Uint8Array {
  new DataView(into.buffer, into.byteOffset, into.byteLength).setUint32(0, i, true);
  for (let k = 4; k < into.length; k++) into[k] = (i * 7 + k) & 0xff;
  return into;
}

export function nearestRank(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
