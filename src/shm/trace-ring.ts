/**
 * A PD's trace ring (layout in protocol/trace.ts): fixed 32-byte records, one producer (the PD's runtime),
 * one consumer (the kernel). Simpler than shm/ring.ts on purpose: records never span slots and never block,
 * a record that finds the ring full is dropped and counted, so tracing can never slow a PD down by waiting.
 *
 * The producer may not change roles with the consumer. Ordering:
 * - the PD writes a record with plain stores, then publishes it with one `Atomics.store` of HEAD (release);
 * - the kernel reads HEAD with `Atomics.load` (acquire), copies records TAIL..HEAD out, then publishes TAIL
 *   with `Atomics.store`, which hands those slots back;
 * - the PD reads TAIL only when its cached copy says the ring is full; a stale TAIL only makes it drop a
 *   record it could have kept, never overwrite one the kernel has not read.
 *
 * The kernel trusts nothing in the buffer but what it wrote itself: it keeps the capacity it created the ring
 * with, refuses a ring whose HEAD runs more than CAPACITY ahead of its TAIL (or behind it), and skips records
 * of an unknown kind or with a non-finite time. Reading is bounded by `max` per drain.
 */

import {
  DEFAULT_TRACE_RECORDS,
  MAX_TRACE_KIND,
  MAX_TRACE_RECORDS,
  RECORD_BYTES,
  RECORD_FIELD,
  RECORD_I32,
  TRACE_I32,
  TRACE_MAGIC,
  TRACE_RECORDS,
  type TraceKind,
} from "../protocol/trace.ts";

/** Makes a trace ring of `records` (rounded up to a power of two, 64..2^20). */
export function createTraceRing(records: number = DEFAULT_TRACE_RECORDS): SharedArrayBuffer {
  const capacity = 2 ** Math.min(Math.log2(MAX_TRACE_RECORDS), Math.max(6, Math.ceil(Math.log2(Math.max(1, records)))));
  const buffer = new SharedArrayBuffer(TRACE_RECORDS + capacity * RECORD_BYTES);
  const i32 = new Int32Array(buffer);
  i32[TRACE_I32.MAGIC] = TRACE_MAGIC;
  i32[TRACE_I32.CAPACITY] = capacity;
  return buffer;
}

/** The PD's half. One writer per ring. */
export class TraceRingWriter {
  private readonly i32: Int32Array;
  private readonly f64: Float64Array;
  private readonly mask: number;
  private readonly capacity: number;
  /** Added to `performance.now()`: this thread's clock on the kernel's time origin. */
  private readonly offset: number;
  private head = 0;
  private tail = 0;
  private dropped = 0;

  constructor(buffer: SharedArrayBuffer, kernelTimeOrigin: number) {
    this.i32 = new Int32Array(buffer);
    this.f64 = new Float64Array(buffer);
    const capacity = this.i32[TRACE_I32.CAPACITY]!;
    if (this.i32[TRACE_I32.MAGIC] !== TRACE_MAGIC || capacity <= 0 || (capacity & (capacity - 1)) !== 0 || TRACE_RECORDS + capacity * RECORD_BYTES > buffer.byteLength) {
      throw new RangeError("trace ring: not a trace ring made by createTraceRing");
    }
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.offset = performance.timeOrigin - kernelTimeOrigin;
  }

  /**
   * Records one event now. Never blocks and never allocates: a full ring drops the record and counts it.
   * Cost: one clock read, six plain stores and one `Atomics.store`.
   */
  record(kind: TraceKind, object: number, a: number, b: number, label: number): void {
    const head = this.head;
    if (((head - this.tail) >>> 0) >= this.capacity) {
      this.tail = Atomics.load(this.i32, TRACE_I32.TAIL) >>> 0; // acquire: the kernel is done with those slots
      if (((head - this.tail) >>> 0) >= this.capacity) {
        this.dropped = (this.dropped + 1) >>> 0;
        Atomics.store(this.i32, TRACE_I32.DROPPED, this.dropped | 0);
        return;
      }
    }
    const at = (TRACE_RECORDS >> 2) + (head & this.mask) * RECORD_I32;
    const i32 = this.i32;
    this.f64[at >> 1] = performance.now() + this.offset; // plain stores, published by the store of HEAD
    i32[at + RECORD_FIELD.KIND] = kind;
    i32[at + RECORD_FIELD.OBJECT] = object;
    i32[at + RECORD_FIELD.A] = a;
    i32[at + RECORD_FIELD.B] = b;
    i32[at + RECORD_FIELD.LABEL] = label;
    this.head = (head + 1) >>> 0;
    Atomics.store(i32, TRACE_I32.HEAD, this.head | 0); // publishes the record
  }
}

/** One record as the kernel read it (copied out of shared memory; every field the PD's word). */
export interface TraceRecord {
  readonly at: number;
  readonly kind: TraceKind;
  readonly object: number;
  readonly a: number;
  readonly b: number;
  readonly label: number;
}

/** The kernel's half. */
export class TraceRingReader {
  private readonly i32: Int32Array;
  private readonly f64: Float64Array;
  private readonly capacity: number;
  private tail = 0;
  /** Records skipped because their kind or time made no sense (only a PD writing by hand makes one). */
  skipped = 0;
  private refused: string | undefined;

  /** `buffer` straight from `createTraceRing`, before the PD holds it: its capacity is read (and kept) now. */
  constructor(buffer: SharedArrayBuffer) {
    this.i32 = new Int32Array(buffer);
    this.f64 = new Float64Array(buffer);
    this.capacity = this.i32[TRACE_I32.CAPACITY]!;
  }

  /** Why the ring was refused (its HEAD broke the ring's rules), if it was; it is then not read again. */
  refusal(): string | undefined {
    return this.refused;
  }

  /** Records the PD says it dropped (the ring was full): a hint, for the dropped-events counter. */
  get dropped(): number {
    return Atomics.load(this.i32, TRACE_I32.DROPPED) >>> 0;
  }

  /** Takes at most `max` records, oldest first, and hands each to `sink`. Returns how many it took. */
  drain(max: number, sink: (record: TraceRecord) => void): number {
    if (this.refused !== undefined) return 0;
    const head = Atomics.load(this.i32, TRACE_I32.HEAD) >>> 0; // acquire: records before HEAD are written
    const available = (head - this.tail) >>> 0;
    if (available > this.capacity) {
      this.refused = `HEAD ${head} is ${available} records past TAIL ${this.tail}, more than the ring's ${this.capacity}`;
      return 0;
    }
    const n = Math.min(available, max);
    const i32 = this.i32;
    const mask = this.capacity - 1;
    for (let k = 0; k < n; k++) {
      const at = (TRACE_RECORDS >> 2) + ((this.tail + k) & mask) * RECORD_I32;
      const time = this.f64[at >> 1]!;
      const kind = i32[at + RECORD_FIELD.KIND]!;
      if (!Number.isFinite(time) || kind < 1 || kind > MAX_TRACE_KIND) {
        this.skipped++;
        continue;
      }
      sink({
        at: time,
        kind: kind as TraceKind,
        object: i32[at + RECORD_FIELD.OBJECT]! >>> 0,
        a: i32[at + RECORD_FIELD.A]! >>> 0,
        b: i32[at + RECORD_FIELD.B]! >>> 0,
        label: i32[at + RECORD_FIELD.LABEL]! >>> 0,
      });
    }
    this.tail = (this.tail + n) >>> 0;
    Atomics.store(i32, TRACE_I32.TAIL, this.tail | 0); // hands the slots back to the PD
    return n;
  }
}
