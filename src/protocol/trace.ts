/**
 * The trace ring's ABI: a PD's record of what it did (calls, replies, entry points, endpoint messages), in a
 * SharedArrayBuffer that only the PD and the kernel hold. The PD writes fixed-size records into a ring it
 * overwrites oldest first (its flight recorder: it never waits and never drops), and counts every record it
 * writes in a table beside it. The kernel never reads the ring as a PD runs: it reads the counts for statistics,
 * a few of the newest records each tick for latencies, and the ring itself only when a trace file or a live view
 * asks (kernel/trace.ts). The ring's two halves live in shm/trace-ring.ts.
 *
 * Header (byte offsets; one 128-byte line per writer, see layout.ts `LINE`):
 *
 *  byte  | field          | written by                                   | read by
 *  ------+----------------+----------------------------------------------+------------------------------------
 *    0   | MAGIC          | kernel, at creation                          | runtime (sanity check)
 *    4   | CAPACITY       | kernel, at creation (records, a power of 2)  | runtime; the kernel keeps its own copy
 *  128   | HEAD (u32)     | PD: records written, ever (Atomics.store)    | kernel (Atomics.load)
 *  256   | READ (u32)     | kernel: records it has copied out, ever      | nobody it trusts (tests wait on it)
 *  384   | COUNTS         | PD: records written, by kind and lane (u32)  | kernel, when it counts
 *  COUNTS + 1 table  | OBJECTS | PD: the object the lane last counted  | kernel, for endpoint lanes
 *  COUNTS + 2 tables | SUMS    | PD: the sum of `a` over the lane (ring kinds: messages) | kernel
 *  TRACE_RECORDS     | records | PD: record n at slot n % CAPACITY, before HEAD moves past n | kernel
 *
 * A table is COUNT_KINDS x COUNT_LANES u32, kind-major: a record of kind k on object o counts in lane
 * `o & (COUNT_LANES - 1)` of row k (a channel id, a ring end's index; an endpoint id, which the lane's OBJECTS
 * word names).
 *
 * Record (RECORD_BYTES = 32, little-endian):
 *
 *  byte | field  | meaning
 *  -----+--------+-----------------------------------------------------------------------------------------
 *    0  | f64 at | ms since the kernel's `performance.timeOrigin` (the PD adds the difference of its own)
 *    8  | u32    | kind (TraceKind)
 *   12  | u32    | object: the PD's local channel id, or an endpoint id
 *   16  | u32    | a: slot index (endpoints); high channel bits (NOTIFIED)
 *   20  | u32    | b: sequence number (the call's number on its channel, the endpoint slot's SEQ)
 *   24  | u32    | label of the message (low 32 bits)
 *   28  | u32    | extra: the reply's label (PPCALL); else 0
 *
 * Everything here is the PD's word: the kernel bounds what it reads (never more than CAPACITY records at a
 * time, whatever HEAD says; a HEAD that moves back refuses the ring), counts a lane only where the PD holds
 * what the lane names, skips records of an unknown kind or with a time that is not finite, and joins calls to
 * replies by sequence numbers that it maps itself (local channel ids to the plan's channels), so a lying PD
 * garbles only its own track and its own counts.
 */

export const TRACE_MAGIC = 0x54524332; // "TRC2"

export const TRACE_I32 = {
  MAGIC: 0,
  CAPACITY: 1,
  HEAD: 32,
  READ: 64,
} as const;

/** Rows of a count table: kinds 0..MAX_TRACE_KIND. */
export const COUNT_KINDS = 19;
/** Lanes of a row: a power of two. */
export const COUNT_LANES = 64;
/** Byte offsets of the three tables. */
export const TRACE_COUNTS = 384;
export const COUNT_TABLE_BYTES = COUNT_KINDS * COUNT_LANES * 4;
export const TRACE_OBJECTS = TRACE_COUNTS + COUNT_TABLE_BYTES;
export const TRACE_SUMS = TRACE_OBJECTS + COUNT_TABLE_BYTES;
/** Byte offset of record 0 (a whole number of 128-byte lines after the tables). */
export const TRACE_RECORDS = Math.ceil((TRACE_SUMS + COUNT_TABLE_BYTES) / 128) * 128;
export const RECORD_BYTES = 32;
/** A record in 32-bit words, and the index of each field (the f64 `at` is words 0-1). */
export const RECORD_I32 = 8;
export const RECORD_FIELD = { KIND: 2, OBJECT: 3, A: 4, B: 5, LABEL: 6, EXTRA: 7 } as const;

/**
 * Default ring size: 262,144 records (8 MiB) per PD, what a trace file keeps of each: ~0.1 s of back-to-back
 * ppcalls, minutes of a system at rest. Memory the PD has not written yet costs nothing (the pages are not
 * touched).
 */
export const DEFAULT_TRACE_RECORDS = 262_144;
export const MAX_TRACE_RECORDS = 1 << 22;

/**
 * What a record says happened. `NOTIFIED_BEGIN` / `NOTIFIED_END` make a slice on the PD's track; PPCALL,
 * PROTECTED, PROTECTED_REPLIED and ENDPOINT_CALL are whole slices in one record; the others are instants.
 */
export const TraceKind = {
  /**
   * Kinds 1-4, once a ppcall's and a serving's begin and end in records of their own, are no longer written (a
   * PPCALL and a PROTECTED / PROTECTED_REPLIED record each): the kernel skips a record of them. The decoder
   * still names a slice's two ends by them.
   */
  PPCALL_BEGIN: 1,
  PPCALL_END: 2,
  PROTECTED_BEGIN: 3,
  PROTECTED_END: 4,
  /** The PD notified channel `object`. */
  NOTIFY: 5,
  /** `notified()` started for the channel set (`object`: ids 0..30, `a`: ids 31..61). */
  NOTIFIED_BEGIN: 6,
  NOTIFIED_END: 7,
  /** Endpoint `object`, slot `a`, message `b`: a send was published / taken by the receiver. */
  ENDPOINT_SEND: 8,
  /**
   * A whole endpoint call in one record, written as soon as it was published: endpoint `object`, slot `a`,
   * message `b` (its SEQ), `label` the call's label, `at` when it was published; `extra` is 0. The kernel
   * completes it from the receiver's ENDPOINT_REPLY of the same message: `extra` becomes the round trip in ns
   * (until the reply was published). One record and one clock read per call, neither on the path of the reply.
   * (Kind 10, once the end of a call in a record of its own, is no longer written: a record of it is skipped.)
   */
  ENDPOINT_CALL: 9,
  /**
   * The PD took message `b` of slot `a` of its endpoint `object`, label `label`. A call its receive loop's spin
   * took (or its first poll after a record) is in the record of its reply instead (ENDPOINT_REPLIED); one it
   * took so and did not answer before taking another message is recorded here when it took the other, with
   * `extra` RECEIVED_BY_SPIN: the trace file dates it as an ENDPOINT_REPLIED's receive (`extra` 0: at `at`).
   */
  ENDPOINT_RECEIVE: 11,
  /** The PD replied to message `b` of slot `a` of its endpoint `object`. */
  ENDPOINT_REPLY: 12,
  /** Async ring `object` (the PD's index of its ends): a batch of `a` messages published / taken. */
  RING_PUBLISH: 13,
  RING_RECEIVE: 14,
  /**
   * A whole ppcall in one record, written as soon as the call was published (its clock read overlaps the callee
   * taking the call): `at` is when it was published, `b` its number on channel `object`, `label` the call's
   * label; `a` and `extra` are 0. The kernel completes it from the callee's PROTECTED / PROTECTED_REPLIED record
   * of the same call: `a` becomes the round trip in ns (until the reply was published), `extra` the reply's label.
   * One record and one clock read per call, neither on the path of the reply.
   */
  PPCALL: 15,
  /**
   * A whole `protected()` in one record, written after the reply was published, for a call the PD took after
   * sleeping or other work: `at` is when it began, `a` how long it ran until the reply was published, in ns
   * (saturating at 2^32 - 1), `b` the call's number on channel `object`, `label` the call's label, `extra` the
   * reply's.
   */
  PROTECTED: 16,
  /**
   * A `protected()` for a call the PD took while spinning for it (so within a cache-line transfer of its
   * publication), written after the reply was published: `at` is when the reply was published, `b`, `label`
   * and `extra` as in PROTECTED, `a` 0. It began when the caller published the call: the kernel takes that time
   * from the caller's PPCALL record and rewrites this one as a PROTECTED. One clock read per served call, after
   * the reply, instead of one before `protected()` runs and one after.
   */
  PROTECTED_REPLIED: 17,
  /**
   * An ENDPOINT_REPLY (`label` the reply's label) for a call the PD's receive loop took while spinning for it, so
   * within a poll of its publication, or in its first poll right after the PD's previous record (the reply of a
   * replyRecv), so within a poll of that: the receive is in this record, `extra` the call's label, not in one of
   * its own stamped on the way to the handler. The trace file dates the receive from the caller's ENDPOINT_CALL
   * of the same message, not before the PD's previous record, not after this one. One clock read per served
   * call, after the reply, as PROTECTED_REPLIED for a ppcall.
   */
  ENDPOINT_REPLIED: 18,
} as const;
export type TraceKind = (typeof TraceKind)[keyof typeof TraceKind];

/** An ENDPOINT_RECEIVE's `extra`: taken by the receive loop's spin, recorded later; dated from the caller's record. */
export const RECEIVED_BY_SPIN = 1;

/** Highest kind a record may carry; a record with another kind is skipped. */
export const MAX_TRACE_KIND = 18;

/** What the kernel hands a PD when tracing is on (`PdBootData.trace`). */
export interface TraceBootData {
  readonly buffer: SharedArrayBuffer;
  /** The kernel's `performance.timeOrigin`: records are stamped on the kernel's clock. */
  readonly timeOrigin: number;
  /**
   * Record one operation in this many (a power of two; 1: all). Sampled by the operation's own number (a call's
   * number on its channel, an endpoint message's SEQ), so both ends of a call pick the same calls.
   */
  readonly sampleEvery?: number;
}
