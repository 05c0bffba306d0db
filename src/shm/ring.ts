/**
 * A bounded single-producer single-consumer ring of fixed-size slots in a SharedArrayBuffer: the one SPSC ring
 * of the system, under asynchronous channels and under the per-sender queues of bounded endpoint channels
 * (`createChannel(capacity)`, protocol/endpoint.ts "Queue slot", which adds its words in line 0's free bytes). One producer and one consumer, which
 * may be on different threads but never change roles (padenot/ringbuf.js's rule); several producers are
 * several rings, drained by the consumer in turn.
 *
 * Layout (byte offsets; HEAD and TAIL each on its own 128-byte line with one writer; line 0 is read-mostly):
 *
 *  byte | field            | written by                                      | read by
 *  -----+------------------+-------------------------------------------------+----------------------------------
 *     0 | MAGIC            | creator                                         | `isRing` only (bare rings, debugging)
 *     4 | CAPACITY         | creator (slots, a power of two)                 | `ringGeometry`, by the creator only
 *     8 | SLOT_BYTES       | creator (8 + payload bytes, a multiple of 8)    | `ringGeometry`, by the creator only
 *    12 | FLAGS            | Atomics.or only, bits never cleared: 1 producer | both, once per operation
 *       |                  | closed (producer), 2 consumer closed (consumer),|
 *       |                  | 4 producer died, 8 consumer died (an observer:  |
 *       |                  | kernel, harness)                                |
 *    16 | CONSUMER_WAITING | consumer only: 1 while it may sleep on C_BELL   | producer, after each publish
 *    20 | PRODUCER_WAITING | producer only: 1 while it may sleep on P_BELL   | consumer, after each free
 *    24 | (reserved)       | nobody (was PRODUCER_CLAIM: claims now live in  | nobody
 *    28 | (reserved)       | each role's own descriptor memory, see below)   | nobody
 *    32 | C_BELL           | Atomics.add by producer / closers / observers   | consumer sleeps on it
 *    36 | P_BELL           | Atomics.add by consumer / closers / observers   | producer sleeps on it
 *    40 | (free)           | for the user of the ring: an endpoint queue's   | (see protocol/endpoint.ts)
 *   ... |                  | GONE, THROTTLED, SLOT_INDEX (40..51)            |
 *   128 | HEAD             | producer only: slots published (mod 2^32)       | consumer
 *   256 | TAIL             | consumer only: slots consumed (mod 2^32)        | producer
 *   384 | slots...         | slot i at 384 + (i mod CAPACITY) * SLOT_BYTES: [u32 length][u32 tag][payload]
 *
 * A slot's payload starts 8 bytes in, so it is 8-aligned: V8 copies into shared memory with word stores only
 * when source and target agree mod 8 (a 4 KiB message copied 4 bytes off costs ~6x an aligned one here; 64
 * bytes ~2x). The tag word travels with the message for the ring's user (an endpoint queue's label); an async
 * channel leaves it 0.
 *
 * Ordering: the producer writes a slot with plain stores, then publishes it (or a whole batch) with one
 * `Atomics.store` of HEAD; the consumer reads HEAD with `Atomics.load`, reads the slots, then frees them
 * with one `Atomics.store` of TAIL. `HEAD - TAIL` (mod 2^32) is the number of full slots, never above
 * CAPACITY. The consumer refuses a slot whose length field is out of range (the producer is untrusted).
 * Each side keeps a private copy of the other's counter and reloads it only when its copy says the ring is
 * full (producer) or empty (consumer): the other side's line is then fetched once per lap, not per message.
 *
 * Sleeping (the slow path: the bell half of the one wait/wake primitive, `src/shm/wait.ts`): a side that finds no room (no
 * message) stores its WAITING word = 1, reads its bell, re-checks the counter and FLAGS, and only then sleeps
 * on the bell with the value it read. Whoever publishes, frees, closes or marks a death does its store
 * first and then bumps the bell (`Atomics.add`, so the sleeper's value is stale) and notifies it: either the
 * sleeper's re-check saw the event, or the bell moved after the sleeper read it and the sleep returns at once.
 * The publisher bumps the bell only when the WAITING word says so (one extra load of a line that stays
 * shared on the hot path); closes and deaths always bump. Waiting on a bell rather than on HEAD or TAIL is
 * what lets a close (which moves no counter) wake a sleeper without a race.
 *
 * A hostile peer can clear FLAGS bits, WAITING words or bells in memory it shares: the cost is its own
 * (it may send into a closed ring) or one sleep slice of the other side (a missed bell), never a hang.
 *
 * Trust (issue #11): every word above is writable by both sides, so nothing a side relies on is read back from
 * it. The geometry (CAPACITY, SLOT_BYTES) is read once, by the creator, before any peer holds the buffer
 * (`ringGeometry`), travels in each side's own descriptor and is checked against the buffer's byte length,
 * which nobody can change; a side never re-reads it. The claims that keep a second producer or consumer off a
 * ring live in a small buffer of each role's own (see src/ipc/async/descriptor.ts), not here. The consumer
 * bounds HEAD - TAIL by its own capacity and each length word by its own slot size, reads each length word
 * once, and walks a MORE chain at most its own capacity long: a violation *refuses* the ring (`refused`, the
 * ConsumerClosed flag set, the ring reads as empty from then on) instead of throwing, so the caller can drop
 * that producer and go on with the others. The producer bounds TAIL the same way (a typed error).
 * `markRingPeerDied` touches only FLAGS and the bells, at fixed offsets, so it cannot fail on what a PD wrote.
 */

import { IpcError } from "../errors.ts";
import { copyBytes } from "./copy-bytes.ts";
import { announce, bump, ring, sleep, withdraw } from "./wait.ts";

const MAGIC = 0x52_6f_73_69; // "isoR"
const LINE = 128;
const I32_MAGIC = 0;
const I32_CAPACITY = 1;
const I32_SLOT_BYTES = 2;
const I32_FLAGS = 3;
const I32_CONSUMER_WAITING = 4;
const I32_PRODUCER_WAITING = 5;
// Words 6 and 7 are reserved (they held the attach claims, which a peer could set: see the header).
const I32_CONSUMER_BELL = 8;
const I32_PRODUCER_BELL = 9;
const I32_HEAD = LINE / 4;
const I32_TAIL = (2 * LINE) / 4;
const DATA = 3 * LINE;
/** A slot's length and tag words: its payload starts this many bytes in (8-aligned). */
const SLOT_HEADER = 8;

/**
 * The header's byte offsets, for a user that adds words of its own in line 0's free bytes (from `FREE`) and
 * must agree with this layout (protocol/endpoint.ts "Queue slot"; tests/ring.test.ts checks they do).
 */
export const RING_LAYOUT = {
  MAGIC: I32_MAGIC * 4,
  CAPACITY: I32_CAPACITY * 4,
  SLOT_BYTES: I32_SLOT_BYTES * 4,
  FLAGS: I32_FLAGS * 4,
  CONSUMER_WAITING: I32_CONSUMER_WAITING * 4,
  PRODUCER_WAITING: I32_PRODUCER_WAITING * 4,
  CONSUMER_BELL: I32_CONSUMER_BELL * 4,
  PRODUCER_BELL: I32_PRODUCER_BELL * 4,
  FREE: 40,
  HEAD: I32_HEAD * 4,
  TAIL: I32_TAIL * 4,
  SLOTS: DATA,
  /** Within a slot: the length word at 0, the tag word at 4, the payload from here. */
  SLOT_PAYLOAD: SLOT_HEADER,
} as const;
/** Set in a slot's length word when the message goes on in the next slot. */
const MORE = 0x8000_0000;

/** Bits of the FLAGS word. Set with `Atomics.or`, never cleared. */
export const RingFlag = {
  ProducerClosed: 1,
  ConsumerClosed: 2,
  ProducerDied: 4,
  ConsumerDied: 8,
} as const;
export type RingFlag = (typeof RingFlag)[keyof typeof RingFlag];

/** Which end of a ring. */
export type RingSide = "producer" | "consumer";

export interface RingOptions {
  /** Number of slots; rounded up to a power of two. */
  readonly capacity: number;
  /** Largest payload in bytes. */
  readonly slotPayload: number;
}

/**
 * A ring's sizes as its creator made them: each side keeps its own copy (in its descriptor) and never
 * re-reads them from the shared header, which the peer can rewrite.
 */
export interface RingGeometry {
  /** Slots, a power of two. */
  readonly capacity: number;
  /** Bytes per slot: the u32 length and tag words, then the payload; a multiple of 8. */
  readonly slotBytes: number;
}

/** Creates the shared memory of a ring. Hand it to exactly one producer and one consumer. */
export function createRing(options: RingOptions): SharedArrayBuffer {
  const { capacity, slotPayload } = options;
  if (!Number.isInteger(capacity) || capacity < 1 || capacity > 1 << 24) {
    throw new IpcError("InvalidArgument", `createRing: capacity must be 1..2^24 slots, got ${String(capacity)}`, { operation: "createRing" });
  }
  if (!Number.isInteger(slotPayload) || slotPayload < 0 || slotPayload > 1 << 20) {
    throw new IpcError("InvalidArgument", `createRing: slotPayload must be 0..2^20 bytes, got ${String(slotPayload)}`, { operation: "createRing" });
  }
  const slots = 2 ** Math.ceil(Math.log2(capacity));
  const slotBytes = SLOT_HEADER + Math.ceil(slotPayload / 8) * 8;
  const buffer = new SharedArrayBuffer(DATA + slots * slotBytes);
  const i32 = new Int32Array(buffer);
  i32[I32_MAGIC] = MAGIC;
  i32[I32_CAPACITY] = slots;
  i32[I32_SLOT_BYTES] = slotBytes;
  return buffer;
}

/**
 * The geometry `createRing` wrote in `buffer`'s header. For the creator, before the buffer is handed out: a
 * peer can rewrite the header afterwards.
 * @throws IpcError `InvalidArgument` if `buffer` is not a ring made by `createRing`
 */
export function ringGeometry(buffer: SharedArrayBuffer): RingGeometry {
  if (!isRing(buffer)) throw new IpcError("InvalidArgument", "ringGeometry: the buffer is not a ring made by createRing", { operation: "ringGeometry" });
  const i32 = new Int32Array(buffer, 0, 3);
  return { capacity: i32[I32_CAPACITY]!, slotBytes: i32[I32_SLOT_BYTES]! };
}

/** True if `geometry` is one `createRing` makes and fits `buffer` exactly (its length nobody can change). */
export function fitsRing(buffer: unknown, geometry: unknown): boolean {
  if (!(buffer instanceof SharedArrayBuffer) || typeof geometry !== "object" || geometry === null) return false;
  const { capacity, slotBytes } = geometry as Partial<RingGeometry>;
  return (
    typeof capacity === "number" &&
    typeof slotBytes === "number" &&
    Number.isInteger(capacity) &&
    Number.isInteger(slotBytes) &&
    capacity >= 1 &&
    capacity <= 1 << 24 &&
    (capacity & (capacity - 1)) === 0 &&
    slotBytes >= 8 &&
    slotBytes <= (1 << 20) + 8 &&
    slotBytes % 8 === 0 &&
    buffer.byteLength === DATA + capacity * slotBytes
  );
}

/** True if `buffer` looks like a ring made by `createRing` (magic and sizes agree with its length). */
export function isRing(buffer: unknown): buffer is SharedArrayBuffer {
  if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength < DATA) return false;
  const i32 = new Int32Array(buffer, 0, 3);
  const capacity = i32[I32_CAPACITY] ?? 0;
  const slotBytes = i32[I32_SLOT_BYTES] ?? 0;
  return (
    i32[I32_MAGIC] === MAGIC &&
    capacity >= 1 &&
    (capacity & (capacity - 1)) === 0 &&
    slotBytes >= 8 &&
    slotBytes % 8 === 0 &&
    DATA + capacity * slotBytes <= buffer.byteLength
  );
}

/**
 * For whoever notices that one end's thread is gone (a kernel, a test harness on a worker's 'exit'): marks
 * that end dead and wakes the other, whose waits then end with `PeerDied` (after draining, for a consumer).
 * Idempotent; needs no attach, so the observer never takes a role.
 */
export function markRingPeerDied(buffer: SharedArrayBuffer, dead: RingSide): void {
  // Only the buffer's type and length, which no PD can change: never MAGIC or the sizes, which the dead PD may
  // have rewritten (a kernel's death handler must not fail on that). FLAGS and the bells are at fixed offsets.
  if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength < DATA) {
    throw new IpcError("InvalidArgument", "markPeerDied: not a ring's SharedArrayBuffer (too short for a ring header)", { operation: "markPeerDied" });
  }
  setFlagAndRing(new Int32Array(buffer), dead === "producer" ? RingFlag.ProducerDied : RingFlag.ConsumerDied);
}

/**
 * Wakes whatever sleeps on either bell, whatever the WAITING words say: for an observer that published an end
 * of its own elsewhere (the kernel, after it marks an endpoint queue GONE). Touches only the bells.
 */
export function wakeRing(i32: Int32Array): void {
  bump(i32, I32_CONSUMER_BELL);
  bump(i32, I32_PRODUCER_BELL);
}

/** Sets a FLAGS bit, then bumps and notifies both bells (see the header: the bump is what a sleeper sees). */
function setFlagAndRing(i32: Int32Array, flag: RingFlag): void {
  Atomics.or(i32, I32_FLAGS, flag); // publishes the close or death before the bells move
  bump(i32, I32_CONSUMER_BELL);
  bump(i32, I32_PRODUCER_BELL);
}

class RingView {
  protected readonly i32: Int32Array;
  protected readonly u32: Uint32Array;
  protected readonly bytes: Uint8Array;
  readonly capacity: number;
  protected readonly mask: number;
  protected readonly slotBytes: number;
  /** Largest payload a slot holds. */
  readonly slotPayload: number;
  /**
   * Largest message: one larger than a slot travels in consecutive slots (each but the last full, its length
   * word flagged MORE) published together, so it can be at most the whole ring.
   */
  readonly maxMessage: number;
  /** The ring's memory (for descriptors and observers). */
  readonly buffer: SharedArrayBuffer;

  /**
   * @param geometry the sizes the ring was created with, from this side's own descriptor; without it they are
   *   read from the header (bare rings whose creator is this thread; a peer could have rewritten them)
   */
  constructor(buffer: SharedArrayBuffer, geometry?: RingGeometry) {
    const g = geometry ?? ringGeometry(buffer);
    if (!fitsRing(buffer, g)) throw new IpcError("InvalidArgument", "ring: the geometry does not fit the buffer (not this ring's descriptor)", { operation: "ring" });
    this.buffer = buffer;
    this.i32 = new Int32Array(buffer);
    this.u32 = new Uint32Array(buffer);
    this.bytes = new Uint8Array(buffer);
    const { capacity, slotBytes } = g;
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.slotBytes = slotBytes;
    this.slotPayload = slotBytes - SLOT_HEADER;
    this.maxMessage = capacity * this.slotPayload;
  }

  /** Slots a message of `length` bytes takes. */
  slotsFor(length: number): number {
    return length <= this.slotPayload ? 1 : Math.ceil(length / this.slotPayload);
  }

  /** Full slots right now (a snapshot: the other side may move it at once). */
  get size(): number {
    return (Atomics.load(this.u32, I32_HEAD) - Atomics.load(this.u32, I32_TAIL)) >>> 0;
  }

  /** The FLAGS word (`RingFlag` bits). A snapshot; bits are only ever added. */
  flags(): number {
    return Atomics.load(this.i32, I32_FLAGS);
  }

  protected slotOffset(index: number): number {
    return DATA + (index & this.mask) * this.slotBytes;
  }

  /**
   * Sleeps (without blocking the thread) until `bell` moves from `value` or `ms` pass. Resolves "ok",
   * "not-equal" or "timed-out"; the caller re-checks what it waits for either way. This is the raw
   * `Atomics.waitAsync` of the primitive: a consumer of several rings races one per ring, and the caller
   * (ipc/async/wait.ts) bounds the sleep with its own timer, as `sleepAsync` of shm/wait.ts does.
   */
  protected sleepOn(bell: number, value: number, ms: number): Promise<string> | string {
    return Atomics.waitAsync(this.i32, bell, value, ms).value; // a promise only when it really sleeps
  }
}

export class RingProducer extends RingView {
  /** Our own copy of HEAD: only we write it. */
  private head: number;
  /** The consumer's TAIL as last loaded: a lower bound of the real one, refreshed only when the ring looks full. */
  private tailSeen: number;

  constructor(buffer: SharedArrayBuffer, geometry?: RingGeometry) {
    super(buffer, geometry);
    this.head = Atomics.load(this.u32, I32_HEAD);
    this.tailSeen = Atomics.load(this.u32, I32_TAIL);
  }

  /** Slots published so far (mod 2^32): our own HEAD. */
  get published(): number {
    return this.head;
  }

  /** Free slots right now (at least this many; the consumer may free more at once). */
  get free(): number {
    this.tailSeen = Atomics.load(this.u32, I32_TAIL); // acquire: the consumer is done with the slots before TAIL
    return this.room();
  }

  /** Free slots by our copy of TAIL; reloads TAIL only when that copy says full. */
  private room(): number {
    let room = this.capacity - ((this.head - this.tailSeen) >>> 0);
    if (room === 0) {
      this.tailSeen = Atomics.load(this.u32, I32_TAIL); // acquire, as in `free`
      room = this.capacity - ((this.head - this.tailSeen) >>> 0);
    }
    if (room < 0 || room > this.capacity) {
      // A hostile consumer's TAIL: we never write past what our own count allows, and say so, typed.
      this.tailSeen = (this.head - this.capacity) >>> 0; // reads as full: no write lands on an unread slot
      throw new IpcError("InvalidMessage", "send: the consumer's TAIL is ahead of what was published (a corrupted ring); nothing was sent", { operation: "send" });
    }
    return room;
  }

  /**
   * Writes and publishes one message. Returns false, writing nothing, when the ring is full.
   * @throws IpcError `MessageTooLarge` when `payload` exceeds the slot
   */
  tryPush(payload: Uint8Array): boolean {
    this.checkSize(payload, "tryPush");
    const k = this.slotsFor(payload.length);
    if (this.room() < k && this.free < k) return false;
    this.write(this.head, payload);
    this.publish(k);
    return true;
  }

  /**
   * Writes and publishes one message of one slot, `data`, with `tag` in its tag word (an endpoint queue's entry:
   * the tag is its label). Returns false, writing nothing, when the ring is full.
   * @throws IpcError `MessageTooLarge` when `data` exceeds a slot
   */
  tryPushTagged(tag: number, data: Uint8Array): boolean {
    if (data.length > this.slotPayload) {
      throw new IpcError("MessageTooLarge", `send: ${data.length} bytes do not fit a ${this.slotPayload}-byte entry`, { operation: "send" });
    }
    if (this.room() < 1 && this.free < 1) return false;
    const at = this.slotOffset(this.head);
    this.u32[at >> 2] = data.length; // plain stores, published by the store of HEAD
    this.u32[(at >> 2) + 1] = tag >>> 0;
    this.bytes.set(data, at + SLOT_HEADER);
    this.publish(1);
    return true;
  }

  /**
   * Writes as many of `payloads` (from `start`) as fit and publishes them with one store: the batch costs one
   * cache-line transfer of HEAD, not one per message. Returns how many were written.
   */
  pushBatch(payloads: readonly Uint8Array[], start = 0): number {
    // One pass: each message is checked and written as it comes; nothing is published before the end, so a
    // message that does not fit the ring throws with none of the batch sent (what was written stays unpublished).
    const u32 = this.u32;
    const bytes = this.bytes;
    const slotPayload = this.slotPayload;
    const head = this.head;
    let room = this.room();
    let n = start;
    let slots = 0;
    for (; n < payloads.length; n++) {
      const payload = payloads[n]!;
      const length = payload.length;
      const k = length <= slotPayload ? 1 : this.slotsFor(length);
      if (slots + k > room) {
        this.checkSize(payload, "pushBatch");
        room = this.free; // room() may be stale-low
        if (slots + k > room) break;
      }
      const index = (head + slots) >>> 0;
      if (k === 1) {
        const at = this.slotOffset(index);
        u32[at >> 2] = length; // plain stores, published by the store of HEAD
        bytes.set(payload, at + SLOT_HEADER);
      } else {
        this.checkSize(payload, "pushBatch");
        this.write(index, payload);
      }
      slots += k;
    }
    if (slots > 0) this.publish(slots);
    return n - start;
  }

  /** Publishes `n` written slots, then rings the consumer's bell only if it may be asleep. */
  private publish(n: number): void {
    this.head = (this.head + n) >>> 0;
    Atomics.store(this.u32, I32_HEAD, this.head); // publishes the slots (release); seq-cst, so ring's load is ordered after it
    ring(this.i32, I32_CONSUMER_BELL, I32_CONSUMER_WAITING);
  }

  /** Marks the producer closed (the consumer drains what was published, then sees the end) and wakes it. */
  close(): void {
    setFlagAndRing(this.i32, RingFlag.ProducerClosed);
  }

  /**
   * The first half of a sleep for room: announces that we may sleep and returns the bell value to sleep on.
   * Re-check `free` and `flags()` after this, then `sleep(bell, ms)`, then `endWait()`.
   */
  beginWait(): number {
    return announce(this.i32, I32_PRODUCER_BELL, I32_PRODUCER_WAITING);
  }

  sleep(bell: number, ms: number): Promise<string> | string {
    return this.sleepOn(I32_PRODUCER_BELL, bell, ms);
  }

  /** As `sleep`, blocking the thread (a synchronous sender): returns once the bell moved or `ms` passed. */
  sleepSync(bell: number, ms: number): void {
    sleep(this.i32, I32_PRODUCER_BELL, bell, ms);
  }

  endWait(): void {
    withdraw(this.i32, I32_PRODUCER_WAITING);
  }

  /** Wakes a sleep of our own (an abort): bumps our bell, so the pending sleep returns. */
  interrupt(): void {
    bump(this.i32, I32_PRODUCER_BELL);
  }

  private checkSize(payload: Uint8Array, operation: string): void {
    if (payload.length > this.maxMessage) {
      throw new IpcError(
        "MessageTooLarge",
        `${operation}: ${payload.length} bytes do not fit the ring (${this.capacity} slots of ${this.slotPayload} bytes)`,
        { operation },
      );
    }
  }

  /** Writes a message at slot `index` (and the slots after it, for one larger than a slot). Not published. */
  private write(index: number, payload: Uint8Array): void {
    if (payload.length > this.slotPayload) {
      const chunk = this.slotPayload;
      for (let offset = 0, i = index; offset < payload.length; offset += chunk, i = (i + 1) >>> 0) {
        const length = Math.min(chunk, payload.length - offset);
        const at = this.slotOffset(i);
        this.u32[at >> 2] = offset + length < payload.length ? (length | MORE) >>> 0 : length;
        this.bytes.set(payload.subarray(offset, offset + length), at + SLOT_HEADER);
      }
      return;
    }
    const at = this.slotOffset(index);
    this.u32[at >> 2] = payload.length;
    this.bytes.set(payload, at + SLOT_HEADER);
  }
}

/** The largest ring whose consumer may keep a view per slot (`reuseViews`): 1,024 views are ~100 KB. */
const VIEW_CACHE_SLOTS = 1024;

export class RingConsumer extends RingView {
  /** Our own copy of TAIL: only we write it. */
  private tail: number;
  /** The producer's HEAD as last loaded; refreshed only when our copy says the ring is empty. */
  private headSeen: number;
  /** Slots the message last read by `read` takes (1, or a split message's run). */
  private taken = 1;
  /** The tag word of the message `peek` returned last (the producer's word: the ring's user checks it). */
  tag = 0;
  /**
   * Why this ring was refused (the first malformation seen), or undefined. Once set the ring reads as empty,
   * for good, and its ConsumerClosed flag is set so the producer's sends fail: the producer is untrusted, and a
   * consumer of several rings drops this one and goes on with the others (src/ipc/async/consumer.ts).
   */
  refused: string | undefined;
  /**
   * With `reuseViews`: each slot's last payload view and its length, handed out again while a slot's messages
   * keep their length (a new view per message was a third of a drain's cost). The lengths are kept here, not
   * read back from the view, whose properties the program it was handed to can shadow.
   */
  private readonly views: (Uint8Array | undefined)[] | undefined;
  private readonly viewLengths: Int32Array | undefined;

  /**
   * @param reuseViews hand `popTagged`/`popBatch` callbacks the same view object for a slot whose message length
   *   repeats (their views are valid only during the call anyway); only for rings of at most VIEW_CACHE_SLOTS
   *   slots, whose views cost little memory. Nothing else reads those objects once handed out.
   */
  constructor(buffer: SharedArrayBuffer, geometry?: RingGeometry, reuseViews = false) {
    super(buffer, geometry);
    this.tail = Atomics.load(this.u32, I32_TAIL);
    this.headSeen = this.tail;
    const cached = reuseViews && this.capacity <= VIEW_CACHE_SLOTS;
    this.views = cached ? new Array<Uint8Array | undefined>(this.capacity).fill(undefined) : undefined;
    this.viewLengths = cached ? new Int32Array(this.capacity) : undefined;
  }

  /** Full slots we may read now: HEAD - TAIL, refusing the ring if the producer claims more than the capacity. */
  available(): number {
    if (this.refused !== undefined) return 0;
    this.headSeen = Atomics.load(this.u32, I32_HEAD); // acquire: slots before HEAD are written
    const full = (this.headSeen - this.tail) >>> 0;
    if (full > this.capacity) return this.refuse(`HEAD is ${full} slots ahead of TAIL in a ring of ${this.capacity}`);
    return full;
  }

  /**
   * Full slots we may read now, at least `want` if that many are published: by our copy of HEAD, reloading
   * HEAD only when that copy shows fewer than `want` (so a lap of single receives loads HEAD once).
   */
  ready(want = 1): number {
    const full = (this.headSeen - this.tail) >>> 0;
    return full >= want ? full : this.available();
  }

  /** Reads and frees one message, or returns undefined if the ring is empty (or refused). The bytes are a copy. */
  tryPop(): Uint8Array | undefined {
    if (this.ready() === 0) return undefined;
    const message = this.read(this.tail, 0);
    if (message === undefined) return undefined;
    const k = this.taken;
    const copy = k === 1 ? copyBytes(message, 0, message.length) : message; // the copy the caller keeps (a split message is one already)
    this.free(k);
    return copy;
  }

  /**
   * The next message without taking it: a view into its slot (valid until `skip`; its tag word in `tag`), or
   * undefined if the ring is empty or refused. For a consumer that decides after looking (an endpoint queue checks the sender's
   * capability and rate limit first): `skip` takes it, anything else leaves it for the next look.
   */
  peek(): Uint8Array | undefined {
    if (this.ready() === 0) return undefined;
    this.tag = this.u32[(this.slotOffset(this.tail) >> 2) + 1]! >>> 0;
    return this.read(this.tail, 0);
  }

  /** Frees the message the last `peek` returned (and rings a producer waiting for room). */
  skip(): void {
    this.free(this.taken);
  }

  /**
   * Refuses the ring from outside (a message well formed for the ring but not for its user, such as an endpoint
   * queue entry too short to hold its label): as a malformed slot does, for good.
   */
  refuseRing(reason: string): void {
    this.refuse(reason);
  }

  /**
   * Copies the next message into `into` (from its start) and frees its slot. Returns its length, or -1 if the
   * ring is empty (or refused). Allocates nothing, but for a message split across slots.
   * @throws IpcError `MessageTooLarge` when `into` is shorter than the message, which then stays in the ring
   */
  popInto(into: Uint8Array): number {
    if (this.ready() === 0) return -1;
    const message = this.read(this.tail, 0);
    if (message === undefined) return -1;
    if (message.length > into.length) {
      throw new IpcError("MessageTooLarge", `receiveInto: a ${message.length}-byte message does not fit a ${into.length}-byte buffer`, {
        operation: "receiveInto",
      });
    }
    into.set(message);
    this.free(this.taken);
    return message.length;
  }

  /**
   * Calls `each` on up to `max` messages in order, then frees them all with one store. The view passed to
   * `each` is valid only during the call (it points into the ring). Returns how many were consumed. If `each`
   * throws, the messages before the one it threw on are freed and the rest stay.
   */
  popBatch(max: number, each: (payload: Uint8Array, index: number) => void): number {
    return this.popTagged(max, (payload) => { each(payload, 0); }, 0, true);
  }

  /**
   * `popBatch` for a consumer of several rings: `each` gets `tag` (the caller's ring number) instead of the
   * index within the batch, so the caller needs no closure per ring. Stops early (returning what it took) if
   * the ring is refused on the way.
   */
  popTagged(max: number, each: (payload: Uint8Array, tag: number) => void, tag: number, countInTag = false): number {
    const n = Math.min(max, this.ready(max));
    let slots = 0; // slots read, freed at the end (also when `each` throws)
    let messages = 0;
    try {
      while (slots < n && messages < max) {
        const payload = this.read((this.tail + slots) >>> 0, slots, true);
        if (payload === undefined) break; // refused: what was read before stays read
        slots += this.taken;
        each(payload, countInTag ? messages : tag);
        messages++;
      }
    } finally {
      if (slots > 0) this.free(slots);
    }
    return messages;
  }

  /**
   * The message at slot `index`, `ahead` slots past TAIL (which the caller knows is published): a view into
   * the slot, or a new array for a message split across slots; `taken` says how many slots it takes. Each
   * length word is read once (plain reads, ordered after the acquire load of HEAD that covered the slot) and
   * bounded by our own slot size before use. Returns undefined, refusing the ring, for a malformed slot.
   */
  private read(index: number, ahead: number, reuse = false): Uint8Array | undefined {
    const at = this.slotOffset(index);
    const word = this.u32[at >> 2]!;
    if (word <= this.slotPayload) {
      this.taken = 1;
      const views = reuse ? this.views : undefined;
      // Allocates a view (a small object): the constructor costs half of `subarray`, which looks up a species.
      if (views === undefined) return new Uint8Array(this.buffer, at + SLOT_HEADER, word);
      const k = index & this.mask;
      let view = views[k];
      if (view === undefined || this.viewLengths![k] !== word) {
        views[k] = view = new Uint8Array(this.buffer, at + SLOT_HEADER, word);
        this.viewLengths![k] = word;
      }
      return view;
    }
    if ((word & MORE) === 0) return this.refuseRead(`a slot claims ${word} bytes in a ${this.slotPayload}-byte slot`);
    return this.readSplit(index, ahead, word);
  }

  /**
   * A message split across slots: a run of full chunks flagged MORE, then the last. The producer publishes a
   * message's slots together, so all are visible once the first is; a run that is not, a chunk that is not
   * full, or a run longer than the ring is a hostile producer's. The walk is bounded by our own capacity, and
   * the allocation by our own capacity times slot size (`maxMessage`).
   */
  private readSplit(index: number, ahead: number, first: number): Uint8Array | undefined {
    const chunk = this.slotPayload;
    if ((first & ~MORE) >>> 0 !== chunk) return this.refuseRead("a message split across slots is malformed (a chunk that is not full)");
    let k = 1;
    let last = 0;
    for (;;) {
      if (k >= this.capacity) return this.refuseRead("a message split across slots is malformed (longer than the ring)");
      const word = this.u32[this.slotOffset((index + k) >>> 0) >> 2]!;
      k++;
      if ((word & MORE) === 0) {
        if (word > chunk) return this.refuseRead(`a slot claims ${word} bytes in a ${chunk}-byte slot`);
        last = word;
        break;
      }
      if ((word & ~MORE) >>> 0 !== chunk) return this.refuseRead("a message split across slots is malformed (a chunk that is not full)");
    }
    if (this.ready(ahead + k) < ahead + k) return this.refuseRead("a message split across slots was not published whole");
    const out = new Uint8Array((k - 1) * chunk + last); // bounded by maxMessage (our own sizes)
    for (let j = 0; j < k; j++) {
      const at = this.slotOffset((index + j) >>> 0) + SLOT_HEADER;
      out.set(this.bytes.subarray(at, at + (j < k - 1 ? chunk : last)), j * chunk);
    }
    this.taken = k;
    return out;
  }

  /** Refuses the ring (see `refused`), once: marks it closed for the producer and reads as empty after. */
  private refuse(reason: string): 0 {
    if (this.refused === undefined) {
      this.refused = reason;
      this.headSeen = this.tail; // our cached count now says empty, so `ready` goes to `available`, which says 0
      setFlagAndRing(this.i32, RingFlag.ConsumerClosed); // the producer's next send fails EndpointClosed
    }
    return 0;
  }

  /** `refuse`, as a read's result (typed as one, so `return this.refuseRead(...)` reads as what it is). */
  private refuseRead(reason: string): Uint8Array | undefined {
    this.refuse(reason);
    return undefined;
  }

  /** Frees `n` read slots, then rings the producer's bell only if it may be asleep. */
  private free(n: number): void {
    this.tail = (this.tail + n) >>> 0;
    Atomics.store(this.u32, I32_TAIL, this.tail); // frees the slots (release); seq-cst, so ring's load is ordered after it
    ring(this.i32, I32_PRODUCER_BELL, I32_PRODUCER_WAITING);
  }

  /** Marks the consumer closed (later sends fail) and wakes a producer waiting for room. */
  close(): void {
    setFlagAndRing(this.i32, RingFlag.ConsumerClosed);
  }

  /** As `RingProducer.beginWait`, for a message: re-check `available()` and `flags()` after it. */
  beginWait(): number {
    return announce(this.i32, I32_CONSUMER_BELL, I32_CONSUMER_WAITING);
  }

  sleep(bell: number, ms: number): Promise<string> | string {
    return this.sleepOn(I32_CONSUMER_BELL, bell, ms);
  }

  endWait(): void {
    withdraw(this.i32, I32_CONSUMER_WAITING);
  }

  /** Wakes a sleep of our own (an abort, or another ring's message ending a multi-ring wait). */
  interrupt(): void {
    bump(this.i32, I32_CONSUMER_BELL);
  }
}
