/**
 * The kernel's half of tracing (issue #14): it gives each PD a trace ring (shm/trace-ring.ts), drains the rings
 * on a timer, pairs records into slices (a ppcall, a `protected()`, an endpoint call), joins each call to its
 * serving and each serving to its reply (flows), feeds kernel/stats.ts, and writes the Chrome Trace Event
 * format that ui.perfetto.dev and chrome://tracing open: one track (thread) per PD plus one for the kernel.
 *
 * A trace ring is untrusted input. Reading is bounded (at most `RECORDS_PER_TURN` per PD per turn); a record
 * with an unknown kind, a time that is not finite or out of [0, now], or a channel the PD does not hold is
 * skipped and counted; a ring whose HEAD breaks the ring's rules is refused and not read again (its PD is
 * faulted by the system, as for a broken output ring). Flows are joined by numbers the kernel maps itself: a
 * ppcall by (the plan's channel, the call's number on it), an endpoint message by (endpoint, slot, SEQ), so a
 * PD that lies about its numbers garbles arrows to and from its own track only. Memory is bounded too: the
 * last `eventsPerPd` events of each PD are kept (older ones are evicted and counted), and at most
 * `MAX_OPEN_FLOWS` half-joined flows wait for their other half.
 */

import { TraceKind } from "../protocol/trace.ts";
import { createTraceRing, TraceRingReader, type TraceRecord } from "../shm/trace-ring.ts";
import type { TraceBootData } from "../protocol/trace.ts";
import type { PdCounters, StatsCollector } from "./stats.ts";

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
  /** Records per PD ring (a power of two; default 16,384). */
  readonly recordsPerPd?: number;
  /** Events kept per PD in the kernel (the last ones; default 200,000). */
  readonly eventsPerPd?: number;
}

/** What the kernel tells the trace about a PD it starts. */
export interface TracedPd {
  readonly name: string;
  readonly pid: number;
  /** Its channel ends: local id -> the plan's channel index and the PD at the other end. */
  readonly ends: readonly { readonly id: number; readonly channel: number; readonly peer: string }[];
}

/** The pid of the one process in the trace; PDs are its threads (tid = the PD's pid; the kernel is 0). */
const TRACE_PID = 1;
const RECORDS_PER_TURN = 65_536;
const MAX_OPEN_FLOWS = 65_536;
const DEFAULT_EVENTS_PER_PD = 200_000;
/** A flow's end is put this far (µs) inside the slice it binds to, so it is enclosed whatever the rounding. */
const EPSILON_US = 0.001;

interface FlowHalf {
  readonly pd: PdTrace;
  readonly ph: "s" | "f";
  /** Where it would be, and the slice it must stay in (µs). */
  readonly ts: number;
  readonly from: number;
  readonly to: number;
}

interface PdTrace {
  readonly info: TracedPd;
  readonly reader: TraceRingReader;
  readonly counters: PdCounters;
  readonly channelOf: ReadonlyMap<number, { readonly channel: number; readonly peer: string }>;
  /** Begin records waiting for their end, by kind and object. */
  readonly open: Map<string, TraceRecord>;
  /** The last `eventsPerPd` events, as a ring. */
  readonly events: TraceEvent[];
  next: number;
  evicted: number;
  skipped: number;
  records: number;
  /** The PD's last record time: its records are clamped to be monotonic. */
  lastAt: number;
}

export class KernelTrace {
  private readonly pds = new Map<string, PdTrace>();
  private readonly kernelEvents: TraceEvent[] = [];
  private kernelNext = 0;
  private readonly recordsPerPd: number | undefined;
  private readonly eventsPerPd: number;
  private readonly stats: StatsCollector;
  /** Flow halves waiting for their other half, by join key (the second emits both and removes the key). */
  private readonly flows = new Map<string, FlowHalf>();
  private nextFlow = 1;
  private readonly onBroken: (pd: string, why: string) => void;
  /** Every event as it is made, for live views (the dashboard). */
  onEvent: ((event: TraceEvent) => void) | undefined;

  constructor(options: TraceOptions, stats: StatsCollector, onBroken: (pd: string, why: string) => void) {
    this.recordsPerPd = options.recordsPerPd;
    this.eventsPerPd = Math.max(1, options.eventsPerPd ?? DEFAULT_EVENTS_PER_PD);
    this.stats = stats;
    this.onBroken = onBroken;
  }

  /** Makes PD `info`'s ring; hand the result to the PD in its boot data. */
  add(info: TracedPd, counters: PdCounters): TraceBootData {
    const buffer = createTraceRing(this.recordsPerPd);
    const reader = new TraceRingReader(buffer); // before the PD holds the buffer: its capacity is ours
    this.pds.set(info.name, {
      info,
      reader,
      counters,
      channelOf: new Map(info.ends.map((e) => [e.id, { channel: e.channel, peer: e.peer }])),
      open: new Map(),
      events: [],
      next: 0,
      evicted: 0,
      skipped: 0,
      records: 0,
      lastAt: 0,
    });
    return { buffer, timeOrigin: performance.timeOrigin };
  }

  /** Drains every ring, a bounded number of records each. */
  drain(): void {
    const now = performance.now();
    for (const pd of this.pds.values()) {
      if (pd.reader.refusal() !== undefined) continue;
      pd.reader.drain(RECORDS_PER_TURN, (record) => {
        this.take(pd, record, now);
      });
      const why = pd.reader.refusal();
      if (why !== undefined) this.onBroken(pd.info.name, why);
    }
  }

  /** An event the kernel saw itself (a grant, a revoke, a fault, a state change): on the kernel's track. */
  kernelEvent(name: string, cat: string, args: Readonly<Record<string, string | number>>): void {
    const event: TraceEvent = { name, cat, ph: "X", ts: performance.now() * 1000, dur: 0, pid: TRACE_PID, tid: 0, args };
    if (this.kernelEvents.length < this.eventsPerPd) this.kernelEvents.push(event);
    else {
      this.kernelEvents[this.kernelNext] = event;
      this.kernelNext = (this.kernelNext + 1) % this.eventsPerPd;
    }
    this.onEvent?.(event);
  }

  /** Records seen, dropped by PDs (their rings were full), skipped as malformed, and events evicted. */
  totals(): { records: number; dropped: number; skipped: number; evicted: number } {
    let records = 0;
    let dropped = 0;
    let skipped = 0;
    let evicted = 0;
    for (const pd of this.pds.values()) {
      records += pd.records;
      dropped += pd.reader.dropped;
      skipped += pd.skipped + pd.reader.skipped;
      evicted += pd.evicted;
    }
    return { records, dropped, skipped, evicted };
  }

  /** Per-PD dropped and skipped counts. */
  lossOf(name: string): { dropped: number; skipped: number } {
    const pd = this.pds.get(name);
    return pd === undefined ? { dropped: 0, skipped: 0 } : { dropped: pd.reader.dropped, skipped: pd.skipped + pd.reader.skipped };
  }

  /** The trace so far as a Trace Event file (events of the last `sinceMs` only, if given). */
  file(sinceMs?: number): TraceFile {
    this.drain();
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
    for (const list of [this.kernelEvents, ...[...this.pds.values()].map((pd) => pd.events)]) {
      for (const e of list) if (e.ts >= from) body.push(e);
    }
    body.sort((a, b) => a.ts - b.ts);
    const totals = this.totals();
    return {
      traceEvents: [...events, ...body],
      displayTimeUnit: "ns",
      otherData: { producer: "isokit", timeOrigin: performance.timeOrigin, dropped: totals.dropped, skipped: totals.skipped, evicted: totals.evicted },
    };
  }

  // ---- records to events --------------------------------------------------------------------------------

  private take(pd: PdTrace, r: TraceRecord, now: number): void {
    if (r.at < 0 || r.at > now + 1) {
      pd.skipped++; // a time the PD cannot have read from its clock
      return;
    }
    pd.records++;
    const at = Math.max(r.at, pd.lastAt);
    pd.lastAt = at;
    const c = pd.counters;
    switch (r.kind) {
      case TraceKind.PPCALL_BEGIN:
      case TraceKind.PROTECTED_BEGIN:
      case TraceKind.NOTIFIED_BEGIN:
      case TraceKind.ENDPOINT_CALL_BEGIN: {
        if (r.kind !== TraceKind.NOTIFIED_BEGIN && r.kind !== TraceKind.ENDPOINT_CALL_BEGIN && !pd.channelOf.has(r.object)) break;
        pd.open.set(`${r.kind}:${r.object}`, { ...r, at });
        if (r.kind === TraceKind.PROTECTED_BEGIN || r.kind === TraceKind.NOTIFIED_BEGIN) {
          c.entry = r.kind === TraceKind.PROTECTED_BEGIN ? "protected" : "notified";
          c.entrySince = at;
        }
        return;
      }
      case TraceKind.PPCALL_END:
      case TraceKind.PROTECTED_END:
      case TraceKind.NOTIFIED_END:
      case TraceKind.ENDPOINT_CALL_END: {
        const key = `${r.kind - 1}:${r.object}`;
        const begin = pd.open.get(key);
        if (begin === undefined || begin.b !== r.b) break;
        pd.open.delete(key);
        if (r.kind === TraceKind.PROTECTED_END || r.kind === TraceKind.NOTIFIED_END) c.entry = undefined;
        this.slice(pd, begin, at, r);
        return;
      }
      case TraceKind.NOTIFY: {
        const end = pd.channelOf.get(r.object);
        if (end === undefined) break;
        this.stats.count(c, "notify");
        this.stats.channel(end.channel).notifies++;
        this.push(pd, { name: `notify → ${end.peer}`, cat: "notify", ph: "X", ts: at * 1000, dur: 0, pid: TRACE_PID, tid: pd.info.pid, args: { channel: r.object } });
        return;
      }
      case TraceKind.ENDPOINT_SEND:
      case TraceKind.ENDPOINT_RECEIVE:
      case TraceKind.ENDPOINT_REPLY: {
        const what = r.kind === TraceKind.ENDPOINT_SEND ? "send" : r.kind === TraceKind.ENDPOINT_RECEIVE ? "receive" : "reply";
        this.stats.count(c, what);
        const ep = this.stats.endpoint(r.object);
        if (ep !== undefined) {
          if (what === "send") ep.sends++;
          else if (what === "receive") ep.receives++;
          else ep.replies++;
        }
        const ts = at * 1000;
        this.push(pd, { name: `${what} ep ${r.object}`, cat: "endpoint", ph: "X", ts, dur: 0, pid: TRACE_PID, tid: pd.info.pid, args: { endpoint: r.object, slot: r.a, seq: r.b, label: r.label } });
        // send / call -> receive; reply -> the call's end
        if (what === "reply") this.flow(pd, `r:${r.object}:${r.a}:${r.b}`, "s", ts, ts, ts, "reply");
        else this.flow(pd, `e:${r.object}:${r.a}:${r.b}`, what === "send" ? "s" : "f", ts, ts, ts, "message");
        return;
      }
      default:
        break;
    }
    pd.skipped++; // a well-formed record that makes no sense here (a channel the PD does not hold, an end without a begin)
    pd.records--;
  }

  private slice(pd: PdTrace, begin: TraceRecord, endAt: number, end: TraceRecord): void {
    const c = pd.counters;
    const ts = begin.at * 1000;
    const dur = Math.max(0, (endAt - begin.at) * 1000);
    const tid = pd.info.pid;
    const last = ts + dur;
    switch (begin.kind) {
      case TraceKind.PPCALL_BEGIN: {
        const to = pd.channelOf.get(begin.object)!;
        this.stats.count(c, "ppcall");
        const channel = this.stats.channel(to.channel);
        channel.ppcalls++;
        channel.callLatency.record(dur * 1000);
        this.push(pd, { name: `ppcall → ${to.peer}`, cat: "ppcall", ph: "X", ts, dur, pid: TRACE_PID, tid, args: { channel: begin.object, call: begin.b, label: begin.label, replyLabel: end.label } });
        this.flow(pd, `c:${to.channel}:${begin.b}`, "s", ts, ts, last, "ppcall");
        this.flow(pd, `p:${to.channel}:${begin.b}`, "f", last, ts, last, "reply");
        return;
      }
      case TraceKind.PROTECTED_BEGIN: {
        const from = pd.channelOf.get(begin.object)!;
        this.stats.count(c, "protected");
        this.stats.channel(from.channel).serveLatency.record(dur * 1000);
        this.push(pd, { name: `protected ← ${from.peer}`, cat: "protected", ph: "X", ts, dur, pid: TRACE_PID, tid, args: { channel: begin.object, call: begin.b, label: begin.label } });
        this.flow(pd, `c:${from.channel}:${begin.b}`, "f", ts, ts, last, "ppcall");
        this.flow(pd, `p:${from.channel}:${begin.b}`, "s", last, ts, last, "reply");
        return;
      }
      case TraceKind.NOTIFIED_BEGIN: {
        this.stats.count(c, "notified");
        this.push(pd, { name: "notified", cat: "notified", ph: "X", ts, dur, pid: TRACE_PID, tid, args: { channels: channelList(begin.object, begin.a) } });
        return;
      }
      case TraceKind.ENDPOINT_CALL_BEGIN: {
        this.stats.count(c, "call");
        const ep = this.stats.endpoint(begin.object);
        if (ep !== undefined) {
          ep.calls++;
          ep.callLatency.record(dur * 1000);
        }
        this.push(pd, { name: `call ep ${begin.object}`, cat: "endpoint", ph: "X", ts, dur, pid: TRACE_PID, tid, args: { endpoint: begin.object, slot: begin.a, seq: begin.b, label: begin.label } });
        this.flow(pd, `e:${begin.object}:${begin.a}:${begin.b}`, "s", ts, ts, last, "message");
        this.flow(pd, `r:${begin.object}:${begin.a}:${begin.b}`, "f", last, ts, last, "reply");
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
  private flow(pd: PdTrace, key: string, ph: "s" | "f", ts: number, from: number, to: number, name: string): void {
    const half: FlowHalf = { pd, ph, ts, from, to };
    const other = this.flows.get(key);
    if (other === undefined || other.ph === ph) {
      if (this.flows.size >= MAX_OPEN_FLOWS) this.flows.delete(this.flows.keys().next().value!); // the oldest never found its other half
      this.flows.set(key, half);
      return;
    }
    this.flows.delete(key);
    const [start, finish] = ph === "s" ? [half, other] : [other, half];
    // Inside each slice by EPSILON_US where the slice is long enough, so rounding cannot push a point out.
    const inside = (h: FlowHalf, t: number): number => Math.min(Math.max(t, h.from + Math.min(EPSILON_US, (h.to - h.from) / 2)), h.to - Math.min(EPSILON_US, (h.to - h.from) / 2));
    let s = inside(start, start.ts);
    const f = inside(finish, Math.max(finish.ts, s));
    if (f < s) s = inside(start, f);
    if (f < s) return;
    const id = this.nextFlow++;
    this.push(start.pd, { name, cat: "flow", ph: "s", ts: s, pid: TRACE_PID, tid: start.pd.info.pid, id });
    this.push(finish.pd, { name, cat: "flow", ph: "f", ts: f, pid: TRACE_PID, tid: finish.pd.info.pid, id, bp: "e" });
  }

  private push(pd: PdTrace, event: TraceEvent): void {
    if (pd.events.length < this.eventsPerPd) pd.events.push(event);
    else {
      pd.events[pd.next] = event;
      pd.next = (pd.next + 1) % this.eventsPerPd;
      pd.evicted++;
    }
    this.onEvent?.(event);
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
