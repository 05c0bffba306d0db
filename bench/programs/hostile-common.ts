// Shared by the hostile bench programs: the control words of the `ctl` region, which the bench case supplies
// (boot option `regions`) and maps into the client and the attacker.
//
// | i32 | written by   | meaning                                                                          |
// | --- | ------------ | -------------------------------------------------------------------------------- |
// | 0   | bench (host) | ATTACK: 1 if the attacker attacks this round, 0 if it stays idle (the twin)      |
// | 1   | bench (host) | N: honest operations to time this round                                          |
// | 2   | client       | WARMED: 1 once the client's warm-up is over (the attacker starts then)            |
// | 3   | attacker     | READY: 1 once the attack is in full swing (the client times after it)             |
// | 4   | client       | STOP: 1 when the client is done; the attacker stops at its next operation         |
// | 5   | attacker     | ATTACKS: attack operations so far (messages taken, syscalls answered)             |
// | 6   | attacker     | GOT: capabilities the attacker floods through (call case)                         |
import { isIpcError, memoryRegion } from "../../src/index.ts";

export const CTL = { ATTACK: 0, N: 1, WARMED: 2, READY: 3, STOP: 4, ATTACKS: 5, GOT: 6 } as const;

/** The attacker stops on its own after this long, whatever happens. */
export const MAX_ATTACK_MS = 30_000;
/** Longest the client waits for the attacker to be ready, and longest it times in one round. */
export const READY_TIMEOUT_MS = 20_000;
export const ROUND_BUDGET_MS = 2000;

export function ctl(): Int32Array {
  return new Int32Array(memoryRegion("ctl").writableBytes().buffer, 0, 16);
}

export function signal(c: Int32Array, word: number): void {
  Atomics.store(c, word, 1);
  Atomics.notify(c, word);
}

/** Waits (bounded) until `word` is non-zero; true if it is. */
export function awaitWord(c: Int32Array, word: number, ms: number): boolean {
  const deadline = performance.now() + ms;
  while (Atomics.load(c, word) === 0 && performance.now() < deadline) Atomics.wait(c, word, 0, 20);
  return Atomics.load(c, word) !== 0;
}

export function stopped(c: Int32Array, deadline: number): boolean {
  return Atomics.load(c, CTL.STOP) !== 0 || performance.now() > deadline;
}

/** A typed error is the kernel saying no: an attacker goes on. Anything else is a bug in the program. */
export function codeOf(error: unknown): string {
  if (isIpcError(error)) return error.code;
  throw error;
}

/** Nearest-rank percentile of sorted samples. */
export function rank(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
