/**
 * The kernel's half of tracing (issue #14): it gives each PD a trace ring (shm/trace-ring.ts) and, as the system
 * runs, reads almost none of it. A PD overwrites its ring oldest first and counts every record it writes; the
 * kernel's cores are the PDs' cores, and reading every record cost the kernel 22-40 ns a record (a traced ppcall
 * 1.3-2.2x an untraced one, about half of it the kernel's reading), so the kernel reads:
 *
 *   - the PDs' count tables (`count`: every COUNT_GAP_MS, and whenever statistics are asked for): exact
 *     operation counts per PD, channel, endpoint and ring, from a few hundred words per PD;
 *   - the newest SAMPLE_RECORDS records of each PD that wrote some, each tick (`sample`): calls and servings
 *     joined across PDs for the latency histograms, and the entry point a PD is in;
 *   - the ring itself only when someone asks for events (`collect`): the trace file (`file`, at the end of a
 *     run or the dashboard's download) and a live view (`LiveTrace`) copy what is new into the PD's **flight
 *     recorder** (`FlightRecorder`: the last `eventsPerPd` records, in the kernel's own memory) and decode it.
 *
 * A trace ring is untrusted input. Reading is bounded (at most a ring's capacity per look, SAMPLE_RECORDS per
 * tick); a record with an unknown kind, a time that is not finite or out of [0, now], or a channel the PD does
 * not hold is skipped and counted (`check` marks it in the flight recorder, so the decoders skip it too); a count
 * lane for a channel or ring the PD does not hold is not counted; a ring whose HEAD moves back is refused and not
 * read again (its PD is faulted by the system, as for a broken output ring). Flows are joined by numbers the
 * kernel maps itself: a ppcall by (the plan's channel, the call's number on it), an endpoint message by
 * (endpoint, slot, SEQ), so a PD that lies about its numbers garbles arrows to and from its own track only.
 * Memory is bounded too: the flight recorders, at most `MAX_OPEN_FLOWS` half-joined flows per decoder, and at
 * most JOIN_SLOTS calls waiting for their other half per channel, and as many endpoint calls in all.
 */

import { COUNT_KINDS, COUNT_LANES, MAX_TRACE_KIND, RECEIVED_BY_SPIN, RECORD_FIELD, RECORD_I32, TRACE_COUNTS, TRACE_OBJECTS, TRACE_SUMS, TraceKind, type TraceBootData } from "../protocol/trace.ts";
import { createTraceRing, readRecord, TraceRingReader, type TraceRecord } from "../shm/trace-ring.ts";
import type { ChannelCounters, EndpointCounters, PdCounters, StatsCollector } from "./stats.ts";

/** Operations a PD's records count, in the order the table lists them. */
export const Operation = {
  ppcall: 0,
  protected: 1,
  notify: 2,
  notified: 3,
  send: 4,
  call: 5,
  receive: 6,
  reply: 7,
  ringPublish: 8,
  ringPublished: 9,
  ringReceive: 10,
  ringReceived: 11,
} as const;
/** How each operation is named in `PdStats.operations` (index: `Operation`). */
export const OPERATION_NAMES = ["ppcall", "protected", "notify", "notified", "send", "call", "receive", "reply", "ring publish", "ring messages sent", "ring receive", "ring messages received"] as const;

/** One event of the Chrome Trace Event format (the subset isokit writes). Times in µs. */
export interface TraceEvent {
  readonly name: string;
  readonly cat: string;
  readonly ph: "X" | "s" | "f" | "M" | "i";
  readonly ts: number;
  readonly dur?: number;
  readonly pid: number;
  readonly tid: number;
  readonly id?: number;
  /** A flow's finish binds to the slice that encloses it. */
  readonly bp?: "e";
  /** Instant scope (thread). */
  readonly s?: "t";
  readonly args?: Readonly<Record<string, string | number>>;
}

/** What `isokit run --trace` writes: the JSON object form of the Trace Event format. */
export interface TraceFile {
  readonly traceEvents: readonly TraceEvent[];
  readonly displayTimeUnit: "ns" | "ms";
  readonly otherData: Readonly<Record<string, string | number>>;
}

export interface TraceOptions {
  /** Records per PD ring: the last ones a PD wrote, what a trace file can show (a power of two; default 262,144). */
  readonly recordsPerPd?: number;
  /** Records the kernel keeps per PD once it has copied them for the trace file and live views (the last ones; default 262,144). */
  readonly eventsPerPd?: number;
  /**
   * Trace one operation in this many (a power of two, default 1: every one). Above 1, each PD records only the
   * calls, servings and messages numbered 1, 1 + sampleEvery, 1 + 2 * sampleEvery, ... (both ends number a call
   * alike, so sampled calls still join their serving), and operation counts are the records the PDs counted times
   * `sampleEvery`: what the dashboard uses to watch a system at full speed (`DASHBOARD_TRACE`).
   */
  readonly sampleEvery?: number;
}

/**
 * What the dashboard watches with when nothing else asks for a full trace (`isokit run --dashboard` without
 * `--trace` or `--stats`): one call, serving and message in 64 traced, the rest counted as 64 each. A PD then
 * pays a clock read on one operation in 64, so watching a system does not slow it down (bench case
 * ppcall.hot.dashboard).
 */
export const DASHBOARD_TRACE: TraceOptions = { sampleEvery: 64 };

/** What the kernel tells the trace about a PD it starts. */
export interface TracedPd {
  readonly name: string;
  readonly pid: number;
  /** Its channel ends: local id -> the plan's channel index and the PD at the other end. */
  readonly ends: readonly {
    readonly id: number;
    readonly channel: number;
    readonly peer: string;
    /** This end may ppcall the peer (its `pp`): the PD writes PPCALL records for it. */
    readonly calls?: boolean;
    /** The peer's end has `pp`: the PD serves its calls and writes PROTECTED / PROTECTED_REPLIED records. */
    readonly serves?: boolean;
  }[];
  /** Its async channel ends, as its boot data lists them (`events (producer)`): a ring record names one by index. */
  readonly rings?: readonly string[];
}

/** The pid of the one process in the trace; PDs are its threads (tid = the PD's pid; the kernel is 0). */
const TRACE_PID = 1;
/**
 * Records of each PD the kernel's tick reads for latency samples (the newest; fewer if the PD wrote fewer since
 * the last tick): at a tick of 10 ms, a few thousand calls a second per channel are timed, whatever the rate.
 */
const SAMPLE_RECORDS = 64;
/** The kernel reads the PDs' count tables at least this often (ms), so a u32 lane never wraps unseen. */
const COUNT_GAP_MS = 1000;
const MAX_OPEN_FLOWS = 65_536;
const DEFAULT_EVENTS_PER_PD = 262_144;
/** Local channel ids are 0..61 (protocol/layout.ts); one more slot for anything out of range. */
const CHANNEL_IDS = 64;
/** A flow's end is put this far (µs) inside the slice it binds to, so it is enclosed whatever the rounding. */
const EPSILON_US = 0.001;
/** The kind `check` writes over a record it skipped (or one overwritten as it was copied), so decoders skip it without checking it again. */
const SKIPPED = 0;
/** Calls per channel whose first record waits for the other end's (a power of two, many ticks' samples). */
const JOIN_SLOTS = 4096;
/** The count rows the kernel reads (`count`): the kinds that are operations. */
const COUNTED: readonly number[] = [
  TraceKind.PPCALL,
  TraceKind.PROTECTED,
  TraceKind.PROTECTED_REPLIED,
  TraceKind.NOTIFY,
  TraceKind.NOTIFIED_END,
  TraceKind.ENDPOINT_SEND,
  TraceKind.ENDPOINT_CALL,
  TraceKind.ENDPOINT_RECEIVE,
  TraceKind.ENDPOINT_REPLY,
  TraceKind.ENDPOINT_REPLIED,
  TraceKind.RING_PUBLISH,
  TraceKind.RING_RECEIVE,
];

/**
 * One side's sampled records of calls waiting for the other side's (CallJoin, EndpointCallJoin): by slot, the PD,
 * the call's key (three numbers: the plan's channel, 0 and the call's number; or endpoint, slot and SEQ), its time
 * and one more number (`record`: for a serving taken while spinning, the end of the callee's previous record).
 */
class WaitingHalves {
  readonly pd: (PdTrace | undefined)[] = new Array<PdTrace | undefined>(JOIN_SLOTS).fill(undefined);
  readonly key = new Float64Array(JOIN_SLOTS * 3);
  readonly record = new Float64Array(JOIN_SLOTS);
  readonly at = new Float64Array(JOIN_SLOTS);

  /** The PD whose record keyed (a, b, c) waits in slot `k`, which is then free (its record and time stay readable); undefined if none. */
  take(k: number, a: number, b: number, c: number): PdTrace | undefined {
    const pd = this.pd[k];
    if (pd === undefined || this.key[k * 3] !== a || this.key[k * 3 + 1] !== b || this.key[k * 3 + 2] !== c) return undefined;
    this.pd[k] = undefined;
    return pd;
  }

  /** Leaves a record of `pd` (at `at`, with `n`) in slot `k`, over whatever waited there. */
  hold(k: number, pd: PdTrace, a: number, b: number, c: number, n: number, at: number): void {
    this.pd[k] = pd;
    this.key[k * 3] = a;
    this.key[k * 3 + 1] = b;
    this.key[k * 3 + 2] = c;
    this.record[k] = n;
    this.at[k] = at;
  }
}

/**
 * The calls of one channel: the PDs at its two ends, its counters, and the sampled calls whose caller's PPCALL
 * and callee's PROTECTED / PROTECTED_REPLIED records have not both been sampled, by the call's number mod
 * JOIN_SLOTS (a slot is reused by the call JOIN_SLOTS later, so a record whose other half never comes is
 * forgotten, not kept). The trace file joins every call its flight recorders keep (`joinAll`).
 */
class CallJoin {
  readonly caller: PdTrace;
  readonly callee: PdTrace;
  readonly channel: ChannelCounters;
  /** The caller's PPCALL records waiting (their time: when the call was published), by the call's number. */
  readonly calls = new WaitingHalves();
  /** The callee's records waiting (their time: when the reply was published). */
  readonly replies = new WaitingHalves();

  constructor(caller: PdTrace, callee: PdTrace, channel: ChannelCounters) {
    this.caller = caller;
    this.callee = callee;
    this.channel = channel;
  }
}

/**
 * The last `limit` raw records of one PD that the kernel copied out of its ring, in kernel memory (what the PD
 * writes there later changes nothing here). Starts at 1,024 records and grows once, to its full size, when it
 * needs more: a PD that records little costs little, and one that records much costs one copy of 1,024 records.
 * Records keep the PD's numbers: record n is kept while n >= written - limit and n is past any stretch the
 * kernel never got (`skipTo`: the PD overwrote it before anyone asked).
 */
class FlightRecorder {
  i32: Int32Array;
  f64: Float64Array;
  /** Records the arrays hold: a power of two (slots by mask), at least `limit` once grown. */
  private capacity: number;
  private mask: number;
  /** The number of the next record put in (records are numbered as the PD wrote them, from 0). */
  written = 0;
  /** No record below this is kept: where the recorder last skipped ahead over records it never got. */
  private floor = 0;
  /** Records skipped over so (never put in). */
  private missed = 0;
  readonly limit: number;

  constructor(limit: number) {
    this.limit = limit;
    this.capacity = Math.min(2 ** Math.ceil(Math.log2(limit)), 1024);
    this.mask = this.capacity - 1;
    this.i32 = new Int32Array(this.capacity * RECORD_I32);
    this.f64 = new Float64Array(this.i32.buffer);
  }

  /** Records put in and since gone. */
  get evicted(): number {
    return this.oldest - this.missed;
  }

  /** Index of the oldest record still kept. */
  get oldest(): number {
    return Math.max(this.floor, this.written - this.limit);
  }

  /** Where record `n` (oldest <= n < written) is, in records. `n & mask` is n mod capacity up to 2^53. */
  slot(n: number): number {
    return n & this.mask;
  }

  /** Goes on from record `n` (> written): the records before it were never put in, and those kept before them go. */
  skipTo(n: number): void {
    this.missed += n - this.written;
    this.written = n;
    this.floor = n;
  }

  /** Copies `count` records from record `first` of `source`, as the next ones, evicting the oldest if full. */
  append(source: Int32Array, first: number, count: number): void {
    this.grow(count);
    while (count > 0) {
      const at = this.written & this.mask;
      const run = Math.min(count, this.capacity - at);
      this.i32.set(source.subarray(first * RECORD_I32, (first + run) * RECORD_I32), at * RECORD_I32);
      this.written += run;
      first += run;
      count -= run;
    }
  }

  private grow(more: number): void {
    if (this.capacity >= this.limit || this.written - this.oldest + more <= this.capacity) return;
    const capacity = 2 ** Math.ceil(Math.log2(this.limit));
    const mask = capacity - 1;
    const i32 = new Int32Array(capacity * RECORD_I32);
    for (let n = this.oldest; n < this.written; ) {
      const run = Math.min(this.written - n, this.capacity - (n & this.mask), capacity - (n & mask));
      i32.set(this.i32.subarray((n & this.mask) * RECORD_I32, ((n & this.mask) + run) * RECORD_I32), (n & mask) * RECORD_I32);
      n += run;
    }
    this.i32 = i32;
    this.f64 = new Float64Array(i32.buffer);
    this.capacity = capacity;
    this.mask = mask;
  }
}

/**
 * Endpoint calls whose two records (the caller's ENDPOINT_CALL, the receiver's ENDPOINT_REPLY) have not both been
 * sampled, one table for the system, by a hash of (endpoint, slot, SEQ) (`endpointCallSlot`): a slot is taken over
 * by a later call that hashes alike, so a record whose other half never comes is forgotten, not kept. A reply
 * written by a PD that is not the receiver can end an honest caller's call early, never move its start, and the
 * decoder keeps every call's end before its caller's next record.
 */
class EndpointCallJoin {
  readonly calls = new WaitingHalves();
  readonly replies = new WaitingHalves();
}

/** Where the endpoint call (endpoint, slot, seq) waits in an EndpointCallJoin. */
function endpointCallSlot(endpoint: number, slot: number, seq: number): number {
  return (Math.imul(seq, 0x9e37_79b1) ^ Math.imul(slot, 0x85eb_ca6b) ^ endpoint) & (JOIN_SLOTS - 1);
}

interface PdTrace {
  readonly info: TracedPd;
  readonly reader: TraceRingReader;
  readonly counters: PdCounters;
  readonly flight: FlightRecorder;
  /** Local channel id -> the plan's channel index, or -1 (ids the PD does not hold). */
  readonly channelOf: Int32Array;
  readonly peerOf: readonly string[];
  readonly channelCounters: readonly (ChannelCounters | undefined)[];
  /** Local channel id -> the plan's channel index for the ends this PD calls on, -1 elsewhere. */
  readonly callsOn: Int32Array;
  /** Local channel id -> the plan's channel index for the ends this PD serves calls on, -1 elsewhere. */
  readonly servesOn: Int32Array;
  /** When the kernel made the PD's ring (kernel clock, ms): nothing the PD did can be earlier. */
  readonly since: number;
  /** The count tables as last read (`count`): counts and sums, by kind * COUNT_LANES + lane. */
  readonly seen: Uint32Array;
  readonly seenSums: Uint32Array;
  /** The sampler's copy of the newest records (SAMPLE_RECORDS of them), and the record it reads from next. */
  readonly scratch: Int32Array;
  readonly scratchF64: Float64Array;
  sampled: number;
  /** `check`'s state: the channel set of the `notified()` waiting for its end (-1: none). */
  checkLow: number;
  checkHigh: number;
  /** The ids the PD holds, as a channel set: a `notified()` can only be for some of them. */
  readonly heldLow: number;
  readonly heldHigh: number;
  /** The endpoint the last endpoint lane named, and its counters (most name the same one). */
  lastEndpoint: number;
  lastEndpointCounters: EndpointCounters | undefined;
  /** Records `check` skipped, and records overwritten before the kernel could copy them (`collect`). */
  skipped: number;
  lost: number;
}

export class KernelTrace {
  private readonly pds = new Map<string, PdTrace>();
  private readonly kernelEvents: TraceEvent[] = [];
  /** Kernel events made so far (the list keeps the last `eventsPerPd`). */
  private kernelWritten = 0;
  private readonly recordsPerPd: number | undefined;
  private readonly eventsPerPd: number;
  readonly sampleEvery: number;
  private readonly stats: StatsCollector;
  private readonly onBroken: (pd: string, why: string) => void;
  /** Sampled endpoint calls whose call or reply record waits for the other. */
  private readonly endpointCalls = new EndpointCallJoin();
  /** By the plan's channel index, made when the first record of a call on it is sampled or joined. */
  private readonly joins: (CallJoin | undefined)[] = [];
  /** When the count tables were last read. */
  private countedAt = Number.NEGATIVE_INFINITY;

  constructor(options: TraceOptions, stats: StatsCollector, onBroken: (pd: string, why: string) => void) {
    this.recordsPerPd = options.recordsPerPd;
    this.eventsPerPd = Math.max(1, Math.floor(options.eventsPerPd ?? DEFAULT_EVENTS_PER_PD));
    const sample = Math.max(1, Math.min(1 << 16, Math.floor(options.sampleEvery ?? 1)));
    this.sampleEvery = 2 ** Math.floor(Math.log2(sample));
    this.stats = stats;
    this.onBroken = onBroken;
  }

  /** Makes PD `info`'s ring; hand the result to the PD in its boot data. A PD started again gets a new ring. */
  add(info: TracedPd, counters: PdCounters): TraceBootData {
    const before = this.pds.get(info.name);
    if (before !== undefined) this.count(before); // what it counted before it started again
    const buffer = createTraceRing(this.recordsPerPd);
    const reader = new TraceRingReader(buffer); // before the PD holds the buffer: its capacity is ours
    const channelOf = new Int32Array(CHANNEL_IDS).fill(-1);
    const callsOn = new Int32Array(CHANNEL_IDS).fill(-1);
    const servesOn = new Int32Array(CHANNEL_IDS).fill(-1);
    const peerOf: string[] = [];
    const channelCounters: (ChannelCounters | undefined)[] = [];
    let heldLow = 0;
    let heldHigh = 0;
    for (const end of info.ends) {
      if (!Number.isInteger(end.id) || end.id < 0 || end.id >= CHANNEL_IDS) continue;
      if (end.id < 31) heldLow |= 1 << end.id;
      else heldHigh |= 1 << (end.id - 31);
      channelOf[end.id] = end.channel;
      peerOf[end.id] = end.peer;
      channelCounters[end.id] = this.stats.channel(end.channel);
      if (end.calls === true) callsOn[end.id] = end.channel;
      if (end.serves === true) servesOn[end.id] = end.channel;
      this.joins[end.channel] = undefined; // a PD started again numbers its records from 0: what waited is void
    }
    const scratch = new Int32Array(SAMPLE_RECORDS * RECORD_I32);
    const pd: PdTrace = {
      info,
      reader,
      counters,
      flight: new FlightRecorder(this.eventsPerPd),
      channelOf,
      peerOf,
      channelCounters,
      callsOn,
      servesOn,
      since: performance.now(),
      seen: new Uint32Array(COUNT_KINDS * COUNT_LANES),
      seenSums: new Uint32Array(COUNT_KINDS * COUNT_LANES),
      scratch,
      scratchF64: new Float64Array(scratch.buffer),
      sampled: 0,
      checkLow: -1,
      checkHigh: 0,
      heldLow,
      heldHigh,
      lastEndpoint: -1,
      lastEndpointCounters: undefined,
      skipped: 0,
      lost: 0,
    };
    this.pds.set(info.name, pd);
    return { buffer, timeOrigin: performance.timeOrigin, sampleEvery: this.sampleEvery };
  }

  /**
   * The kernel tick's part (`Observation.tick`): samples the newest records of every PD that wrote some since the
   * last tick (at most SAMPLE_RECORDS each), and reads the count tables if the last reading is COUNT_GAP_MS old.
   * Nothing a PD writes makes the kernel read more of its ring than that, or keeps another PD's from being read.
   */
  tick(now: number = performance.now()): void {
    for (const pd of this.pds.values()) this.sample(pd, now);
    if (now - this.countedAt >= COUNT_GAP_MS) this.countAll(now);
  }

  /** Counts and samples now, for statistics that are up to date (`stats()`, the system's end). */
  observe(): void {
    const now = performance.now();
    for (const pd of this.pds.values()) this.sample(pd, now);
    this.countAll(now);
  }

  private countAll(now: number): void {
    this.countedAt = now;
    for (const pd of this.pds.values()) this.count(pd);
  }

  /** HEAD of `pd`'s ring now, in records written; a HEAD that moved back faults the PD, once. */
  private written(pd: PdTrace): number {
    const refused = pd.reader.refusal() !== undefined;
    const written = pd.reader.written();
    const why = pd.reader.refusal();
    if (!refused && why !== undefined) this.onBroken(pd.info.name, why);
    return written;
  }

  /**
   * Copies what is new in every ring (at most a ring's capacity each: what the PD overwrote before anyone asked
   * is counted as lost) into the flight recorders, and checks it. For the readers of records: the trace file and
   * live views.
   */
  collect(): void {
    const now = performance.now();
    for (const pd of this.pds.values()) {
      const flight = pd.flight;
      const written = this.written(pd);
      if (written <= flight.written) continue;
      const from = Math.max(flight.written, pd.reader.oldest(written));
      if (from > flight.written) {
        pd.lost += from - flight.written;
        flight.skipTo(from);
      }
      pd.reader.copy(from, written, (records, first, count) => {
        flight.append(records, first, count);
      });
      // What the PD may have begun overwriting while it was copied is not kept.
      const intact = Math.min(written, pd.reader.oldest(this.written(pd)));
      for (let n = Math.max(from, flight.oldest); n < intact; n++) {
        flight.i32[flight.slot(n) * RECORD_I32 + RECORD_FIELD.KIND] = SKIPPED;
        pd.lost++;
      }
      this.check(pd, Math.max(from, flight.oldest, intact), written, now);
      pd.reader.copied(written);
    }
  }

  /** An event the kernel saw itself (a grant, a revoke, a fault, a state change): on the kernel's track. */
  kernelEvent(name: string, cat: string, args: Readonly<Record<string, string | number>>): void {
    const event: TraceEvent = { name, cat, ph: "X", ts: performance.now() * 1000, dur: 0, pid: TRACE_PID, tid: 0, args };
    if (this.kernelEvents.length < this.eventsPerPd) this.kernelEvents.push(event);
    else this.kernelEvents[this.kernelWritten % this.eventsPerPd] = event;
    this.kernelWritten++;
  }

  /**
   * Records the PDs wrote (by their HEADs), lost (overwritten before the kernel could copy them for a trace file
   * or live view), skipped as malformed when copied, and evicted from the flight recorders.
   */
  totals(): { records: number; dropped: number; skipped: number; evicted: number } {
    let records = 0;
    let dropped = 0;
    let skipped = 0;
    let evicted = 0;
    for (const pd of this.pds.values()) {
      records += this.written(pd);
      dropped += pd.lost;
      skipped += pd.skipped;
      evicted += pd.flight.evicted;
    }
    return { records, dropped, skipped, evicted };
  }

  /** Per-PD lost (`dropped`) and skipped counts. */
  lossOf(name: string): { dropped: number; skipped: number } {
    const pd = this.pds.get(name);
    return pd === undefined ? { dropped: 0, skipped: 0 } : { dropped: pd.lost, skipped: pd.skipped };
  }

  /** The trace so far as a Trace Event file (events of the last `sinceMs` only, if given), decoded now. */
  file(sinceMs?: number): TraceFile {
    this.collect();
    const calledAt = this.joinAll();
    const from = sinceMs === undefined ? -Infinity : (performance.now() - sinceMs) * 1000;
    const events: TraceEvent[] = [
      { name: "process_name", cat: "__metadata", ph: "M", ts: 0, pid: TRACE_PID, tid: 0, args: { name: "isokit system" } },
      { name: "thread_name", cat: "__metadata", ph: "M", ts: 0, pid: TRACE_PID, tid: 0, args: { name: "kernel" } },
    ];
    for (const pd of this.pds.values()) {
      events.push({ name: "thread_name", cat: "__metadata", ph: "M", ts: 0, pid: TRACE_PID, tid: pd.info.pid, args: { name: `PD ${pd.info.name}` } });
      events.push({ name: "thread_sort_index", cat: "__metadata", ph: "M", ts: 0, pid: TRACE_PID, tid: pd.info.pid, args: { sort_index: pd.info.pid } });
    }
    const body: TraceEvent[] = [];
    for (const e of this.kernelEvents) if (e.ts >= from) body.push(e);
    const decoder = new Decoder(Number.POSITIVE_INFINITY, calledAt);
    // The flows a window cuts in half simply never join; every other flow joins whatever the PDs' order.
    for (const pd of this.pds.values()) {
      const fromRecord = sinceMs === undefined ? pd.flight.oldest : firstAtOrAfter(pd.flight, from / 1000);
      decoder.decode(pd, fromRecord, pd.flight.written, (e) => body.push(e));
    }
    body.sort((a, b) => a.ts - b.ts);
    const totals = this.totals();
    return {
      traceEvents: [...events, ...body],
      displayTimeUnit: "ns",
      otherData: {
        producer: "isokit",
        timeOrigin: performance.timeOrigin,
        sampleEvery: this.sampleEvery,
        dropped: totals.dropped,
        skipped: totals.skipped,
        evicted: totals.evicted,
      },
    };
  }

  /**
   * A live view of the trace (the dashboard's feed), from the last `backlog` records of each PD (and kernel
   * events) on: each `next` decodes only what is new.
   */
  live(backlog = 0): LiveTrace {
    return new LiveTrace(this, this.pds, () => ({ events: this.kernelEvents, written: this.kernelWritten, limit: this.eventsPerPd }), backlog);
  }

  // ---- counting: the PDs' count tables to counters ------------------------------------------------------

  /**
   * Adds what `pd` counted since the last reading to its counters: each lane of COUNTED read as a u32 and taken
   * as what it grew by (mod 2^32: a lane that went down counts as a lie, not at all), times `sampleEvery`. A lane
   * for a channel or ring the PD does not hold, or on the wrong side of a channel, is not counted.
   */
  private count(pd: PdTrace): void {
    const reader = pd.reader;
    const ops = pd.counters.ops;
    const weight = this.sampleEvery;
    const rings = pd.info.rings?.length ?? 0;
    for (const kind of COUNTED) {
      for (let lane = 0; lane < COUNT_LANES; lane++) {
        const i = kind * COUNT_LANES + lane;
        const value = reader.count(TRACE_COUNTS, i);
        const grew = (value - pd.seen[i]!) >>> 0;
        if (grew === 0) continue;
        pd.seen[i] = value;
        if (grew >= 2 ** 31) continue;
        const n = grew * weight;
        switch (kind) {
          case TraceKind.PPCALL:
            if (pd.callsOn[lane]! < 0) continue;
            ops[Operation.ppcall]! += n;
            pd.channelCounters[lane]!.ppcalls += n;
            break;
          case TraceKind.PROTECTED:
          case TraceKind.PROTECTED_REPLIED:
            if (pd.servesOn[lane]! < 0) continue;
            ops[Operation.protected]! += n;
            break;
          case TraceKind.NOTIFY: {
            const channel = pd.channelCounters[lane];
            if (channel === undefined) continue;
            ops[Operation.notify]! += n;
            channel.notifies += n;
            break;
          }
          case TraceKind.NOTIFIED_END:
            ops[Operation.notified]! += n;
            break;
          case TraceKind.RING_PUBLISH:
          case TraceKind.RING_RECEIVE: {
            if (lane >= rings) continue;
            const sum = reader.count(TRACE_SUMS, i);
            const messages = (sum - pd.seenSums[i]!) >>> 0;
            pd.seenSums[i] = sum;
            const publish = kind === TraceKind.RING_PUBLISH;
            ops[publish ? Operation.ringPublish : Operation.ringReceive]! += n;
            if (messages < 2 ** 31) ops[publish ? Operation.ringPublished : Operation.ringReceived]! += messages * weight;
            break;
          }
          default: {
            // An endpoint lane: the endpoint it last counted (the PD's word, as an endpoint record's is).
            const endpoint = this.endpointOf(pd, reader.count(TRACE_OBJECTS, i));
            if (kind === TraceKind.ENDPOINT_CALL) {
              ops[Operation.call]! += n;
              if (endpoint !== undefined) endpoint.calls += n;
            } else if (kind === TraceKind.ENDPOINT_SEND) {
              ops[Operation.send]! += n;
              if (endpoint !== undefined) endpoint.sends += n;
            } else if (kind === TraceKind.ENDPOINT_RECEIVE) {
              ops[Operation.receive]! += n;
              if (endpoint !== undefined) endpoint.receives += n;
            } else {
              if (kind === TraceKind.ENDPOINT_REPLIED) {
                ops[Operation.receive]! += n; // the receive is in the reply's record
                if (endpoint !== undefined) endpoint.receives += n;
              }
              ops[Operation.reply]! += n;
              if (endpoint !== undefined) endpoint.replies += n;
            }
          }
        }
      }
    }
  }

  // ---- sampling: the newest records to latencies, no allocation -----------------------------------------

  /**
   * Reads the records `pd` wrote since the last sample, the newest SAMPLE_RECORDS at most, and feeds them to the
   * joins (latencies) and the entry-point state. A record it cannot use is passed over (`check` counts it, if a
   * reader ever copies it).
   */
  private sample(pd: PdTrace, now: number): void {
    const written = this.written(pd);
    if (written <= pd.sampled) return;
    const from = Math.max(pd.sampled, written - SAMPLE_RECORDS, pd.reader.oldest(written));
    const c = pd.counters;
    if (from > pd.sampled) c.entry = undefined; // what it did in between is not known
    let into = 0;
    const scratch = pd.scratch;
    pd.reader.copy(from, written, (records, first, count) => {
      scratch.set(records.subarray(first * RECORD_I32, (first + count) * RECORD_I32), into * RECORD_I32);
      into += count;
    });
    pd.sampled = written;
    const intact = Math.max(from, pd.reader.oldest(this.written(pd)));
    const f64 = pd.scratchF64;
    let previousEnd = 0;
    for (let n = intact; n < written; n++) {
      const w = (n - from) * RECORD_I32;
      const at = f64[w >> 1]!;
      const kind = scratch[w + RECORD_FIELD.KIND]!;
      if (!(at >= 0 && at <= now + 1) || kind < 1 || kind > MAX_TRACE_KIND) continue; // as `check` skips
      const object = scratch[w + RECORD_FIELD.OBJECT]! >>> 0;
      const local = object < CHANNEL_IDS ? object : CHANNEL_IDS - 1;
      const b = scratch[w + RECORD_FIELD.B]! >>> 0;
      const a = scratch[w + RECORD_FIELD.A]! >>> 0;
      const end = previousEnd;
      previousEnd = kind === TraceKind.PROTECTED ? at + a / 1e6 : at;
      switch (kind) {
        case TraceKind.PPCALL: {
          const index = pd.callsOn[local]!;
          const join = index < 0 ? undefined : this.joinOf(index, pd.info.name, pd.peerOf[local]!);
          if (join === undefined) break;
          const k = b & (JOIN_SLOTS - 1);
          if (join.replies.take(k, index, 0, b) !== undefined) this.timeCall(join, at, join.replies.at[k]!, join.replies.record[k]!);
          else join.calls.hold(k, pd, index, 0, b, 0, at);
          break;
        }
        case TraceKind.PROTECTED:
        case TraceKind.PROTECTED_REPLIED: {
          const index = pd.servesOn[local]!;
          const join = index < 0 ? undefined : this.joinOf(index, pd.peerOf[local]!, pd.info.name);
          if (join === undefined) break;
          // A PROTECTED timed itself (NaN: no start to find); a PROTECTED_REPLIED began when the call was published,
          // not before the callee's previous record.
          if (kind === TraceKind.PROTECTED) join.channel.serveLatency.record(a);
          const replied = kind === TraceKind.PROTECTED ? at + a / 1e6 : at;
          const notBefore = kind === TraceKind.PROTECTED ? Number.NaN : Math.max(end, pd.since);
          const k = b & (JOIN_SLOTS - 1);
          if (join.calls.take(k, index, 0, b) !== undefined) this.timeCall(join, join.calls.at[k]!, replied, notBefore);
          else join.replies.hold(k, pd, index, 0, b, notBefore, replied);
          break;
        }
        case TraceKind.ENDPOINT_CALL: {
          const join = this.endpointCalls;
          const k = endpointCallSlot(object, a, b);
          if (join.replies.take(k, object, a, b) !== undefined) this.endpointOf(pd, object)?.callLatency.record(roundTrip(at, join.replies.at[k]!));
          else join.calls.hold(k, pd, object, a, b, 0, at);
          break;
        }
        case TraceKind.ENDPOINT_REPLY:
        case TraceKind.ENDPOINT_REPLIED: {
          const join = this.endpointCalls;
          const k = endpointCallSlot(object, a, b);
          if (join.calls.take(k, object, a, b) !== undefined) this.endpointOf(pd, object)?.callLatency.record(roundTrip(join.calls.at[k]!, at));
          else join.replies.hold(k, pd, object, a, b, 0, at);
          break;
        }
        case TraceKind.NOTIFIED_BEGIN:
          c.entry = "notified";
          c.entrySince = at;
          break;
        case TraceKind.NOTIFIED_END:
          c.entry = undefined;
          break;
        default:
          break;
      }
    }
  }

  /**
   * A sampled call's two records are in: published at `calledAt`, its reply at `repliedAt`. Counts its round trip
   * and, for a serving taken while spinning (`notBefore` a number: the end of the callee's previous record), the
   * serving from when the call was published (not before `notBefore`).
   */
  private timeCall(join: CallJoin, calledAt: number, repliedAt: number, notBefore: number): void {
    join.channel.callLatency.record(roundTrip(calledAt, repliedAt));
    if (Number.isNaN(notBefore)) return;
    const began = Math.min(repliedAt, Math.max(calledAt, notBefore));
    join.channel.serveLatency.record(Math.round((repliedAt - began) * 1e6));
  }

  // ---- checking: what a reader copied, before anyone decodes it ---------------------------------------

  /**
   * Checks records [from, to) of `pd`'s flight recorder, as copied: a record with an unknown kind, a time not
   * finite or out of [0, now], a channel the PD does not hold or on the wrong side of it, a ring it does not hold,
   * or a notified() end without its begin is marked SKIPPED (the decoders pass over it) and counted.
   */
  private check(pd: PdTrace, from: number, to: number, now: number): void {
    const flight = pd.flight;
    const i32 = flight.i32;
    const f64 = flight.f64;
    const rings = pd.info.rings?.length ?? 0;
    for (let n = from; n < to; n++) {
      const w = flight.slot(n) * RECORD_I32;
      const at = f64[w >> 1]!;
      const kind = i32[w + RECORD_FIELD.KIND]!;
      const object = i32[w + RECORD_FIELD.OBJECT]! >>> 0;
      const local = object < CHANNEL_IDS ? object : CHANNEL_IDS - 1;
      let used: boolean;
      if (!(at >= 0 && at <= now + 1)) used = false;
      else {
        switch (kind) {
          case TraceKind.PPCALL:
            used = pd.callsOn[local]! >= 0;
            break;
          case TraceKind.PROTECTED:
          case TraceKind.PROTECTED_REPLIED:
            used = pd.servesOn[local]! >= 0;
            break;
          case TraceKind.NOTIFY:
            used = pd.channelCounters[local] !== undefined;
            break;
          case TraceKind.NOTIFIED_BEGIN: {
            const high = i32[w + RECORD_FIELD.A]!;
            used = (object & ~pd.heldLow) === 0 && (high & ~pd.heldHigh) === 0 && (object | high) !== 0;
            if (used) [pd.checkLow, pd.checkHigh] = [object, high];
            break;
          }
          case TraceKind.NOTIFIED_END:
            used = pd.checkLow >= 0 && object === pd.checkLow && i32[w + RECORD_FIELD.A]! === pd.checkHigh;
            if (used) pd.checkLow = -1;
            break;
          case TraceKind.ENDPOINT_CALL:
          case TraceKind.ENDPOINT_SEND:
          case TraceKind.ENDPOINT_RECEIVE:
          case TraceKind.ENDPOINT_REPLY:
          case TraceKind.ENDPOINT_REPLIED:
            used = true;
            break;
          case TraceKind.RING_PUBLISH:
          case TraceKind.RING_RECEIVE:
            used = object < rings;
            break;
          default:
            used = false; // an unknown kind, or one no longer written (1-4, 10)
        }
      }
      if (!used) {
        i32[w + RECORD_FIELD.KIND] = SKIPPED;
        pd.skipped++;
      }
    }
  }

  /**
   * The join of channel `index` (the plan's), made on first use: calls from `caller` served by `callee`. Undefined
   * while the other PD has no trace yet (it has not started, so it wrote nothing to join with).
   */
  private joinOf(index: number, caller: string, callee: string): CallJoin | undefined {
    const join = this.joins[index];
    if (join !== undefined) return join;
    const from = this.pds.get(caller);
    const to = this.pds.get(callee);
    if (from === undefined || to === undefined) return undefined;
    return (this.joins[index] = new CallJoin(from, to, this.stats.channel(index)));
  }

  /**
   * Both records of one call are in the flight recorders: the caller's PPCALL (flight index `call`, published at
   * `calledAt`) and the callee's (flight index `reply`, the reply published at `repliedAt`). Writes the round trip
   * and the reply's label into the caller's record and, for a PROTECTED_REPLIED, turns the callee's into the
   * PROTECTED it stands for, starting when the call was published (but not before the callee's previous record,
   * or its start: a caller's time cannot stretch the callee's track back over what it did before).
   */
  private complete(join: CallJoin, call: number, calledAt: number, reply: number, repliedAt: number): void {
    const caller = join.caller.flight;
    const callee = join.callee.flight;
    const ns = roundTrip(calledAt, repliedAt);
    const r = callee.slot(reply) * RECORD_I32;
    const kept = reply >= callee.oldest;
    const replyLabel = kept ? callee.i32[r + RECORD_FIELD.EXTRA]! : 0;
    if (call >= caller.oldest) {
      const w = caller.slot(call) * RECORD_I32;
      caller.i32[w + RECORD_FIELD.A] = ns;
      caller.i32[w + RECORD_FIELD.EXTRA] = replyLabel;
    }
    if (!kept || callee.i32[r + RECORD_FIELD.KIND] !== TraceKind.PROTECTED_REPLIED) return;
    const previous = Math.max(join.callee.since, reply - 1 >= callee.oldest ? endOf(callee, reply - 1) : 0);
    const began = Math.min(repliedAt, Math.max(calledAt, previous));
    const served = Math.round((repliedAt - began) * 1e6);
    callee.f64[r >> 1] = began;
    callee.i32[r + RECORD_FIELD.KIND] = TraceKind.PROTECTED;
    callee.i32[r + RECORD_FIELD.A] = Math.min(0xffff_ffff, served);
  }

  /**
   * Both records of an endpoint call are in: the caller's ENDPOINT_CALL (flight index `call` of `caller`, published
   * at `calledAt`) and the receiver's reply (published at `repliedAt`). Writes the round trip into the caller's
   * record.
   */
  private completeEndpointCall(caller: PdTrace, call: number, calledAt: number, repliedAt: number): void {
    const flight = caller.flight;
    if (call >= flight.oldest) flight.i32[flight.slot(call) * RECORD_I32 + RECORD_FIELD.EXTRA] = roundTrip(calledAt, repliedAt);
  }

  /**
   * Joins the calls the flight recorders keep, for a trace file: a caller's PPCALL or ENDPOINT_CALL still without
   * its round trip meets the other side's record of the same call (same channel and number; same endpoint, slot
   * and SEQ). Counts nothing (the statistics take their samples on the tick). Returns when each endpoint call kept was published, by
   * endpoint, slot and SEQ (`endpointMessageKey`), for the receives in ENDPOINT_REPLIED records.
   */
  private joinAll(): Map<string, number> {
    // Endpoint calls: every reply kept, by (endpoint, slot, SEQ); then every call still without its round trip.
    const replies = new Map<string, number>();
    for (const pd of this.pds.values()) {
      const f = pd.flight;
      for (let n = f.oldest; n < f.written; n++) {
        const w = f.slot(n) * RECORD_I32;
        const kind = f.i32[w + RECORD_FIELD.KIND];
        if (kind === TraceKind.ENDPOINT_REPLY || kind === TraceKind.ENDPOINT_REPLIED) replies.set(endpointMessageKey(f.i32, w), f.f64[w >> 1]!);
      }
    }
    const calls = new Map<string, number>();
    for (const pd of this.pds.values()) {
      const f = pd.flight;
      for (let n = f.oldest; n < f.written; n++) {
        const w = f.slot(n) * RECORD_I32;
        if (f.i32[w + RECORD_FIELD.KIND] !== TraceKind.ENDPOINT_CALL) continue;
        const key = endpointMessageKey(f.i32, w);
        calls.set(key, f.f64[w >> 1]!);
        if (f.i32[w + RECORD_FIELD.EXTRA] !== 0) continue;
        const repliedAt = replies.get(key);
        if (repliedAt !== undefined) this.completeEndpointCall(pd, n, f.f64[w >> 1]!, repliedAt);
      }
    }
    // Ppcalls, channel by channel.
    this.joins.forEach((join, index) => {
      if (join === undefined) return;
      const callee = join.callee;
      const replies = new Map<number, number>(); // the call's number -> the callee's record of it
      for (let n = callee.flight.oldest; n < callee.flight.written; n++) {
        const w = callee.flight.slot(n) * RECORD_I32;
        const kind = callee.flight.i32[w + RECORD_FIELD.KIND];
        if ((kind === TraceKind.PROTECTED || kind === TraceKind.PROTECTED_REPLIED) && callee.servesOn[callee.flight.i32[w + RECORD_FIELD.OBJECT]! & (CHANNEL_IDS - 1)] === index) {
          replies.set(callee.flight.i32[w + RECORD_FIELD.B]! >>> 0, n);
        }
      }
      const caller = join.caller;
      for (let n = caller.flight.oldest; n < caller.flight.written; n++) {
        const w = caller.flight.slot(n) * RECORD_I32;
        const i32 = caller.flight.i32;
        if (i32[w + RECORD_FIELD.KIND] !== TraceKind.PPCALL || i32[w + RECORD_FIELD.A] !== 0 || caller.callsOn[i32[w + RECORD_FIELD.OBJECT]! & (CHANNEL_IDS - 1)] !== index) continue;
        const reply = replies.get(i32[w + RECORD_FIELD.B]! >>> 0);
        if (reply === undefined) continue;
        const r = callee.flight.slot(reply) * RECORD_I32;
        const at = callee.flight.f64[r >> 1]!;
        const repliedAt = callee.flight.i32[r + RECORD_FIELD.KIND] === TraceKind.PROTECTED ? at + (callee.flight.i32[r + RECORD_FIELD.A]! >>> 0) / 1e6 : at;
        this.complete(join, n, caller.flight.f64[w >> 1]!, reply, repliedAt);
      }
    });
    return calls;
  }

  private endpointOf(pd: PdTrace, id: number): EndpointCounters | undefined {
    if (id === pd.lastEndpoint) return pd.lastEndpointCounters;
    pd.lastEndpoint = id;
    pd.lastEndpointCounters = this.stats.endpoint(id);
    return pd.lastEndpointCounters;
  }
}

/** "endpoint:slot:SEQ" of the endpoint record at word `w` of `i32` (a flight recorder's). */
function endpointMessageKey(i32: Int32Array, w: number): string {
  return `${i32[w + RECORD_FIELD.OBJECT]! >>> 0}:${i32[w + RECORD_FIELD.A]! >>> 0}:${i32[w + RECORD_FIELD.B]! >>> 0}`;
}

/**
 * A joined call's round trip in ns, saturating: from its publication to just after its reply was published (the
 * caller saw the reply later than that; 2 ns after keeps the reply's flow inside the call's slice whatever the
 * rounding of either time).
 */
function roundTrip(calledAt: number, repliedAt: number): number {
  return Math.min(0xffff_ffff, Math.max(0, Math.ceil((repliedAt - calledAt) * 1e6)) + 2);
}

/** When record `n` of `flight` ended (ms): a PROTECTED's start plus its run, any other record's time; 0 if not a time. */
function endOf(flight: FlightRecorder, n: number): number {
  const w = flight.slot(n) * RECORD_I32;
  const at = flight.f64[w >> 1]!;
  const end = flight.i32[w + RECORD_FIELD.KIND] === TraceKind.PROTECTED ? at + (flight.i32[w + RECORD_FIELD.A]! >>> 0) / 1e6 : at;
  return end >= 0 ? end : 0;
}

/** The first record of `flight` stamped at or after `atMs` (records are in the PD's order; times nearly so). */
function firstAtOrAfter(flight: FlightRecorder, atMs: number): number {
  let lo = flight.oldest;
  let hi = flight.written;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (flight.f64[(flight.slot(mid) * RECORD_I32) >> 1]! < atMs) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

interface FlowHalf {
  readonly pd: PdTrace;
  readonly ph: "s" | "f";
  /** Where it would be, and the slice it must stay in (µs). */
  readonly ts: number;
  readonly from: number;
  readonly to: number;
  /**
   * The event this flow leaves, when it was stamped after what it stands for was published, so that the clock
   * read overlaps the other side's work: a ppcall (stamped after the call was published) and an endpoint reply
   * (after the reply was). A PD preempted there stamps late, after the other side already went on; the other
   * side's stamp proves what was published by when, so the ppcall's slice is stretched back to the serving's
   * start (`extend`) and the reply moved back to just before the caller saw it (`move`), but never before
   * `notBefore` (µs), the PD's previous event: what the other side says moves nothing of this PD's past (where
   * that leaves the flow no room, nothing moves and the flow is dropped).
   */
  readonly stretch?: { readonly event: { ts: number; dur: number }; readonly mode: "extend" | "move"; readonly notBefore: number };
}

/** Per-PD decoding state: begins waiting for their end, and the PD's last time (its events are kept monotonic). */
interface PdDecoding {
  readonly open: Map<string, TraceRecord>;
  lastAt: number;
}

/**
 * Records to Trace Events: pairs begins and ends into slices and joins flows across PDs. Only the decoding
 * paths use it (a trace file, a live view), never the tick. Records `check` marked SKIPPED are passed over.
 */
class Decoder {
  private readonly flows = new Map<string, FlowHalf>();
  private readonly state = new Map<PdTrace, PdDecoding>();
  private nextFlow = 1;
  private readonly maxOpenFlows: number;
  /** When each endpoint call was published, by `endpointMessageKey` (a trace file's; a live view has none). */
  private readonly calledAt: ReadonlyMap<string, number> | undefined;

  constructor(maxOpenFlows: number, calledAt?: ReadonlyMap<string, number>) {
    this.maxOpenFlows = maxOpenFlows;
    this.calledAt = calledAt;
  }

  decode(pd: PdTrace, from: number, to: number, emit: (event: TraceEvent) => void): void {
    const flight = pd.flight;
    let state = this.state.get(pd);
    if (state === undefined) {
      state = { open: new Map(), lastAt: 0 };
      this.state.set(pd, state);
    }
    for (let n = Math.max(from, flight.oldest); n < to; n++) {
      const r = readRecord(flight.i32, flight.f64, flight.slot(n));
      const next = n + 1 < flight.written ? flight.f64[(flight.slot(n + 1) * RECORD_I32) >> 1]! : Number.NaN;
      const nextAt = Number.isFinite(next) ? next : Number.POSITIVE_INFINITY;
      if (r !== undefined) this.take(pd, state, r, nextAt, emit);
    }
  }

  /** Decodes record `r`; `nextAt`: the time of the PD's next record (+Infinity if none yet). */
  private take(pd: PdTrace, state: PdDecoding, r: TraceRecord, nextAt: number, emit: (event: TraceEvent) => void): void {
    const previous = state.lastAt;
    const at = Math.max(r.at, previous);
    state.lastAt = at;
    const tid = pd.info.pid;
    switch (r.kind) {
      case TraceKind.NOTIFIED_BEGIN:
        state.open.set(`${r.kind}:${r.object}`, { ...r, at });
        if (state.open.size > MAX_OPEN_FLOWS) state.open.delete(state.open.keys().next().value!);
        return;
      case TraceKind.NOTIFIED_END: {
        const key = `${r.kind - 1}:${r.object}`;
        const begin = state.open.get(key);
        if (begin === undefined || begin.b !== r.b) return;
        state.open.delete(key);
        this.slice(pd, begin, at, r, previous, emit);
        return;
      }
      case TraceKind.PPCALL:
      case TraceKind.PROTECTED:
      case TraceKind.PROTECTED_REPLIED: {
        // A whole call (or protected()) in one record: the slice it would have been as a begin and an end. A
        // PROTECTED_REPLIED is one the file could not join (the caller's record never came): the serving's start
        // is unknown, it is shown as a point at the reply. A call's end is the callee's word, so it is kept
        // before the caller's next record.
        const [beginKind, endKind] = r.kind === TraceKind.PPCALL ? [TraceKind.PPCALL_BEGIN, TraceKind.PPCALL_END] : [TraceKind.PROTECTED_BEGIN, TraceKind.PROTECTED_END];
        const end = { ...r, kind: endKind, at: r.kind === TraceKind.PPCALL ? Math.min(r.at + r.a / 1e6, Math.max(r.at, nextAt)) : r.at + r.a / 1e6, label: r.extra };
        state.lastAt = Math.max(state.lastAt, end.at);
        this.slice(pd, { ...r, at, kind: beginKind }, Math.max(at, end.at), end, previous, emit);
        return;
      }
      case TraceKind.ENDPOINT_CALL: {
        // A whole call in one record; its end is the receiver's word, so it is kept before the caller's next record.
        const endAt = Math.max(at, Math.min(r.at + r.extra / 1e6, Math.max(r.at, nextAt)));
        state.lastAt = Math.max(state.lastAt, endAt);
        this.slice(pd, { ...r, at }, endAt, { ...r, at: endAt }, previous, emit);
        return;
      }
      case TraceKind.NOTIFY: {
        const peer = pd.peerOf[r.object] ?? "?";
        emit({ name: `notify → ${peer}`, cat: "notify", ph: "X", ts: at * 1000, dur: 0, pid: TRACE_PID, tid, args: { channel: r.object } });
        return;
      }
      case TraceKind.ENDPOINT_SEND:
      case TraceKind.ENDPOINT_REPLY:
        this.endpointInstant(pd, r.kind === TraceKind.ENDPOINT_SEND ? "send" : "reply", at, r, r.label, previous, emit);
        return;
      case TraceKind.ENDPOINT_RECEIVE:
        this.endpointInstant(pd, "receive", r.extra === RECEIVED_BY_SPIN ? this.spunReceiveAt(pd, r, at, previous) : at, r, r.label, previous, emit);
        return;
      case TraceKind.ENDPOINT_REPLIED: {
        const received = this.spunReceiveAt(pd, r, at, previous);
        this.endpointInstant(pd, "receive", received, r, r.extra, previous, emit);
        this.endpointInstant(pd, "reply", at, r, r.label, received, emit);
        return;
      }
      case TraceKind.RING_PUBLISH:
      case TraceKind.RING_RECEIVE: {
        const what = r.kind === TraceKind.RING_PUBLISH ? "publish" : "receive";
        emit({ name: `${what} ×${r.a} ${pd.info.rings?.[r.object] ?? `ring ${r.object}`}`, cat: "ring", ph: "X", ts: at * 1000, dur: 0, pid: TRACE_PID, tid, args: { ring: r.object, messages: r.a } });
        return;
      }
      default:
        return;
    }
  }

  /**
   * When the receive loop's spin took call `r`, recorded at `at` (ms), the PD's previous record at `previous`:
   * from the caller's record of the call (published just before the spin took it), never before the PD's
   * previous record or its start, nor after `at`, so a caller that lies about when it called moves nothing of
   * the receiver's past; `at` if the call is not on record. Two flow epsilons after the call's stamp, so the
   * call's flow fits between the two.
   */
  private spunReceiveAt(pd: PdTrace, r: TraceRecord, at: number, previous: number): number {
    const calledAt = this.calledAt?.get(`${r.object}:${r.a}:${r.b}`);
    return calledAt === undefined ? at : Math.min(at, Math.max(calledAt + (2 * EPSILON_US) / 1000, previous, pd.since));
  }

  /**
   * A send, receive or reply of endpoint message `r` at `at` (ms), and its half of the message's or reply's flow;
   * `previous` (ms): the PD's previous event, which a reply is never moved back over.
   */
  private endpointInstant(pd: PdTrace, what: "send" | "receive" | "reply", at: number, r: TraceRecord, label: number, previous: number, emit: (event: TraceEvent) => void): void {
    const ts = at * 1000;
    const event = { name: `${what} ep ${r.object}`, cat: "endpoint", ph: "X" as const, ts, dur: 0, pid: TRACE_PID, tid: pd.info.pid, args: { endpoint: r.object, slot: r.a, seq: r.b, label } };
    emit(event);
    // send / call -> receive; reply -> the call's end
    if (what === "reply") this.flow(pd, `r:${r.object}:${r.a}:${r.b}`, "s", ts, ts, ts, "reply", emit, { event, mode: "move", notBefore: previous * 1000 });
    else this.flow(pd, `e:${r.object}:${r.a}:${r.b}`, what === "send" ? "s" : "f", ts, ts, ts, "message", emit);
  }

  /** A slice from `begin` to `endAt` (ms) and its flows; `previous` (ms): the PD's previous event, which a call's slice is never stretched back over. */
  private slice(pd: PdTrace, begin: TraceRecord, endAt: number, end: TraceRecord, previous: number, emit: (event: TraceEvent) => void): void {
    const ts = begin.at * 1000;
    const dur = Math.max(0, (endAt - begin.at) * 1000);
    const tid = pd.info.pid;
    const last = ts + dur;
    switch (begin.kind) {
      case TraceKind.PPCALL_BEGIN: {
        const channel = pd.channelOf[begin.object]!;
        const event = { name: `ppcall → ${pd.peerOf[begin.object] ?? "?"}`, cat: "ppcall", ph: "X" as const, ts, dur, pid: TRACE_PID, tid, args: { channel: begin.object, call: begin.b, label: begin.label, replyLabel: end.label } };
        emit(event);
        this.flow(pd, `c:${channel}:${begin.b}`, "s", ts, ts, last, "ppcall", emit, { event, mode: "extend", notBefore: previous * 1000 });
        this.flow(pd, `p:${channel}:${begin.b}`, "f", last, ts, last, "reply", emit);
        return;
      }
      case TraceKind.PROTECTED_BEGIN: {
        const channel = pd.channelOf[begin.object]!;
        emit({ name: `protected ← ${pd.peerOf[begin.object] ?? "?"}`, cat: "protected", ph: "X", ts, dur, pid: TRACE_PID, tid, args: { channel: begin.object, call: begin.b, label: begin.label } });
        this.flow(pd, `c:${channel}:${begin.b}`, "f", ts, ts, last, "ppcall", emit);
        this.flow(pd, `p:${channel}:${begin.b}`, "s", last, ts, last, "reply", emit);
        return;
      }
      case TraceKind.NOTIFIED_BEGIN:
        emit({ name: "notified", cat: "notified", ph: "X", ts, dur, pid: TRACE_PID, tid, args: { channels: channelList(begin.object, begin.a) } });
        return;
      case TraceKind.ENDPOINT_CALL: {
        const event = { name: `call ep ${begin.object}`, cat: "endpoint", ph: "X" as const, ts, dur, pid: TRACE_PID, tid, args: { endpoint: begin.object, slot: begin.a, seq: begin.b, label: begin.label } };
        emit(event);
        // Stamped after publishing, as a ppcall is: stretched back to the receive if that was stamped first.
        this.flow(pd, `e:${begin.object}:${begin.a}:${begin.b}`, "s", ts, ts, last, "message", emit, { event, mode: "extend", notBefore: previous * 1000 });
        this.flow(pd, `r:${begin.object}:${begin.a}:${begin.b}`, "f", last, ts, last, "reply", emit);
        return;
      }
      default:
        return;
    }
  }

  /**
   * One half of the flow `key`: `s` where it leaves the slice [from, to] of `pd` (at `ts`, ideally), `f` where it
   * arrives. Both halves are emitted when the second is seen, placed inside their slices with the start not
   * after the finish: PDs stamp on their own threads, and a callee's "began serving" may read a few hundred
   * nanoseconds before its caller's "published the call". A pair that no placement fits is dropped.
   */
  private flow(pd: PdTrace, key: string, ph: "s" | "f", ts: number, from: number, to: number, name: string, emit: (event: TraceEvent) => void, stretch?: FlowHalf["stretch"]): void {
    const half: FlowHalf = stretch === undefined ? { pd, ph, ts, from, to } : { pd, ph, ts, from, to, stretch };
    const other = this.flows.get(key);
    if (other === undefined || other.ph === ph) {
      if (this.flows.size >= this.maxOpenFlows) this.flows.delete(this.flows.keys().next().value!); // the oldest never found its other half
      this.flows.set(key, half);
      return;
    }
    this.flows.delete(key);
    const finish = ph === "s" ? other : half;
    let start = ph === "s" ? half : other;
    const late = start.stretch;
    // Stretched where the other side's stamp says so, and where the flow would not fit otherwise: a reply stamped
    // at the very instant its caller stamped its next call (so the call's end) fit in no placement, and was dropped.
    const fits = late === undefined || place(start, finish) !== undefined;
    if (late?.mode === "extend" && (start.from > finish.from || !fits)) {
      // The call's slice begins where its serving began at the latest (see FlowHalf.stretch).
      const at = Math.max(0, late.notBefore, finish.from - 2 * EPSILON_US);
      if (at < start.from && at <= finish.to) {
        late.event.dur += late.event.ts - at;
        late.event.ts = at;
        start = { ...start, ts: at, from: at };
      }
    } else if (late?.mode === "move" && (start.from > finish.to || !fits)) {
      // The reply was published before the caller saw it (see FlowHalf.stretch).
      const at = Math.max(0, late.notBefore, finish.from, finish.to - 2 * EPSILON_US);
      if (at < start.from && at <= finish.to) {
        late.event.ts = at;
        start = { ...start, ts: at, from: at, to: at };
      }
    }
    const placed = place(start, finish);
    if (placed === undefined) return;
    const [s, f] = placed;
    const id = this.nextFlow++;
    emit({ name, cat: "flow", ph: "s", ts: s, pid: TRACE_PID, tid: start.pd.info.pid, id });
    emit({ name, cat: "flow", ph: "f", ts: f, pid: TRACE_PID, tid: finish.pd.info.pid, id, bp: "e" });
  }
}

/**
 * Where a flow leaves `start` and reaches `finish` (µs), each EPSILON_US inside its slice where the slice is long
 * enough (so rounding cannot push a point out), the start not after the finish; undefined if no placement fits.
 */
function place(start: FlowHalf, finish: FlowHalf): [number, number] | undefined {
  const inside = (h: FlowHalf, t: number): number => Math.min(Math.max(t, h.from + Math.min(EPSILON_US, (h.to - h.from) / 2)), h.to - Math.min(EPSILON_US, (h.to - h.from) / 2));
  let s = inside(start, start.ts);
  const f = inside(finish, Math.max(finish.ts, s));
  if (f < s) s = inside(start, f);
  return f < s ? undefined : [s, f];
}

/**
 * The trace from the moment it was made, decoded a little at a time (the dashboard asks a few times a second).
 * `next(max)` returns the events of records new since the last call, at most about `max` of them: when more
 * are waiting it skips the oldest and counts them in `skipped`, so a view never costs more than it shows.
 * Flows that cross a skipped stretch do not join; within what it shows, they do.
 */
export class LiveTrace {
  private readonly decoder = new Decoder(MAX_OPEN_FLOWS);
  private readonly cursor = new Map<PdTrace, number>();
  private kernelCursor: number;
  /** Records and kernel events passed over because more were waiting than a view asked for. */
  skipped = 0;

  private readonly trace: KernelTrace;
  private readonly pds: ReadonlyMap<string, PdTrace>;
  private readonly kernel: () => { events: readonly TraceEvent[]; written: number; limit: number };

  /** Made by `KernelTrace.live()`. */
  constructor(trace: KernelTrace, pds: ReadonlyMap<string, PdTrace>, kernel: () => { events: readonly TraceEvent[]; written: number; limit: number }, backlog: number) {
    this.trace = trace;
    this.pds = pds;
    this.kernel = kernel;
    trace.collect();
    for (const pd of pds.values()) this.cursor.set(pd, Math.max(pd.flight.oldest, pd.flight.written - backlog));
    const k = kernel();
    this.kernelCursor = Math.max(k.written - k.events.length, k.written - backlog);
  }

  next(max: number): TraceEvent[] {
    this.trace.collect();
    const out: TraceEvent[] = [];
    const k = this.kernel();
    const kernelFrom = Math.max(this.kernelCursor, k.written - Math.min(k.events.length, max));
    this.skipped += kernelFrom - this.kernelCursor;
    for (let n = kernelFrom; n < k.written; n++) out.push(k.events[n % k.limit]!);
    this.kernelCursor = k.written;
    const share = Math.max(1, Math.floor(max / Math.max(1, this.pds.size)));
    for (const pd of this.pds.values()) {
      const since = this.cursor.get(pd) ?? pd.flight.written;
      const from = Math.max(since, pd.flight.oldest, pd.flight.written - share);
      this.skipped += from - since;
      this.decoder.decode(pd, from, pd.flight.written, (e) => out.push(e));
      this.cursor.set(pd, pd.flight.written);
    }
    return out;
  }
}

function channelList(low: number, high: number): string {
  const ids: number[] = [];
  for (let i = 0; i < 31; i++) if ((low & (1 << i)) !== 0) ids.push(i);
  for (let i = 0; i < 31; i++) if ((high & (1 << i)) !== 0) ids.push(31 + i);
  return ids.join(",");
}

/**
 * Checks `value` against the Trace Event format as Perfetto's JSON importer and chrome://tracing read it (the
 * JSON object form, the phases isokit writes): returns what is wrong, or an empty list. Beyond each event's
 * shape, every flow id must have exactly one start (`s`) and one finish (`f`, bound to its enclosing slice),
 * each lying inside a complete (`X`) slice on its own thread, the finish not before the start.
 */
export function checkTraceFile(value: unknown): string[] {
  const problems: string[] = [];
  if (typeof value !== "object" || value === null || !Array.isArray((value as { traceEvents?: unknown }).traceEvents)) return ["not an object with a traceEvents array"];
  const events = (value as { traceEvents: unknown[] }).traceEvents;
  const slices = new Map<number, { ts: number; end: number }[]>();
  const flows = new Map<number, { s: { ts: number; tid: number }[]; f: { ts: number; tid: number }[] }>();
  events.forEach((raw, i) => {
    const at = `traceEvents[${i}]`;
    if (typeof raw !== "object" || raw === null) {
      problems.push(`${at}: not an object`);
      return;
    }
    const e = raw as Record<string, unknown>;
    if (typeof e["name"] !== "string") problems.push(`${at}: name is not a string`);
    if (typeof e["ph"] !== "string" || !["X", "s", "f", "M", "i"].includes(e["ph"])) problems.push(`${at}: phase ${String(e["ph"])} is not one isokit writes`);
    if (!Number.isInteger(e["pid"]) || !Number.isInteger(e["tid"])) problems.push(`${at}: pid and tid must be integers`);
    if (e["ph"] === "M") return;
    if (typeof e["ts"] !== "number" || !Number.isFinite(e["ts"]) || e["ts"] < 0) problems.push(`${at}: ts must be a finite number of µs ≥ 0`);
    if (typeof e["cat"] !== "string") problems.push(`${at}: cat is not a string`);
    const ts = e["ts"] as number;
    const tid = e["tid"] as number;
    if (e["ph"] === "X") {
      if (typeof e["dur"] !== "number" || !(e["dur"] >= 0)) problems.push(`${at}: a complete event needs dur ≥ 0`);
      else {
        const list = slices.get(tid) ?? [];
        list.push({ ts, end: ts + e["dur"] });
        slices.set(tid, list);
      }
    }
    if (e["ph"] === "s" || e["ph"] === "f") {
      if (!Number.isInteger(e["id"])) {
        problems.push(`${at}: a flow event needs an integer id`);
        return;
      }
      if (e["ph"] === "f" && e["bp"] !== "e") problems.push(`${at}: a flow finish must bind to its enclosing slice (bp "e")`);
      const flow = flows.get(e["id"] as number) ?? { s: [], f: [] };
      flow[e["ph"]].push({ ts, tid });
      flows.set(e["id"] as number, flow);
    }
  });
  const enclosed = (p: { ts: number; tid: number }): boolean => (slices.get(p.tid) ?? []).some((s) => s.ts <= p.ts && p.ts <= s.end);
  for (const [id, flow] of flows) {
    if (flow.s.length !== 1 || flow.f.length !== 1) {
      problems.push(`flow ${id}: ${flow.s.length} starts and ${flow.f.length} finishes (one of each)`);
      continue;
    }
    const [s, f] = [flow.s[0]!, flow.f[0]!];
    if (f.ts < s.ts) problems.push(`flow ${id}: finishes at ${f.ts} before it starts at ${s.ts}`);
    if (!enclosed(s)) problems.push(`flow ${id}: its start is in no slice of thread ${s.tid}`);
    if (!enclosed(f)) problems.push(`flow ${id}: its finish is in no slice of thread ${f.tid}`);
  }
  return problems;
}
