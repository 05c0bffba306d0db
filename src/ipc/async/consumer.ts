/**
 * The consumer end of an async channel: drains every producer ring, round-robin, in this thread only.
 *
 * Fairness: single receives take one message from each ring in turn; batches (`receiveBatch`, `drain`) take
 * at most an equal share of the batch from each ring per pass. A producer that floods its ring therefore
 * delays another's next message by at most one share.
 *
 * End of the stream: a ring ends when its producer closed or was marked dead *and* everything it published
 * has been received. A dead producer's end is reported once, as a `PeerDied` error from the next receive
 * after its ring is drained; the other rings go on. When every ring has ended, receives report the end
 * (`undefined`, `[]`, `-1`, iteration stops) and `closed` resolves.
 *
 * What is enforced against a hostile producer (it shares the ring's memory and may write anything there):
 * HEAD may not run more than the capacity ahead of TAIL (nor behind it), a slot's length may not exceed the
 * slot, and a message split across slots must be a run of full chunks no longer than the ring, published
 * whole; sizes are this end's own (from its descriptor), never the header's. A violation *refuses that
 * producer*: its ring is closed (its sends then fail `EndpointClosed`), nothing more is taken from it, it
 * counts as ended, and it is listed in `refused`. The next receive throws `InvalidMessage` naming the
 * producer, once (as `PeerDied` is reported, and never from a call that has taken messages: nothing is
 * dropped); the other producers' messages flow on, in order, undelayed. Bytes a producer rewrites in a slot
 * after publishing can change what a `drain` callback sees during the call; copies (`tryReceive`,
 * `receiveInto`, `receiveBatch`) are taken once.
 */

import { IpcError } from "../../errors.ts";
import { RingConsumer, RingFlag } from "../../shm/ring.ts";
import type { RingGeometry } from "../../shm/ring.ts";
import { checkConsumerDescriptor, checkProducerDescriptor, takeClaim, type ConsumerDescriptor, type ProducerDescriptor } from "./descriptor.ts";
import type { CloseReason } from "./producer.ts";
import { ringTraceOf, type RingTrace } from "./trace.ts";
import { OpQueue, rejected, checkOptions, defaultAsyncTuning, waitFor, type AsyncOptions, type AsyncWaitTuning, type Sleeper } from "./wait.ts";

const PRODUCER_ENDED = RingFlag.ProducerClosed | RingFlag.ProducerDied;

interface Source {
  readonly ring: RingConsumer;
  /** The producer's number in its channel (the descriptor's index, or its position in the consumer's list). */
  readonly producer: number;
  live: boolean;
}

/** A producer this consumer refused (see the module comment): its number in the channel and why. */
export interface RefusedProducer {
  readonly producer: number;
  /** What was malformed, e.g. "a slot claims 1000000 bytes in a 68-byte slot". */
  readonly reason: string;
}

/** An ended producer not yet reported to the caller: a death (`PeerDied`) or a refusal (`InvalidMessage`). */
interface Report {
  readonly producer: number;
  readonly refused: string | undefined;
}

/** A receive's result inside the wait loop: a message, or the end of the stream. */
const END = null;

export class AsyncConsumer implements Disposable, AsyncIterable<Uint8Array> {
  readonly #sources: Source[] = [];
  readonly #tuning: AsyncWaitTuning;
  /** The ring the next round-robin pass starts at. */
  #next = 0;
  #live = 0;
  /** Producers found dead and drained, or refused, not yet reported. */
  readonly #reports: Report[] = [];
  readonly #refused: RefusedProducer[] = [];
  #anyDied = false;
  #closedAt: string | undefined;
  #resolveClosed: (reason: CloseReason) => void = () => undefined;
  /** Resolves (never rejects) when every producer has ended and been drained, or on `close()`. */
  readonly closed: Promise<CloseReason>;
  readonly #sleeper: Sleeper;
  /** Async receives, in call order. */
  readonly #queue = new OpQueue();
  /** Bells read in `prepare`, one per live source at that moment. */
  #waiting: { source: Source; bell: number }[] = [];
  /** Set when the system is traced (./trace.ts): each batch taken is one record. */
  readonly #trace: RingTrace | undefined;

  private constructor(descriptor: ConsumerDescriptor, tuning: AsyncWaitTuning) {
    this.#tuning = tuning;
    this.#trace = ringTraceOf(descriptor.claim);
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    for (const ring of descriptor.rings) this.#add(ring, this.#sources.length, descriptor);
    this.#sleeper = {
      prepare: () => {
        this.#waiting = this.#sources.filter((s) => s.live).map((source) => ({ source, bell: source.ring.beginWait() }));
      },
      sleep: (ms) => this.#sleep(ms),
      end: () => {
        for (const w of this.#waiting) w.source.ring.endWait();
      },
      interrupt: () => {
        for (const s of this.#sources) if (s.live) s.ring.interrupt();
      },
    };
  }

  /**
   * Takes the consumer role of every ring in `descriptor` (from `AsyncChannel.consumerDescriptor`).
   * @throws IpcError `ResourceBusy` if a ring already has a consumer; `InvalidArgument` for a bad descriptor
   */
  static attach(descriptor: ConsumerDescriptor, tuning: Partial<AsyncWaitTuning> = {}): AsyncConsumer {
    const d = checkConsumerDescriptor(descriptor);
    const consumer = new AsyncConsumer(d, { ...defaultAsyncTuning, ...tuning }); // checks every ring's geometry first
    // The claim lives in memory no producer holds (descriptor.ts): a producer cannot keep us out.
    takeClaim(d.claim, "consumer", "AsyncConsumer.attach");
    return consumer;
  }

  /**
   * Starts draining one more producer ring (made by `AsyncChannel.addProducer` after this end attached). Only
   * the descriptor's `ring`, `index` and geometry are used; give the descriptor itself to the producer.
   */
  addProducer(descriptor: ProducerDescriptor): void {
    const d = checkProducerDescriptor(descriptor, "addProducer");
    this.#checkOpen("addProducer");
    if (this.#live === 0) throw new IpcError("EndpointClosed", "addProducer: every producer has ended; the channel is over", { operation: "addProducer" });
    this.#add(d.ring, d.index, d);
    for (const s of this.#sources) if (s.live) s.ring.interrupt(); // a pending wait re-reads the ring list
  }

  /** True once every producer has ended and everything they sent has been received. */
  get ended(): boolean {
    return this.#live === 0;
  }

  /** Producers refused for a malformed ring, in the order they were found (see the module comment). */
  get refused(): readonly RefusedProducer[] {
    return this.#refused;
  }

  /** Messages waiting in all rings right now (a snapshot). */
  get size(): number {
    let n = 0;
    for (const s of this.#sources) if (s.live) n += Math.min(s.ring.size, s.ring.capacity); // HEAD is the producer's to write: bounded
    return n;
  }

  /**
   * Receives one message (a copy the caller owns), or undefined when none is waiting or the stream has
   * ended (see `ended`).
   * @throws IpcError `PeerDied` once per dead producer, after its messages; `InvalidMessage` once per refused
   *   producer (see the module comment); `EndpointClosed` after `close()`
   */
  tryReceive(): Uint8Array | undefined {
    return this.#take("tryReceive");
  }

  /**
   * Copies the next message into `into` and returns its length, or -1 when none is waiting or the stream has
   * ended. Allocates nothing: the hot-path receive.
   * @throws as `tryReceive`; `MessageTooLarge` if `into` is too short (the message stays queued)
   */
  receiveInto(into: Uint8Array): number {
    // As #take: a ring refused while reading is retired and the next one is tried, at most once per ring.
    for (let tries = this.#sources.length; tries >= 0; tries--) {
      const s = this.#poll("receiveInto");
      if (s === undefined) return -1;
      const n = s.ring.popInto(into);
      if (n >= 0) {
        this.#trace?.received(1);
        return n;
      }
      this.#retireIfEnded(s);
    }
    return -1;
  }

  /**
   * Calls `each(payload, producer)` on up to `max` waiting messages, round-robin across producers, and frees
   * their slots. `payload` is a view into the ring, valid only during the call: copy what you keep. Returns
   * how many were consumed (0: none waiting, or the end). If `each` throws, the messages before that one are
   * consumed and the error propagates.
   * @throws as `tryReceive`
   */
  drain(max: number, each: (payload: Uint8Array, producer: number) => void): number {
    this.#checkOpen("drain");
    this.#report("drain");
    const sources = this.#sources;
    const n = sources.length;
    if (n === 1) {
      // One producer (the common case): no pass bookkeeping.
      const s = sources[0]!;
      if (!s.live) return 0;
      const got = s.ring.popTagged(max, each, s.producer);
      if (got === 0) this.#retireIfEnded(s);
      else this.#trace?.received(got);
      return got;
    }
    let total = 0;
    while (total < max && this.#live > 0) {
      const share = Math.max(1, Math.ceil((max - total) / this.#live));
      let progressed = false;
      for (let k = 0; k < n && total < max; k++) {
        const s = sources[(this.#next + k) % n]!;
        if (!s.live) continue;
        const got = s.ring.popTagged(Math.min(share, max - total), each, s.producer);
        total += got;
        if (got > 0) progressed = true;
        else this.#retireIfEnded(s);
      }
      this.#next = (this.#next + 1) % n;
      if (!progressed) break;
    }
    this.#trace?.received(total);
    return total;
  }

  /** Up to `max` waiting messages (copies), fairly across producers; [] when none is waiting or at the end. */
  receiveBatch(max: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    this.drain(max, (payload) => out.push(payload.slice()));
    return out;
  }

  /**
   * The next message, waiting (without blocking the event loop) until one arrives; undefined once every
   * producer has ended and been drained. Rejects with `QueueEmpty` (timeout 0), `Timeout`, `Aborted` (nothing
   * taken), `PeerDied` (once per dead producer, after its messages) or `EndpointClosed` (after `close()`).
   */
  receiveAsync(options: AsyncOptions = {}): Promise<Uint8Array | undefined> {
    try {
      checkOptions("receiveAsync", options);
    } catch (e) {
      return rejected(e);
    }
    if (this.#queue.length === 0) {
      // The fast path: a message is waiting and no receive is queued before this one.
      try {
        const m = this.#take("receiveAsync");
        if (m !== undefined) return Promise.resolve(m);
      } catch (e) {
        return rejected(e);
      }
    }
    return this.#queue.run("receiveAsync", options, (startedAt) =>
      waitFor<Uint8Array | typeof END>(
      "receiveAsync",
      () => {
        const m = this.#take("receiveAsync");
        if (m !== undefined) return m;
        return this.#live === 0 ? END : undefined;
      },
      this.#sleeper,
      options,
      this.#tuning,
      "QueueEmpty",
      startedAt,
    ).then((m) => m ?? undefined));
  }

  /** As `receiveAsync`, for up to `max` messages at once: resolves with at least one, or [] at the end. */
  receiveBatchAsync(max: number, options: AsyncOptions = {}): Promise<Uint8Array[]> {
    try {
      checkOptions("receiveBatchAsync", options);
    } catch (e) {
      return rejected(e);
    }
    return this.#queue.run("receiveBatchAsync", options, (startedAt) =>
      waitFor(
      "receiveBatchAsync",
      () => {
        const batch = this.receiveBatch(max);
        if (batch.length > 0) return batch;
        return this.#live === 0 ? batch : undefined;
      },
      this.#sleeper,
      options,
      this.#tuning,
      "QueueEmpty",
      startedAt,
    ));
  }

  /**
   * `for await (const message of consumer)`: every message until all producers have ended. A dead producer
   * throws `PeerDied` out of the loop (after its messages). Breaking out of the loop does not close the end.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array, undefined, undefined> {
    for (;;) {
      const message = await this.receiveAsync();
      if (message === undefined) return undefined;
      yield message;
    }
  }

  /**
   * Closes this end: producers' later (and waiting) sends fail `EndpointClosed`; messages still queued are
   * dropped. Receives on this end then fail `EndpointClosed`. Idempotent.
   */
  close(): void {
    if (this.#closedAt !== undefined) return;
    this.#closedAt = new Error("close trace").stack ?? "(no stack)";
    for (const s of this.#sources) s.ring.close();
    this.#resolveClosed("closed");
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #add(buffer: SharedArrayBuffer, producer: number, geometry: RingGeometry): void {
    // Our own geometry (the descriptor's), never the header's, which the producer can rewrite.
    this.#sources.push({ ring: new RingConsumer(buffer, geometry, true), producer, live: true }); // drain hands out views valid only during its callback
    this.#live++;
  }

  /**
   * The next message (a copy), round-robin. A ring refused while its message was read is retired and the next
   * ring is tried, so an honest producer's waiting message is never held back by a refusal; each try either
   * returns a message or retires a ring, so this ends after at most one try per ring.
   */
  #take(operation: string): Uint8Array | undefined {
    for (let tries = this.#sources.length; tries >= 0; tries--) {
      const s = this.#poll(operation);
      if (s === undefined) return undefined;
      const m = s.ring.tryPop();
      if (m !== undefined) {
        this.#trace?.received(1);
        return m;
      }
      this.#retireIfEnded(s);
    }
    return undefined;
  }

  /** The next source with a message, round-robin, retiring drained ended rings on the way. */
  #poll(operation: string): Source | undefined {
    this.#checkOpen(operation);
    this.#report(operation);
    const sources = this.#sources;
    const n = sources.length;
    for (let k = 0; k < n; k++) {
      const i = (this.#next + k) % n;
      const s = sources[i]!;
      if (!s.live) continue;
      if (s.ring.ready() > 0 || !this.#retireIfEnded(s)) {
        if (s.ring.ready() === 0) continue;
        this.#next = (i + 1) % n;
        return s;
      }
    }
    this.#report(operation); // a ring retired just now may have died or been refused (nothing was taken)
    return undefined;
  }

  /**
   * Retires `s` if its producer ended and its ring is empty. FLAGS is read before HEAD: a producer publishes
   * before it closes, so an end seen here means every message it sent is already visible.
   */
  #retireIfEnded(s: Source): boolean {
    if (!s.live) return false;
    const refused = s.ring.refused; // our own verdict, in our own memory: no producer can clear it
    if (refused === undefined) {
      const flags = s.ring.flags(); // acquire: the producer's last HEAD store came before its close
      if ((flags & PRODUCER_ENDED) === 0 || s.ring.available() > 0) {
        if (s.ring.refused === undefined) return false; // (available() may have just refused it)
      } else if ((flags & RingFlag.ProducerClosed) === 0) {
        this.#reports.push({ producer: s.producer, refused: undefined });
        this.#anyDied = true;
      }
    }
    s.live = false;
    this.#live--;
    if (s.ring.refused !== undefined) {
      this.#refused.push({ producer: s.producer, reason: s.ring.refused });
      this.#reports.push({ producer: s.producer, refused: s.ring.refused });
    }
    if (this.#live === 0) this.#resolveClosed(this.#anyDied ? "peer-died" : this.#refused.length > 0 ? "peer-refused" : "peer-closed");
    return true;
  }

  /** Throws the oldest unreported end of a producer, if any: called only before anything is taken. */
  #report(operation: string): void {
    const r = this.#reports.shift();
    if (r === undefined) return;
    if (r.refused !== undefined) {
      throw new IpcError(
        "InvalidMessage",
        `${operation}: producer ${r.producer} wrote a malformed ring (${r.refused}); it is refused: its ring is closed and nothing more is taken from it, the other producers go on`,
        { operation },
      );
    }
    throw new IpcError("PeerDied", `${operation}: producer ${r.producer} died; every message it published has been received`, { operation });
  }

  #checkOpen(operation: string): void {
    if (this.#closedAt !== undefined) {
      throw new IpcError("EndpointClosed", `${operation}: this consumer was closed, at\n${this.#closedAt}`, { operation });
    }
  }

  /** Sleeps on every live ring's bell at once; any one moving ends the sleep. */
  #sleep(ms: number): unknown {
    const waiting = this.#waiting;
    if (waiting.length === 0) return "not-equal"; // nothing live: the caller's re-check reports the end
    if (waiting.length === 1) return waiting[0]!.source.ring.sleep(waiting[0]!.bell, ms);
    const sleeps: Promise<unknown>[] = [];
    for (const w of waiting) {
      const r = w.source.ring.sleep(w.bell, ms);
      if (!(r instanceof Promise)) {
        this.#interruptAll(waiting);
        return r;
      }
      sleeps.push(r);
    }
    // When one bell moves, wake our sleeps on the others too, so no stale waiter outlives this wait.
    return Promise.race(sleeps).then(() => {
      this.#interruptAll(waiting);
    });
  }

  #interruptAll(waiting: readonly { source: Source }[]): void {
    for (const w of waiting) w.source.ring.interrupt();
  }
}
