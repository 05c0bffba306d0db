/**
 * The producer end of an async channel: one ring, written by this thread only.
 *
 * Ownership: every send copies the payload into the ring before it returns (or resolves); the caller keeps
 * its buffer and may reuse it at once. A send that fails (full, closed, timed out, aborted) has written
 * nothing, except `sendBatch`, whose error says how many messages of the batch went out.
 *
 * Order: messages from this producer arrive in the order of the calls that sent them. Async sends queue
 * behind each other, and `trySend` refuses (returns false) while any async send is queued, so it cannot
 * overtake one.
 */

import { IpcError } from "../../errors.ts";
import { RingFlag, RingProducer } from "../../shm/ring.ts";
import { checkProducerDescriptor, takeClaim, type ProducerDescriptor } from "./descriptor.ts";
import { ringTraceOf, type RingTrace } from "./trace.ts";
import { OpQueue, rejected, checkOptions, defaultAsyncTuning, waitFor, type AsyncOptions, type AsyncWaitTuning, type Sleeper } from "./wait.ts";

/**
 * Why an end is closed: it closed itself, its peer closed, or its peer was marked dead; for a consumer,
 * "peer-refused" when no producer died but at least one was refused for a malformed ring.
 */
export type CloseReason = "closed" | "peer-closed" | "peer-died" | "peer-refused";

const ENDED = RingFlag.ProducerClosed | RingFlag.ConsumerClosed | RingFlag.ProducerDied | RingFlag.ConsumerDied;
const resolved: Promise<void> = Promise.resolve();

export class AsyncProducer implements Disposable {
  readonly #ring: RingProducer;
  /** Set when the system is traced (./trace.ts): each batch published is one record. */
  readonly #trace: RingTrace | undefined;
  readonly #tuning: AsyncWaitTuning;
  readonly #index: number;
  /** Async sends, in call order. */
  readonly #queue = new OpQueue();
  #closedAt: string | undefined;
  #resolveClosed: (reason: CloseReason) => void = () => undefined;
  /** Resolves (never rejects) when this end learns that it is closed: by `close()` or by an operation. */
  readonly closed: Promise<CloseReason>;
  readonly #sleeper: Sleeper;

  private constructor(descriptor: ProducerDescriptor, tuning: AsyncWaitTuning) {
    // Geometry from our own descriptor, never from the header the consumer can rewrite; the claim in memory
    // only this end holds (see descriptor.ts).
    this.#ring = new RingProducer(descriptor.ring, descriptor);
    takeClaim(descriptor.claim, "producer", "AsyncProducer.attach");
    this.#index = descriptor.index;
    this.#trace = ringTraceOf(descriptor.ring);
    this.#tuning = tuning;
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    let bell = 0;
    const ring = this.#ring;
    this.#sleeper = {
      prepare: () => {
        bell = ring.beginWait();
      },
      sleep: (ms) => ring.sleep(bell, ms),
      end: () => {
        ring.endWait();
      },
      interrupt: () => {
        ring.interrupt();
      },
    };
  }

  /**
   * Takes the producer role of a ring handed over as a descriptor (from `AsyncChannel.producerDescriptor`).
   * @throws IpcError `ResourceBusy` if the ring already has a producer; `InvalidArgument` for a bad descriptor
   */
  static attach(descriptor: ProducerDescriptor, tuning: Partial<AsyncWaitTuning> = {}): AsyncProducer {
    return new AsyncProducer(checkProducerDescriptor(descriptor), { ...defaultAsyncTuning, ...tuning });
  }

  /** Slots in this producer's ring. */
  get capacity(): number {
    return this.#ring.capacity;
  }

  /** Largest message in bytes. */
  get maxMessageBytes(): number {
    return this.#ring.maxMessage;
  }

  /** Free slots right now (the consumer may free more at once). */
  get free(): number {
    return this.#ring.free;
  }

  /**
   * Sends one message if a slot is free; returns false (nothing written) when the ring is full or async sends
   * are queued. Allocates nothing.
   * @throws IpcError `MessageTooLarge`; `EndpointClosed` after a close by either end; `PeerDied` if the
   *   consumer was marked dead
   */
  trySend(bytes: Uint8Array): boolean {
    this.#checkOpen("trySend");
    const sent = this.#queue.length === 0 && this.#ring.tryPush(bytes);
    if (sent) this.#trace?.published(1);
    return sent;
  }

  /**
   * Sends as many of `messages` (from `start`) as fit, publishing them with one store. Returns how many.
   * @throws as `trySend`, before sending any of them
   */
  trySendBatch(messages: readonly Uint8Array[], start = 0): number {
    this.#checkOpen("trySendBatch");
    if (this.#queue.length !== 0) return 0;
    this.#checkSizes(messages, start, "trySendBatch");
    const sent = this.#ring.pushBatch(messages, start);
    this.#trace?.published(sent);
    return sent;
  }

  /**
   * Sends one message, waiting (without blocking the event loop) for a free slot if the ring is full.
   * Rejects with `QueueFull` (timeout 0, ring full), `Timeout`, `Aborted`, `EndpointClosed`, `PeerDied` or
   * `MessageTooLarge`; a rejected send wrote nothing. `bytes` is copied before the promise settles, but do
   * not change it until then.
   */
  sendAsync(bytes: Uint8Array, options: AsyncOptions = {}): Promise<void> {
    try {
      checkOptions("sendAsync", options);
      this.#checkOpen("sendAsync");
      if (bytes.length > this.#ring.maxMessage) {
        throw new IpcError("MessageTooLarge", `sendAsync: ${bytes.length} bytes do not fit the ring (at most ${this.#ring.maxMessage})`, { operation: "sendAsync" });
      }
      if (this.#queue.length === 0 && options.signal?.aborted !== true && this.#ring.tryPush(bytes)) {
        this.#trace?.published(1);
        return resolved; // the fast path
      }
    } catch (e) {
      return rejected(e);
    }
    return this.#queue.run("sendAsync", options, (startedAt) =>
      waitFor(
        "sendAsync",
        () => {
          this.#checkOpen("sendAsync");
          if (!this.#ring.tryPush(bytes)) return undefined;
          this.#trace?.published(1);
          return true;
        },
        this.#sleeper,
        options,
        this.#tuning,
        "QueueFull",
        startedAt,
      ).then(() => undefined),
    );
  }

  /**
   * Sends every message of `messages` in order, publishing each run that fits with one store and waiting for
   * room between runs. On rejection (as `sendAsync`) the first `n` messages were sent, where the error
   * message says `n`; sizes are checked before anything is sent.
   */
  sendBatch(messages: readonly Uint8Array[], options: AsyncOptions = {}): Promise<void> {
    try {
      checkOptions("sendBatch", options);
      this.#checkOpen("sendBatch");
      this.#checkSizes(messages, 0, "sendBatch");
    } catch (e) {
      return rejected(e);
    }
    let sent = 0;
    return this.#queue.run("sendBatch", options, async (startedAt) => {
      try {
        await waitFor(
          "sendBatch",
          () => {
            this.#checkOpen("sendBatch");
            const run = this.#ring.pushBatch(messages, sent);
            this.#trace?.published(run);
            sent += run; // progress is kept across wake-ups
            return sent === messages.length ? true : undefined;
          },
          this.#sleeper,
          options,
          this.#tuning,
          "QueueFull",
          startedAt,
        );
      } catch (e) {
        if (e instanceof IpcError) {
          throw new IpcError(e.code, `${e.message} (${sent} of ${messages.length} messages of the batch were sent)`, { operation: "sendBatch" }, { cause: e.cause });
        }
        throw e;
      }
    });
  }

  /**
   * Closes this end: the consumer receives what was sent, then its iteration ends. Queued and later sends
   * fail `EndpointClosed`. Idempotent.
   */
  close(): void {
    if (this.#closedAt !== undefined) return;
    this.#closedAt = new Error("close trace").stack ?? "(no stack)";
    this.#ring.close();
    this.#resolveClosed("closed");
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #checkSizes(messages: readonly Uint8Array[], start: number, operation: string): void {
    for (let i = start; i < messages.length; i++) {
      const length = messages[i]!.length;
      if (length > this.#ring.maxMessage) {
        throw new IpcError("MessageTooLarge", `${operation}: message ${i} has ${length} bytes, the ring holds at most ${this.#ring.maxMessage}`, { operation });
      }
    }
  }

  /** Throws if either end closed or died; resolves `closed` the first time it sees that. */
  #checkOpen(operation: string): void {
    const flags = this.#ring.flags();
    if ((flags & ENDED) === 0) return;
    throw this.#closedError(operation, flags);
  }

  #closedError(operation: string, flags: number): IpcError {
    const where = `producer ${this.#index}`;
    if (this.#closedAt !== undefined) {
      return new IpcError("EndpointClosed", `${operation}: ${where} was closed by this end, at\n${this.#closedAt}`, { operation });
    }
    if ((flags & RingFlag.ConsumerDied) !== 0) {
      this.#resolveClosed("peer-died");
      return new IpcError("PeerDied", `${operation}: the consumer of ${where} died; nothing more can be sent`, { operation });
    }
    if ((flags & RingFlag.ConsumerClosed) !== 0) {
      this.#resolveClosed("peer-closed");
      return new IpcError("EndpointClosed", `${operation}: the consumer closed the channel; ${where} can send no more`, { operation });
    }
    this.#resolveClosed("closed");
    return new IpcError("EndpointClosed", `${operation}: ${where} was closed${(flags & RingFlag.ProducerDied) !== 0 ? " (marked dead by an observer)" : " in another handle"}`, {
      operation,
    });
  }
}
