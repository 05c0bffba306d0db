/**
 * A PD's trace ring (layout in protocol/trace.ts): fixed 32-byte records, one producer (the PD's runtime), read
 * by the kernel only when it wants records. The PD overwrites the oldest record once the ring is full, so it
 * never waits and never drops: the ring is its flight recorder, the last CAPACITY records it wrote. Beside it,
 * the PD counts every record it writes (by kind and lane), so the kernel has exact counts without reading a
 * record.
 *
 * Ordering:
 * - the PD writes record n (slot n % CAPACITY) with plain stores, then publishes it with one `Atomics.store`
 *   of HEAD = n + 1 (release); its counts are plain stores, read by the kernel whenever it counts (a count read
 *   a record early or late is read right the next time);
 * - the kernel reads HEAD with `Atomics.load` (acquire) and copies records out of [HEAD - CAPACITY + 1, HEAD);
 *   then it reads HEAD again: a record the PD may have begun overwriting meanwhile (n <= HEAD' - CAPACITY) is
 *   not kept. Record HEAD - CAPACITY is never read: it is the slot the PD may be writing.
 *
 * The kernel trusts nothing in the buffer but what it wrote itself: it keeps the capacity it created the ring
 * with, counts records by HEAD's movement from what it saw last (at most CAPACITY of them are ever read, however
 * far HEAD jumps), and refuses a ring whose HEAD moves back. The reader only copies: it hands the kernel raw
 * spans of records (one typed-array copy each, no object per record), and the kernel checks each record where
 * it reads it (kernel/trace.ts).
 */

import {
  COUNT_LANES,
  DEFAULT_TRACE_RECORDS,
  MAX_TRACE_KIND,
  MAX_TRACE_RECORDS,
  RECORD_BYTES,
  RECORD_FIELD,
  RECORD_I32,
  TRACE_COUNTS,
  TRACE_I32,
  TRACE_MAGIC,
  TRACE_OBJECTS,
  TRACE_RECORDS,
  TRACE_SUMS,
  type TraceKind,
} from "../protocol/trace.ts";

/** Makes a trace ring of `records` (rounded up to a power of two, 64..2^22). */
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
  /** Added to `performance.now()`: this thread's clock on the kernel's time origin. */
  private readonly offset: number;
  private head = 0;
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
    this.mask = capacity - 1;
    this.offset = performance.timeOrigin - kernelTimeOrigin;
    this.sampleMask = Number.isInteger(sampleEvery) && sampleEvery > 1 && (sampleEvery & (sampleEvery - 1)) === 0 ? sampleEvery - 1 : 0;
  }

  /** For operations with no number of their own (notify, notified): true one time in `sampleEvery`. */
  sampled(): boolean {
    return this.sampledNumber((this.sampleCount = (this.sampleCount + 1) | 0));
  }

  /**
   * Records one event now. Never blocks, never drops and never allocates: a full ring loses its oldest record.
   * Cost: one clock read, eight plain stores and one `Atomics.store`.
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
   * is the time between in ns, `extra` the reply's label (TraceKind.PROTECTED: a serving the PD timed itself).
   */
  recordCall(kind: TraceKind, object: number, at: number, b: number, label: number, extra: number): void {
    const ns = Math.round((performance.now() + this.offset - at) * 1e6);
    this.recordAt(at, kind, object, ns > 0xffff_ffff ? 0xffff_ffff : ns < 0 ? 0 : ns, b, label, extra);
  }

  /** Whether the operation numbered `b` (from 1: a call's number on its channel, a message's SEQ) is sampled. */
  sampledNumber(b: number): boolean {
    return ((b - 1) & this.sampleMask) === 0;
  }

  /** Records one event stamped `at` (from `now()`), and counts it in its kind's row, lane `object`. */
  recordAt(at: number, kind: TraceKind, object: number, a: number, b: number, label: number, extra = 0): void {
    const head = this.head;
    const w = (TRACE_RECORDS >> 2) + (head & this.mask) * RECORD_I32;
    const i32 = this.i32;
    this.f64[w >> 1] = at; // plain stores, published by the store of HEAD
    i32[w + RECORD_FIELD.KIND] = kind;
    i32[w + RECORD_FIELD.OBJECT] = object;
    i32[w + RECORD_FIELD.A] = a;
    i32[w + RECORD_FIELD.B] = b;
    i32[w + RECORD_FIELD.LABEL] = label;
    i32[w + RECORD_FIELD.EXTRA] = extra;
    const lane = kind * COUNT_LANES + (object & (COUNT_LANES - 1));
    i32[(TRACE_COUNTS >> 2) + lane] = (i32[(TRACE_COUNTS >> 2) + lane]! + 1) | 0;
    i32[(TRACE_OBJECTS >> 2) + lane] = object;
    this.head = (head + 1) >>> 0;
    Atomics.store(i32, TRACE_I32.HEAD, this.head | 0); // publishes the record
  }

  /** Adds `n` to lane `object` of `kind`'s sums (a ring batch's messages, beside its record). */
  sum(kind: TraceKind, object: number, n: number): void {
    const lane = (TRACE_SUMS >> 2) + kind * COUNT_LANES + (object & (COUNT_LANES - 1));
    this.i32[lane] = (this.i32[lane]! + n) | 0;
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
 * trace file, a live view, tests), never for the tick's sample.
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
 * the ring's record area, RECORD_I32 words per record). Called at most twice per copy (the ring wraps); the
 * view is the shared buffer itself, so the sink must copy what it keeps before it returns.
 */
export type TraceSpanSink = (records: Int32Array, first: number, count: number) => void;

/** The kernel's half. Record numbers are the kernel's own count from 0 (HEAD's 32 bits, unwrapped). */
export class TraceRingReader {
  private readonly i32: Int32Array;
  /** The record area alone: record k is words k*RECORD_I32 .. +RECORD_I32. */
  private readonly records: Int32Array;
  /** Records the ring holds: the kernel's own copy, read once before the PD held the buffer. */
  readonly capacity: number;
  /** HEAD as last read, and the records written by then (HEAD unwrapped). */
  private head = 0;
  private total = 0;
  private refused: string | undefined;

  /** `buffer` straight from `createTraceRing`, before the PD holds it: its capacity is read (and kept) now. */
  constructor(buffer: SharedArrayBuffer) {
    this.i32 = new Int32Array(buffer);
    this.capacity = this.i32[TRACE_I32.CAPACITY]!;
    this.records = new Int32Array(buffer, TRACE_RECORDS, this.capacity * RECORD_I32);
  }

  /** Why the ring was refused (its HEAD moved back), if it was; it is then not read again. */
  refusal(): string | undefined {
    return this.refused;
  }

  /**
   * Records the PD has written, ever, by its HEAD now (one `Atomics.load`, acquire). A HEAD that moved back (by
   * less than 2^31: further reads as forward) refuses the ring; a refused ring reads as it last was.
   */
  written(): number {
    if (this.refused !== undefined) return this.total;
    const head = Atomics.load(this.i32, TRACE_I32.HEAD) >>> 0;
    const ahead = (head - this.head) | 0;
    if (ahead < 0) {
      this.refused = `HEAD moved back from ${this.head} to ${head}`;
      return this.total;
    }
    this.head = head;
    this.total += ahead;
    return this.total;
  }

  /** The oldest record the ring may still hold whole, with `written` records written. */
  oldest(written: number): number {
    return Math.max(0, written - this.capacity + 1);
  }

  /**
   * Hands records [from, to) to `sink` as one or two spans of the ring (no record is decoded or validated here:
   * the sink copies raw words, and whoever decodes them checks them). The caller keeps `from` at or past
   * `oldest(written())` and, after the copy, keeps only the records at or past `oldest(written())` read again.
   */
  copy(from: number, to: number, sink: TraceSpanSink): void {
    const n = to - from;
    if (n <= 0) return;
    const first = from & (this.capacity - 1);
    const run = Math.min(n, this.capacity - first);
    sink(this.records, first, run);
    if (run < n) sink(this.records, 0, n - run);
  }

  /** Tells the PD how far the kernel has copied (nothing it reads: a hint, for tests and tools). */
  copied(upTo: number): void {
    Atomics.store(this.i32, TRACE_I32.READ, upTo | 0);
  }

  /** Count table word `lane` (kind * COUNT_LANES + lane) of table `table` (a byte offset: TRACE_COUNTS, ...). */
  count(table: number, lane: number): number {
    return this.i32[(table >> 2) + lane]! >>> 0;
  }
}
