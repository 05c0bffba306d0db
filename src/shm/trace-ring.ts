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
 * with and refuses a ring whose HEAD runs more than CAPACITY ahead of its TAIL (or behind it). The reader only
 * copies: it hands the kernel raw spans of records (one typed-array copy each, no object per record), and the
 * kernel checks each record where it reads it (kernel/trace.ts). Reading is bounded by `max` per drain.
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
  /**
   * `sampleEvery - 1`: an operation numbered n (from 1) is recorded when `((n - 1) & sampleMask) === 0`, so the
   * first one always is (0: every one). Callers test it, so an operation that is not sampled costs a subtraction,
   * an AND and a branch, no clock read.
   */
  private readonly sampleMask: number;

  private sampleCount = 0;

  constructor(buffer: SharedArrayBuffer, kernelTimeOrigin: number, sampleEvery = 1) {
    this.i32 = new Int32Array(buffer);
    this.f64 = new Float64Array(buffer);
    const capacity = this.i32[TRACE_I32.CAPACITY]!;
    if (this.i32[TRACE_I32.MAGIC] !== TRACE_MAGIC || capacity <= 0 || (capacity & (capacity - 1)) !== 0 || TRACE_RECORDS + capacity * RECORD_BYTES > buffer.byteLength) {
      throw new RangeError("trace ring: not a trace ring made by createTraceRing");
    }
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.offset = performance.timeOrigin - kernelTimeOrigin;
    this.sampleMask = Number.isInteger(sampleEvery) && sampleEvery > 1 && (sampleEvery & (sampleEvery - 1)) === 0 ? sampleEvery - 1 : 0;
  }

  /** For operations with no number of their own (notify, notified): true one time in `sampleEvery`. */
  sampled(): boolean {
    return this.sampledNumber((this.sampleCount = (this.sampleCount + 1) | 0));
  }

  /**
   * Records one event now. Never blocks and never allocates: a full ring drops the record and counts it.
   * Cost: one clock read, six plain stores and one `Atomics.store`.
   */
  record(kind: TraceKind, object: number, a: number, b: number, label: number): void {
    this.recordAt(performance.now() + this.offset, kind, object, a, b, label);
  }

  /** `record` for an operation numbered `b` (an endpoint message's SEQ): only if that number is sampled. */
  recordNumbered(kind: TraceKind, object: number, a: number, b: number, label: number): void {
    if (this.sampledNumber(b)) this.recordAt(performance.now() + this.offset, kind, object, a, b, label);
  }

  /** Now on the kernel's clock, for `recordAt` (an operation whose number is known only after it waited). */
  now(): number {
    return performance.now() + this.offset;
  }

  /**
   * Records a whole call (or protected()) that began at `at` (from `now()`) and ends now: one record whose `a`
   * is the time between in ns, `extra` the reply's label (TraceKind.PROTECTED: a serving the PD timed itself). One clock read, seven plain stores, one `Atomics.store`.
   */
  recordCall(kind: TraceKind, object: number, at: number, b: number, label: number, extra: number): void {
    const ns = Math.round((performance.now() + this.offset - at) * 1e6);
    this.recordAt(at, kind, object, ns > 0xffff_ffff ? 0xffff_ffff : ns < 0 ? 0 : ns, b, label, extra);
  }

  /** Whether the operation numbered `b` (from 1: a call's number on its channel, a message's SEQ) is sampled. */
  sampledNumber(b: number): boolean {
    return ((b - 1) & this.sampleMask) === 0;
  }

  /** Records one event stamped `at` (from `now()`). */
  recordAt(at: number, kind: TraceKind, object: number, a: number, b: number, label: number, extra = 0): void {
    const head = this.head;
    if (((head - this.tail) >>> 0) >= this.capacity) {
      this.tail = Atomics.load(this.i32, TRACE_I32.TAIL) >>> 0; // acquire: the kernel is done with those slots
      if (((head - this.tail) >>> 0) >= this.capacity) {
        this.dropped = (this.dropped + 1) >>> 0;
        Atomics.store(this.i32, TRACE_I32.DROPPED, this.dropped | 0);
        return;
      }
    }
    const w = (TRACE_RECORDS >> 2) + (head & this.mask) * RECORD_I32;
    const i32 = this.i32;
    this.f64[w >> 1] = at; // plain stores, published by the store of HEAD
    i32[w + RECORD_FIELD.KIND] = kind;
    i32[w + RECORD_FIELD.OBJECT] = object;
    i32[w + RECORD_FIELD.A] = a;
    i32[w + RECORD_FIELD.B] = b;
    i32[w + RECORD_FIELD.LABEL] = label;
    i32[w + RECORD_FIELD.EXTRA] = extra;
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
  readonly extra: number;
}

/**
 * Record `index` of `i32` / `f64` (record words, RECORD_I32 apiece, from word 0: a ring's records or a copy of
 * them), or undefined if its kind is unknown or its time not finite. Allocates: for the decoding paths (a
 * trace file, a live view, tests), never for the drain.
 */
export function readRecord(i32: Int32Array, f64: Float64Array, index: number): TraceRecord | undefined {
  const at = index * RECORD_I32;
  const time = f64[at >> 1]!;
  const kind = i32[at + RECORD_FIELD.KIND]!;
  if (!Number.isFinite(time) || kind < 1 || kind > MAX_TRACE_KIND) return undefined;
  return {
    at: time,
    kind: kind as TraceKind,
    object: i32[at + RECORD_FIELD.OBJECT]! >>> 0,
    a: i32[at + RECORD_FIELD.A]! >>> 0,
    b: i32[at + RECORD_FIELD.B]! >>> 0,
    label: i32[at + RECORD_FIELD.LABEL]! >>> 0,
    extra: i32[at + RECORD_FIELD.EXTRA]! >>> 0,
  };
}

/**
 * Where the kernel's reader hands records: `count` records starting at record `first` of `records` (a view of
 * the ring's record area, RECORD_I32 words per record). Called at most twice per take (the ring wraps); the
 * view is the shared buffer itself, so the sink must copy what it keeps before it returns.
 */
export type TraceSpanSink = (records: Int32Array, first: number, count: number) => void;

/** The kernel's half. */
export class TraceRingReader {
  private readonly i32: Int32Array;
  /** The record area alone: record k is words k*RECORD_I32 .. +RECORD_I32. */
  private readonly records: Int32Array;
  /** Records the ring holds: the kernel's own copy, read once before the PD held the buffer. */
  readonly capacity: number;
  private tail = 0;
  private refused: string | undefined;

  /** `buffer` straight from `createTraceRing`, before the PD holds it: its capacity is read (and kept) now. */
  constructor(buffer: SharedArrayBuffer) {
    this.i32 = new Int32Array(buffer);
    this.capacity = this.i32[TRACE_I32.CAPACITY]!;
    this.records = new Int32Array(buffer, TRACE_RECORDS, this.capacity * RECORD_I32);
  }

  /** Why the ring was refused (its HEAD broke the ring's rules), if it was; it is then not read again. */
  refusal(): string | undefined {
    return this.refused;
  }

  /** Records the PD says it dropped (the ring was full): a hint, for the dropped-events counter. */
  get dropped(): number {
    return Atomics.load(this.i32, TRACE_I32.DROPPED) >>> 0;
  }

  /**
   * Records published and not yet taken (0 once the ring is refused; a HEAD past the rules refuses it at `take`).
   * One `Atomics.load` of HEAD (acquire), whatever the PD wrote there: a lying HEAD reads as anything from 0 to
   * `capacity + 1` (too far ahead), never more.
   */
  available(): number {
    if (this.refused !== undefined) return 0;
    return Math.min(this.capacity + 1, (Atomics.load(this.i32, TRACE_I32.HEAD) - this.tail) >>> 0);
  }

  /**
   * Takes at most `max` records, oldest first, handing them to `sink` as one or two spans of the ring (no
   * record is decoded or validated here: the sink copies raw words, and whoever decodes them checks them).
   * Returns how many it took. The slots go back to the PD when this returns.
   */
  take(max: number, sink: TraceSpanSink): number {
    if (this.refused !== undefined) return 0;
    const head = Atomics.load(this.i32, TRACE_I32.HEAD) >>> 0; // acquire: records before HEAD are written
    const available = (head - this.tail) >>> 0;
    if (available > this.capacity) {
      this.refused = `HEAD ${head} is ${available} records past TAIL ${this.tail}, more than the ring's ${this.capacity}`;
      return 0;
    }
    const n = Math.min(available, max);
    if (n === 0) return 0;
    const first = this.tail & (this.capacity - 1);
    const run = Math.min(n, this.capacity - first);
    sink(this.records, first, run);
    if (run < n) sink(this.records, 0, n - run);
    this.tail = (this.tail + n) >>> 0;
    Atomics.store(this.i32, TRACE_I32.TAIL, this.tail | 0); // hands the slots back to the PD
    return n;
  }
}
