/**
 * The one wait/wake primitive: how a thread waits for a shared Int32 word to change, and how another wakes it.
 * Every data path (channels, doorbells, endpoint slots and queues, async rings, syscalls, verdicts) waits with
 * these functions and nothing else.
 *
 * The protocol between a waiter and a waker (one waiter per sleeping flag; many wakers are fine):
 *
 *   waiter                                      waker
 *   ------                                      -----
 *   spin: look (Atomics.load) ... done?         publish the event (the payload, then an Atomics store)
 *   Atomics.store(sleeping, 1)                  if Atomics.load(sleeping) != 0:
 *   v = the word it will sleep on                 (a bell: Atomics.add(bell, 1))
 *   look once more: done? -> withdraw             Atomics.notify(word)
 *   Atomics.wait(word, v, slice)
 *   Atomics.store(sleeping, 0)  (withdraw)
 *
 * All these accesses are sequentially consistent, so this is the store-load (Dekker) pattern: either the waker
 * sees sleeping != 0 and wakes, or the waiter's last look after its store sees the event and does not sleep.
 * `Atomics.wait` itself re-checks `word == v` atomically before sleeping. The waker pays for `Atomics.notify`
 * (a futex syscall) only when the peer really sleeps: on the hot path a wake-up is one load of a line nobody
 * writes, which stays in the waker's cache.
 *
 * Two kinds of word are slept on:
 * - a state word (a call's CALL_STATE, a slot's STATE, a queue's TAIL, SYSCALL_DONE, VERDICT): the waiter sleeps
 *   while it holds the value it saw; the waker's store that publishes the event is the change.
 * - a bell (a PD's doorbell RING, an async ring's bells): a counter for a waiter that watches several words.
 *   Ringers `Atomics.add` 1 (`ring`, or `bump` where a close or death must wake whatever SLEEPING says) and
 *   notify; the waiter reads the bell after announcing, looks at everything it watches, and sleeps while the bell
 *   holds what it read. The waiter never writes its bell, so the bell's line moves only when someone rings it.
 *
 * Bounds (the hostile properties): every sleep is one slice of at most `sliceMs`, after which the caller
 * re-checks what a hostile or dead peer may have left undone (a cleared sleeping flag, so its wake was skipped;
 * a bell rewritten; a peer that died without answering) and waits again. A peer that clears or sets a sleeping
 * flag or a bell can make the waiter sleep one slice too long or wake for nothing, never longer and never
 * forever. Spinning is bounded by time (`spinMicros`), not by what any peer writes.
 *
 * One clock: every spin reads `performance.now()` once every `CLOCK_EVERY` rounds and never on its first
 * (reading it costs 45-300 ns here, up to two whole round trips on the hot path): `spinDeadline` below is
 * the only place a spin looks at the clock. On a 2-core machine a spinner holds a whole core, so the default
 * budget is short: long enough to catch a reply from a peer that is running, short enough that an idle PD gives
 * its core back within tens of microseconds.
 *
 * The async sleeper (`sleepAsync`) is the same protocol with `Atomics.waitAsync`, for PDs that must keep their
 * event loop alive; their spin should be capped at a few microseconds (`ASYNC_SPIN_MICROS`), since while it spins
 * the event loop cannot run either.
 */

export interface WaitOptions {
  /** How long to spin before sleeping, in microseconds. 0 sleeps at once. */
  readonly spinMicros: number;
  /** Longest single sleep, in milliseconds; the caller re-checks liveness after each. */
  readonly sliceMs: number;
}

export const defaultWaitOptions: WaitOptions = { spinMicros: 20, sliceMs: 50 };

/** The longest spin of a waiter whose event loop must keep running (async PDs, async channels). */
export const ASYNC_SPIN_MICROS = 5;

/** Spin rounds between two reads of the clock (and before the first): a power of two. */
export const CLOCK_EVERY = 1024;
/** `(round & CLOCK_MASK) === 0` marks the rounds a spin looks at the clock. */
export const CLOCK_MASK = CLOCK_EVERY - 1;

/**
 * The spin budget, for a spin loop over rounds 1, 2, 3, ...: call it on the rounds where
 * `(round & CLOCK_MASK) === 0` with the deadline it returned last (0 at first). Returns the deadline, set at the
 * first call (a spin that succeeds within `CLOCK_EVERY` rounds never reads the clock), or -1 when it has passed.
 */
export function spinDeadline(deadline: number, spinMicros: number): number {
  const now = performance.now();
  if (deadline === 0) return now + spinMicros / 1000;
  return now >= deadline ? -1 : deadline;
}

/** Spins until `i32[index] !== value` or the budget runs out. Returns true if the word changed. */
export function spinWhile(i32: Int32Array, index: number, value: number, spinMicros: number): boolean {
  if (Atomics.load(i32, index) !== value) return true;
  if (spinMicros <= 0) return false;
  let deadline = 0;
  for (let i = 1; ; i++) {
    if (Atomics.load(i32, index) !== value) return true; // acquire: the payload published before it is visible
    if ((i & CLOCK_MASK) === 0 && (deadline = spinDeadline(deadline, spinMicros)) < 0) return false;
  }
}

/**
 * Spins until `ready()` returns true or the budget runs out: for a waiter that watches several words (a PD
 * polling all its channels, a receiver scanning its senders). Returns true if `ready()` did.
 */
export function spinUntil(ready: () => boolean, spinMicros: number): boolean {
  if (ready()) return true;
  if (spinMicros <= 0) return false;
  let deadline = 0;
  for (let i = 1; ; i++) {
    if (ready()) return true;
    if ((i & CLOCK_MASK) === 0 && (deadline = spinDeadline(deadline, spinMicros)) < 0) return false;
  }
}

// ---- the waiter's half ----------------------------------------------------------------------------------

/**
 * Announces a sleep on a bell: sets the sleeping flag, then reads the bell. Look at everything the bell stands
 * for after this (the last look), then `sleep`/`sleepAsync` on the value returned, then `withdraw`.
 */
export function announce(i32: Int32Array, bell: number, sleeping: number): number {
  Atomics.store(i32, sleeping, 1); // seq-cst: ordered before the last look (the store-load pattern above)
  return Atomics.load(i32, bell);
}

/** Ends a sleep (or a sleep decided against): wakers stop paying for a notify. */
export function withdraw(i32: Int32Array, sleeping: number): void {
  Atomics.store(i32, sleeping, 0);
}

/** Blocks the thread while `i32[index] === value`, for at most `sliceMs`. Returns true unless the slice ran out. */
export function sleep(i32: Int32Array, index: number, value: number, sliceMs: number): boolean {
  return Atomics.wait(i32, index, value, sliceMs) !== "timed-out";
}

/**
 * One asynchronous sleep while `i32[index] === value`: settles when the word is notified, when `sliceMs` pass,
 * or when `signal` aborts, whichever is first (the caller re-checks either way). Returns undefined when the word
 * already differs (nothing to await). A pending `Atomics.waitAsync` does not keep Node's event loop alive (a
 * worker waiting on nothing else would exit), and its timeout fires from a platform task that can come late, so
 * a timer of the same length runs beside it and bounds the sleep; the waitAsync then settles unobserved.
 */
export function sleepAsync(i32: Int32Array, index: number, value: number, sliceMs: number, signal?: AbortSignal): Promise<void> | undefined {
  const waiting = Atomics.waitAsync(i32, index, value, sliceMs);
  if (!waiting.async) return undefined;
  if (signal?.aborted === true) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, sliceMs + 1);
    signal?.addEventListener("abort", done, { once: true });
    void waiting.value.then(done);
  });
}

/**
 * One bounded sleep on a state word: announce, look once more, sleep while `i32[index] === value`, withdraw.
 * @param sleepingIndex the waiter's sleeping flag in the same array, read by wakers (`wakeIfSleeping`)
 * @returns true if the word changed, false if the slice ran out (re-check liveness and call again)
 */
export function sleepWhile(i32: Int32Array, index: number, value: number, sleepingIndex: number, sliceMs: number): boolean {
  Atomics.store(i32, sleepingIndex, 1); // publish "may sleep" before the last look (see the header)
  if (Atomics.load(i32, index) === value) Atomics.wait(i32, index, value, sliceMs);
  Atomics.store(i32, sleepingIndex, 0);
  return Atomics.load(i32, index) !== value;
}

/** `sleepWhile` without blocking the event loop; resolves true if the word changed. */
export async function sleepWhileAsync(i32: Int32Array, index: number, value: number, sleepingIndex: number, sliceMs: number, signal?: AbortSignal): Promise<boolean> {
  Atomics.store(i32, sleepingIndex, 1);
  try {
    if (Atomics.load(i32, index) === value) await sleepAsync(i32, index, value, sliceMs, signal);
  } finally {
    Atomics.store(i32, sleepingIndex, 0);
  }
  return Atomics.load(i32, index) !== value;
}

/**
 * Spin, then one bounded sleep, until `i32[index] !== value`.
 * @returns true if the word changed, false if a slice ran out (re-check liveness and call again)
 */
export function waitWhile(i32: Int32Array, index: number, value: number, sleepingIndex: number, options: WaitOptions): boolean {
  if (spinWhile(i32, index, value, options.spinMicros)) return true;
  return sleepWhile(i32, index, value, sleepingIndex, options.sliceMs);
}

/** `waitWhile` with its options bound: for PDs whose whole life is the entry-point loop. */
export class SyncWait {
  readonly options: WaitOptions;

  constructor(options: Partial<WaitOptions> = {}) {
    this.options = { ...defaultWaitOptions, ...options };
  }

  /** See `waitWhile`. */
  waitWhile(i32: Int32Array, index: number, value: number, sleepingIndex: number): boolean {
    return waitWhile(i32, index, value, sleepingIndex, this.options);
  }
}

// ---- the waker's half -----------------------------------------------------------------------------------

/**
 * The waker's half for a state word: call after the store that published its new value (sequentially
 * consistent order). Costs one load unless the waiter sleeps.
 */
export function wakeIfSleeping(i32: Int32Array, index: number, sleepingIndex: number): void {
  if (Atomics.load(i32, sleepingIndex) !== 0) Atomics.notify(i32, index);
}

/**
 * The waker's half for a bell: call after publishing an event where the sleeper will look for it. Moves the
 * bell only if its owner sleeps (or is about to): on the hot path a ring is one load. Wakes every waiter on the
 * bell (an async PD may wait on its doorbell twice at once: its own loop and a `receiveAsync`).
 */
export function ring(i32: Int32Array, bell: number, sleepingIndex: number): boolean {
  if (Atomics.load(i32, sleepingIndex) === 0) return false;
  bump(i32, bell);
  return true;
}

/** Moves a bell and wakes its sleepers whatever the sleeping flag says: for closes, deaths and self-interrupts. */
export function bump(i32: Int32Array, bell: number): void {
  Atomics.add(i32, bell, 1); // makes the sleeper's value stale, so a sleep that starts late returns at once
  Atomics.notify(i32, bell);
}
