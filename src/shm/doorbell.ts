/**
 * A PD's doorbell (layout: protocol/layout.ts, "Doorbell"): the one bell a PD sleeps on when it has nothing to
 * do, rung by every peer it shares a channel or an endpoint with, and by the kernel. One function rings it, one
 * waits on it; both are the bell half of the primitive in shm/wait.ts.
 *
 *  word     | written by                                          | read by
 *  ---------+-----------------------------------------------------+-------------------------------------------
 *  RING     | ringers: Atomics.add 1, only if SLEEPING is not 0    | the PD: sleeps while RING holds what it read
 *  SLEEPING | the PD: 1 from just before its last look until it   | ringers, after publishing an event
 *           | wakes                                               |
 *
 * The doorbell is only a hint: what happened is always read from the channel buffers, endpoint slots and the
 * control word. A peer that rings falsely costs the PD a look; a peer that clears SLEEPING (so that wakes are
 * skipped) or rewrites RING delays the PD's wake-up by at most one sleep slice, after which the PD looks again
 * (tests/hostile/doorbell.test.ts); a peer that keeps SLEEPING set makes the PD's other ringers pay a futex
 * notify per event. None of it forges or loses an event, and the PD never writes RING: on the hot path, with the
 * PD awake, nobody writes the doorbell's line at all.
 */

import { DOORBELL_I32 } from "../protocol/layout.ts";
import { announce, ring, sleep, sleepAsync, withdraw } from "./wait.ts";

const RING = DOORBELL_I32.RING;
const SLEEPING = DOORBELL_I32.SLEEPING;

/**
 * Rings a doorbell after publishing an event where its owner will look: a load when the owner is awake, an add
 * and a notify of every waiter when it sleeps (or is about to). Returns true if it woke the owner that way (the
 * owner will need a core).
 */
export function ringDoorbell(doorbell: Int32Array): boolean {
  return ring(doorbell, RING, SLEEPING);
}

/**
 * One bounded sleep on this PD's doorbell: announce, look (`ready`), sleep at most `sliceMs` unless the look
 * found something, withdraw. Returns true if the look found something or the bell rang; false if the slice ran
 * out (the caller looks again: the wake-up may have been skipped by a peer that cleared SLEEPING).
 */
export function sleepOnDoorbell(doorbell: Int32Array, ready: () => boolean, sliceMs: number): boolean {
  const bell = announce(doorbell, RING, SLEEPING);
  try {
    if (ready()) return true;
    sleep(doorbell, RING, bell, sliceMs);
    return Atomics.load(doorbell, RING) !== bell;
  } finally {
    withdraw(doorbell, SLEEPING);
  }
}

/** As `sleepOnDoorbell`, with `Atomics.waitAsync`: the event loop runs meanwhile, and `signal` ends the sleep. */
export async function sleepOnDoorbellAsync(doorbell: Int32Array, ready: () => boolean, sliceMs: number, signal?: AbortSignal): Promise<boolean> {
  const bell = announce(doorbell, RING, SLEEPING);
  try {
    if (ready()) return true;
    await sleepAsync(doorbell, RING, bell, sliceMs, signal);
    return Atomics.load(doorbell, RING) !== bell;
  } finally {
    withdraw(doorbell, SLEEPING);
  }
}
