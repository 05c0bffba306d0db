/**
 * `AsyncChannel`: a bounded, lock-free channel of fixed-size slots (VeridianOS `AsyncChannel`), made of one
 * single-producer single-consumer ring per producer (src/shm/ring.ts). There is never a multi-producer ring:
 * a second producer gets a ring of its own (`addProducer`), and the consumer drains the rings round-robin,
 * so a flooding producer fills only its own ring and cannot starve another.
 *
 * The `AsyncChannel` object is the creator's (the kernel's) handle: it makes the rings and hands out the
 * ends as descriptors. It never sends or receives itself.
 */

import { IpcError } from "../../errors.ts";
import { createRing, ringGeometry, type RingGeometry } from "../../shm/ring.ts";
import { createClaim, markPeerDied, type ConsumerDescriptor, type ProducerDescriptor } from "./descriptor.ts";
import { AsyncConsumer } from "./consumer.ts";
import { AsyncProducer } from "./producer.ts";
import type { AsyncWaitTuning } from "./wait.ts";

export interface AsyncChannelOptions {
  /** Largest message, in bytes (default 64: the design's inline size). Larger ones fail `MessageTooLarge`. */
  readonly slotBytes?: number;
  /** Producer rings to make now (default 1); more with `addProducer()`. */
  readonly producers?: number;
}

export class AsyncChannel {
  /** Slots per producer ring: the requested capacity rounded up to a power of two. */
  readonly capacity: number;
  /** Largest message in bytes. */
  readonly slotBytes: number;
  readonly #rings: SharedArrayBuffer[] = [];
  /** Each producer's claim word, by ring; given only in that producer's descriptor. */
  readonly #producerClaims: SharedArrayBuffer[] = [];
  /** The consumer's claim word; given only in the consumer's descriptor. */
  readonly #consumerClaim = createClaim();
  /** The rings' geometry, read from the first ring when this thread made it (before any peer held it). */
  readonly #geometry: RingGeometry;

  private constructor(first: SharedArrayBuffer, slotBytes: number) {
    this.#geometry = ringGeometry(first);
    this.capacity = this.#geometry.capacity;
    this.slotBytes = slotBytes;
    this.#rings.push(first);
    this.#producerClaims.push(createClaim());
  }

  /**
   * @param capacity messages each producer may have in flight (1..2^24, rounded up to a power of two)
   * @throws IpcError `InvalidArgument` for a capacity or slot size out of range
   */
  static create(capacity: number, options: AsyncChannelOptions = {}): AsyncChannel {
    const slotBytes = options.slotBytes ?? 64;
    const producers = options.producers ?? 1;
    if (!Number.isInteger(producers) || producers < 1 || producers > 4096) {
      throw new IpcError("InvalidArgument", `AsyncChannel.create: producers must be 1..4096, got ${String(producers)}`, { operation: "AsyncChannel.create" });
    }
    const first = createRing({ capacity, slotPayload: slotBytes }); // validates both numbers
    const channel = new AsyncChannel(first, slotBytes);
    for (let i = 1; i < producers; i++) channel.addProducer();
    return channel;
  }

  /** Producer rings so far. */
  get producers(): number {
    return this.#rings.length;
  }

  /**
   * Makes a new producer ring and returns its end. A consumer attached before this call does not see it
   * until it is given the same descriptor with `AsyncConsumer.addProducer`.
   */
  addProducer(): ProducerDescriptor {
    this.#rings.push(createRing({ capacity: this.capacity, slotPayload: this.slotBytes }));
    this.#producerClaims.push(createClaim());
    return this.producerDescriptor(this.#rings.length - 1);
  }

  /** The end of producer ring `index` (default 0), for `AsyncProducer.attach` in exactly one thread. */
  producerDescriptor(index = 0): ProducerDescriptor {
    const ring = this.#rings[index];
    if (ring === undefined) {
      throw new IpcError("InvalidArgument", `producerDescriptor: no producer ring ${index} (the channel has ${this.#rings.length})`, {
        operation: "producerDescriptor",
      });
    }
    const { capacity, slotBytes } = this.#geometry;
    return { kind: "isokit.async.producer", ring, index, capacity, slotBytes, claim: this.#producerClaims[index]! };
  }

  /** The consumer's end: every ring made so far. For `AsyncConsumer.attach` in exactly one thread. */
  consumerDescriptor(): ConsumerDescriptor {
    const { capacity, slotBytes } = this.#geometry;
    return { kind: "isokit.async.consumer", rings: [...this.#rings], capacity, slotBytes, claim: this.#consumerClaim };
  }

  /** Attaches producer `index` in this thread (tests, same-thread pipelines). */
  producer(index = 0, tuning?: Partial<AsyncWaitTuning>): AsyncProducer {
    return AsyncProducer.attach(this.producerDescriptor(index), tuning);
  }

  /** Attaches the consumer in this thread. */
  consumer(tuning?: Partial<AsyncWaitTuning>): AsyncConsumer {
    return AsyncConsumer.attach(this.consumerDescriptor(), tuning);
  }

  /** Marks producer `index`, or the consumer, dead (see `markPeerDied`). */
  markDied(end: "consumer" | { producer: number }): void {
    markPeerDied(end === "consumer" ? this.consumerDescriptor() : this.producerDescriptor(end.producer));
  }
}
