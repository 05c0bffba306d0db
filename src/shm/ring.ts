/**
 * A bounded single-producer single-consumer ring of fixed-size slots in a SharedArrayBuffer: the data path
 * under asynchronous channels (and, later, per-sender endpoint queues). One producer and one consumer, which
 * may be on different threads but never change roles (padenot/ringbuf.js's rule); several producers are
 * several rings, drained by the consumer in turn.
 *
 * Layout (byte offsets; every counter on its own 128-byte line, one writer each):
 *
 *  byte | field        | written by                              | read by
 *  -----+--------------+-----------------------------------------+------------------------------------------
 *     0 | MAGIC        | creator                                 | both (sanity)
 *     4 | CAPACITY     | creator (slots, a power of two)         | both
 *     8 | SLOT_BYTES   | creator (payload bytes + 4, multiple 8) | both
 *   128 | HEAD         | producer only: slots published (mod 2^32) | consumer
 *   256 | TAIL         | consumer only: slots consumed (mod 2^32)  | producer
 *   384 | slots...     | slot i at 384 + (i mod CAPACITY) * SLOT_BYTES: [u32 length][payload]
 *
 * Ordering: the producer writes a slot with plain stores, then publishes it (or a whole batch) with one
 * `Atomics.store` of HEAD; the consumer reads HEAD with `Atomics.load`, reads the slots, then frees them
 * with one `Atomics.store` of TAIL. `HEAD - TAIL` (mod 2^32) is the number of full slots, never above
 * CAPACITY. The consumer refuses a slot whose length field is out of range (the producer is untrusted).
 */

import { IpcError } from "../errors.ts";

const MAGIC = 0x52_6f_73_69; // "isoR"
const LINE = 128;
const I32_MAGIC = 0;
const I32_CAPACITY = 1;
const I32_SLOT_BYTES = 2;
const I32_HEAD = LINE / 4;
const I32_TAIL = (2 * LINE) / 4;
const DATA = 3 * LINE;

export interface RingOptions {
  /** Number of slots; rounded up to a power of two. */
  readonly capacity: number;
  /** Largest payload in bytes. */
  readonly slotPayload: number;
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
  const slotBytes = Math.ceil((slotPayload + 4) / 8) * 8;
  const buffer = new SharedArrayBuffer(DATA + slots * slotBytes);
  const i32 = new Int32Array(buffer);
  i32[I32_MAGIC] = MAGIC;
  i32[I32_CAPACITY] = slots;
  i32[I32_SLOT_BYTES] = slotBytes;
  return buffer;
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

  constructor(buffer: SharedArrayBuffer) {
    this.i32 = new Int32Array(buffer);
    this.u32 = new Uint32Array(buffer);
    this.bytes = new Uint8Array(buffer);
    const capacity = this.i32[I32_CAPACITY] ?? 0;
    const slotBytes = this.i32[I32_SLOT_BYTES] ?? 0;
    if (this.i32[I32_MAGIC] !== MAGIC || capacity < 1 || (capacity & (capacity - 1)) !== 0 || slotBytes < 8 || DATA + capacity * slotBytes > buffer.byteLength) {
      throw new IpcError("InvalidArgument", "ring: the buffer is not a ring made by createRing", { operation: "ring" });
    }
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.slotBytes = slotBytes;
    this.slotPayload = slotBytes - 4;
  }

  /** Full slots right now (a snapshot: the other side may move it at once). */
  get size(): number {
    return (Atomics.load(this.u32, I32_HEAD) - Atomics.load(this.u32, I32_TAIL)) >>> 0;
  }

  protected slotOffset(index: number): number {
    return DATA + (index & this.mask) * this.slotBytes;
  }
}

export class RingProducer extends RingView {
  /** Our own copy of HEAD: only we write it. */
  private head: number;

  constructor(buffer: SharedArrayBuffer) {
    super(buffer);
    this.head = Atomics.load(this.u32, I32_HEAD);
  }

  /** Free slots right now (at least this many; the consumer may free more at once). */
  get free(): number {
    return this.capacity - ((this.head - Atomics.load(this.u32, I32_TAIL)) >>> 0);
  }

  /**
   * Writes and publishes one message. Returns false, writing nothing, when the ring is full.
   * @throws IpcError `MessageTooLarge` when `payload` exceeds the slot
   */
  tryPush(payload: Uint8Array): boolean {
    this.checkSize(payload, "tryPush");
    if (this.free === 0) return false;
    this.write(this.head, payload);
    this.head = (this.head + 1) >>> 0;
    Atomics.store(this.u32, I32_HEAD, this.head); // publishes the slot
    return true;
  }

  /**
   * Writes as many of `payloads` (from `start`) as fit and publishes them with one store: the batch costs one
   * cache-line transfer of HEAD, not one per message. Returns how many were written.
   */
  pushBatch(payloads: readonly Uint8Array[], start = 0): number {
    const n = Math.min(payloads.length - start, this.free);
    for (let i = 0; i < n; i++) this.checkSize(payloads[start + i]!, "pushBatch");
    for (let i = 0; i < n; i++) this.write((this.head + i) >>> 0, payloads[start + i]!);
    if (n > 0) {
      this.head = (this.head + n) >>> 0;
      Atomics.store(this.u32, I32_HEAD, this.head); // publishes the whole batch
    }
    return n;
  }

  private checkSize(payload: Uint8Array, operation: string): void {
    if (payload.length > this.slotPayload) {
      throw new IpcError("MessageTooLarge", `${operation}: ${payload.length} bytes do not fit a ${this.slotPayload}-byte slot`, { operation });
    }
  }

  private write(index: number, payload: Uint8Array): void {
    const at = this.slotOffset(index);
    this.u32[at / 4] = payload.length;
    this.bytes.set(payload, at + 4);
  }
}

export class RingConsumer extends RingView {
  /** Our own copy of TAIL: only we write it. */
  private tail: number;

  constructor(buffer: SharedArrayBuffer) {
    super(buffer);
    this.tail = Atomics.load(this.u32, I32_TAIL);
  }

  /** Full slots we may read now: HEAD - TAIL, refusing a producer that claims more than the capacity. */
  available(): number {
    const full = (Atomics.load(this.u32, I32_HEAD) - this.tail) >>> 0; // acquire: slots before HEAD are written
    if (full > this.capacity) {
      throw new IpcError("InvalidArgument", `ring: the producer published ${full} slots in a ring of ${this.capacity}`, { operation: "receive" });
    }
    return full;
  }

  /** Reads and frees one message, or returns undefined if the ring is empty. The bytes are a copy. */
  tryPop(): Uint8Array | undefined {
    if (this.available() === 0) return undefined;
    const message = this.read(this.tail);
    this.tail = (this.tail + 1) >>> 0;
    Atomics.store(this.u32, I32_TAIL, this.tail); // frees the slot
    return message;
  }

  /**
   * Calls `each` on up to `max` messages in order, then frees them all with one store. The view passed to
   * `each` is valid only during the call (it points into the ring). Returns how many were consumed.
   */
  popBatch(max: number, each: (payload: Uint8Array, index: number) => void): number {
    const n = Math.min(max, this.available());
    for (let i = 0; i < n; i++) each(this.view((this.tail + i) >>> 0), i);
    if (n > 0) {
      this.tail = (this.tail + n) >>> 0;
      Atomics.store(this.u32, I32_TAIL, this.tail); // frees the batch
    }
    return n;
  }

  private view(index: number): Uint8Array {
    const at = this.slotOffset(index);
    const length = this.u32[at / 4]!;
    if (length > this.slotPayload) {
      throw new IpcError("InvalidArgument", `ring: a slot claims ${length} bytes in a ${this.slotPayload}-byte slot`, { operation: "receive" });
    }
    return this.bytes.subarray(at + 4, at + 4 + length);
  }

  private read(index: number): Uint8Array {
    return this.view(index).slice();
  }
}
