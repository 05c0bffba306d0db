/**
 * The one waiting loop of async channels: try, spin briefly, then sleep on the ring bells with
 * `Atomics.waitAsync` in bounded slices, honouring a timeout and an `AbortSignal`. The event loop is never
 * blocked: the spin is capped at a few microseconds (as for `WorkerPd.runAsync`) and every sleep is a promise.
 * The spin and the sleeping flags are those of the one wait/wake primitive (src/shm/wait.ts).
 */

import { IpcError, type ErrorCode } from "../../errors.ts";
import { ASYNC_SPIN_MICROS, CLOCK_MASK, spinDeadline } from "../../shm/wait.ts";

/** Options of one async operation. */
export interface AsyncOptions {
  /**
   * Milliseconds to wait for room (a send) or a message (a receive). `0` never waits: the operation fails at
   * once with `QueueFull` / `QueueEmpty`. Default: no limit (a closed channel or a dead peer still ends it).
   */
  readonly timeout?: number | undefined;
  /** Aborting rejects the operation with `Aborted` (`cause`: the signal's reason); nothing is sent or taken. */
  readonly signal?: AbortSignal | undefined;
}

/** How an end waits; the defaults suit a PD that must keep its event loop responsive. */
export interface AsyncWaitTuning {
  /** Spin this long (µs) re-checking before the first sleep. Keep it short: the event loop cannot run meanwhile. */
  readonly spinMicros: number;
  /** Longest single sleep (ms): a lost wake-up (a hostile peer, a peer killed mid-write) costs at most this. */
  readonly sliceMs: number;
}

export const defaultAsyncTuning: AsyncWaitTuning = { spinMicros: ASYNC_SPIN_MICROS, sliceMs: 50 };

/** The rings an operation sleeps on: announce, sleep until a bell moves (or `ms`), stop announcing, self-wake. */
export interface Sleeper {
  prepare(): void;
  sleep(ms: number): unknown; // a promise when it really sleeps
  end(): void;
  interrupt(): void;
}

export function checkOptions(operation: string, options: AsyncOptions): void {
  const { timeout } = options;
  if (timeout !== undefined && !(timeout >= 0)) {
    throw new IpcError("InvalidArgument", `${operation}: timeout must be a number of milliseconds >= 0, got ${String(timeout)}`, { operation });
  }
}

export function abortedError(operation: string, signal: AbortSignal): IpcError {
  return new IpcError("Aborted", `${operation}: aborted by the caller's signal; nothing was transferred`, { operation }, { cause: signal.reason });
}

/**
 * Runs `attempt` until it returns a value, it throws, the timeout passes (`Timeout`, or `wouldBlock` for a
 * timeout of 0) or the signal aborts. `attempt` must be cheap and must not have a side effect when it
 * returns undefined: it is called again after every wake-up.
 */
export async function waitFor<T>(
  operation: string,
  attempt: () => T | undefined,
  sleeper: Sleeper,
  options: AsyncOptions,
  tuning: AsyncWaitTuning,
  wouldBlock: ErrorCode,
  startedAt: number = performance.now(),
): Promise<T> {
  const { timeout, signal } = options;
  if (signal?.aborted === true) throw abortedError(operation, signal);
  const first = attempt();
  if (first !== undefined) return first;
  if (timeout === 0) {
    throw new IpcError(wouldBlock, `${operation}: ${wouldBlock === "QueueFull" ? "no free slot" : "no message"} and timeout is 0`, { operation });
  }
  const deadline = timeout === undefined ? Infinity : startedAt + timeout; // a queued operation's clock starts at its call
  // Brief spin: a peer that is running answers within it, and a sleep costs a promise and a futex wake. The
  // clock is read as in every spin (shm/wait.ts).
  if (tuning.spinMicros > 0) {
    let spin = 0;
    for (let i = 1; ; i++) {
      const r = attempt();
      if (r !== undefined) return r;
      if ((i & CLOCK_MASK) === 0 && (spin = spinDeadline(spin, tuning.spinMicros)) < 0) break;
    }
  }
  const onAbort = (): void => {
    sleeper.interrupt();
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    for (;;) {
      // (read through a function: TypeScript would keep the narrowing from before the first await)
      if (isAborted(signal)) throw abortedError(operation, signal!);
      const left = deadline - performance.now();
      if (left <= 0) throw new IpcError("Timeout", `${operation}: nothing happened within ${String(timeout)} ms`, { operation });
      sleeper.prepare();
      try {
        const r = attempt(); // the re-check after announcing the sleep (see src/shm/ring.ts)
        if (r !== undefined) return r;
        await sleepWithKeepAlive(sleeper, Math.min(left, tuning.sliceMs));
      } finally {
        sleeper.end();
      }
      const r = attempt();
      if (r !== undefined) return r;
    }
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

/**
 * A pending `Atomics.waitAsync` does not keep Node's event loop alive (a worker awaiting a message would just
 * exit), and its timeout fires from a V8 platform task that can come after a timer of the same length. So
 * our own timer bounds the sleep: it holds the loop open and ends the sleep even if the waitAsync timeout is
 * late; the waitAsync then settles on its own, unobserved.
 */
async function sleepWithKeepAlive(sleeper: Sleeper, ms: number): Promise<void> {
  const slept = sleeper.sleep(ms);
  if (!(slept instanceof Promise)) return; // "not-equal": a bell already moved
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms + 1);
  });
  try {
    await Promise.race([slept, bound]);
  } finally {
    clearTimeout(timer);
  }
}

function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

/** A synchronous failure of an async operation, as its rejected promise (a promise API never throws). */
export function rejected(error: unknown): Promise<never> {
  return Promise.reject(error instanceof Error ? error : new Error(String(error)));
}

/**
 * Runs async operations of one end one after another, in call order (so two sends cannot reorder and two
 * receives get messages in the order they were asked for). An abort while queued rejects at once and the
 * operation never runs; a timeout counts from the call, not from the operation's turn.
 */
export class OpQueue {
  /** Settles when every queued operation has settled; never rejects. */
  #tail: Promise<void> = Promise.resolve();
  #length = 0;

  /** Operations queued or running. */
  get length(): number {
    return this.#length;
  }

  run<T>(name: string, options: AsyncOptions, operation: (startedAt: number) => Promise<T>): Promise<T> {
    const startedAt = performance.now();
    const { signal } = options;
    this.#length++;
    const result = new Promise<T>((resolve, reject) => {
      let abandoned = false;
      const onAbort = (): void => {
        abandoned = true;
        reject(abortedError(name, signal!));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      void this.#tail.then(() => {
        signal?.removeEventListener("abort", onAbort);
        if (abandoned) return undefined;
        return operation(startedAt).then(resolve, reject);
      });
    });
    const settled = (): void => {
      this.#length--;
    };
    this.#tail = result.then(settled, settled);
    return result;
  }
}
