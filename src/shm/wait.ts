/**
 * Wait strategies: how a thread waits for a shared Int32 word to change.
 *
 * The protocol between a waiter and a waker (one waiter per word; many wakers are fine):
 *
 *   waiter                                   waker
 *   ------                                   -----
 *   spin: Atomics.load(word) != v ?  done    publish the event (the payload, then Atomics.store(word, ...))
 *   Atomics.store(sleeping, 1)               if Atomics.load(sleeping) == 1: Atomics.notify(word)
 *   if Atomics.load(word) == v:
 *     Atomics.wait(word, v, slice)
 *   Atomics.store(sleeping, 0)
 *
 * All four accesses are sequentially consistent, so this is the store-load (Dekker) pattern: either the waker
 * sees sleeping == 1 and notifies, or the waiter's re-check after its store sees the new word and does not
 * sleep. `Atomics.wait` itself re-checks `word == v` atomically before sleeping. The waker therefore pays for
 * `Atomics.notify` (a futex syscall) only when the peer really sleeps: measured here 0.12 µs round trip
 * against 0.25 µs when notifying every time.
 *
 * Every sleep is bounded by `sliceMs`: a waiter returns `false` when a slice passes with no change, so its
 * caller can re-check what a hostile or dead peer might have left undone (a cleared doorbell, a peer that died
 * without answering) and wait again. No lost wake-up can hang a PD for longer than one slice.
 *
 * The second strategy, for PDs that must keep their event loop alive, is the same protocol with
 * `Atomics.waitAsync` in place of `Atomics.wait` and a spin of at most 5 µs (while it spins, the PD's own
 * event loop cannot run either): see `WorkerPd.runAsync`, which sleeps on its doorbell that way.
 *
 * Spinning is bounded by time (`spinMicros`), not iterations, so its cost does not depend on the CPU; the
 * clock is read once every 256 loads. On a 2-core machine a spinner holds a whole core, so the default budget
 * is short: long enough to catch a reply from a peer that is running (the hot path), short enough that an
 * idle PD gives its core back within tens of microseconds.
 */

export interface WaitOptions {
  /** How long to spin before sleeping, in microseconds. 0 sleeps at once. */
  readonly spinMicros: number;
  /** Longest single sleep, in milliseconds; the caller re-checks liveness after each. */
  readonly sliceMs: number;
}

export const defaultWaitOptions: WaitOptions = { spinMicros: 20, sliceMs: 50 };

/** Spins until `i32[index] !== value` or the budget runs out. Returns true if the word changed. */
function spinWhile(i32: Int32Array, index: number, value: number, spinMicros: number): boolean {
  if (Atomics.load(i32, index) !== value) return true;
  if (spinMicros <= 0) return false;
  // The clock is first read after 1024 loads: a peer that is running answers sooner than that, and reading
  // the clock (~45 ns here) costs a fifth of a whole round trip on the hot path.
  let deadline = 0;
  for (let i = 1; ; i++) {
    if (Atomics.load(i32, index) !== value) return true; // acquire: the payload published before it is visible
    if ((i & 1023) === 0) {
      const now = performance.now();
      if (deadline === 0) deadline = now + spinMicros / 1000;
      else if (now >= deadline) return false;
    }
  }
}

/** Blocks the thread: spin, then `Atomics.wait`. For PDs whose whole life is the entry-point loop. */
export class SyncWait {
  readonly options: WaitOptions;

  constructor(options: Partial<WaitOptions> = {}) {
    this.options = { ...defaultWaitOptions, ...options };
  }

  /**
   * Waits until `i32[index] !== value` or one sleep slice passes.
   * @param sleepingIndex the waiter's "sleeping" word in the same array, read by wakers
   * @returns true if the word changed, false if the slice ran out (re-check liveness and call again)
   */
  waitWhile(i32: Int32Array, index: number, value: number, sleepingIndex: number): boolean {
    if (spinWhile(i32, index, value, this.options.spinMicros)) return true;
    Atomics.store(i32, sleepingIndex, 1); // publish "may sleep" before the final check (see the header)
    if (Atomics.load(i32, index) === value) Atomics.wait(i32, index, value, this.options.sliceMs);
    Atomics.store(i32, sleepingIndex, 0);
    return Atomics.load(i32, index) !== value;
  }
}

/**
 * Spins until `ready()` returns true or the budget runs out: for a waiter that watches several words (a PD
 * polling all its channels). Returns true if `ready()` did.
 */
export function spinUntil(ready: () => boolean, spinMicros: number): boolean {
  if (ready()) return true;
  if (spinMicros <= 0) return false;
  let deadline = 0;
  for (let i = 1; ; i++) {
    if (ready()) return true;
    if ((i & 255) === 0) {
      const now = performance.now();
      if (deadline === 0) deadline = now + spinMicros / 1000;
      else if (now >= deadline) return false;
    }
  }
}

/**
 * The waker's half for a doorbell: call after publishing an event where the sleeper will look for it.
 * Writes the doorbell only if its owner sleeps (or is about to): on the hot path a ring is one load.
 */
export function ringIfSleeping(doorbell: Int32Array, ringIndex: number, sleepingIndex: number): void {
  if (Atomics.load(doorbell, sleepingIndex) !== 0) {
    Atomics.store(doorbell, ringIndex, 1);
    Atomics.notify(doorbell, ringIndex, 1);
  }
}

/**
 * The waker's half: call after publishing the new value of `i32[index]`. Costs one load unless the waiter
 * sleeps. Must come after the store that publishes the event (sequentially consistent order).
 */
export function wakeIfSleeping(i32: Int32Array, index: number, sleepingIndex: number): void {
  if (Atomics.load(i32, sleepingIndex) !== 0) Atomics.notify(i32, index, 1);
}
