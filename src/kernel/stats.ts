/**
 * Live statistics of a running system (issue #14): per PD, per Microkit channel and per endpoint — operations,
 * latency histograms (p50 / p99 / max), queue depth, faults, restarts and capability counts. The kernel builds
 * them from what it already sees (PD states and faults, its own registry) and from the PDs' trace rings
 * (kernel/trace.ts), so nothing here is ever on a PD's hot path: a PD only writes and counts trace records, the
 * kernel reads the counts, pairs the newest records into calls and feeds the durations to the histograms below.
 *
 * Everything that comes from a trace ring is the PD's word (a hostile PD can make its own numbers up, never
 * another PD's: a call is counted on the caller's track from the caller's records, its serving from the
 * callee's). Counters are bounded in memory: one record per PD, channel and endpoint the kernel created.
 */

import type { IpcKernelStats } from "./ipc-kernel.ts";
import type { PdFault, PdState } from "./system.ts";
import type { SyscallRequest } from "../protocol/syscall.ts";
import type { TraceBootData } from "../protocol/trace.ts";
import type { Plan } from "./plan.ts";
import { KernelTrace, OPERATION_NAMES, type LiveTrace, type TraceFile, type TraceOptions } from "./trace.ts";

/** Buckets for charts: bucket k counts durations in [2^k, 2^(k+1)) ns. */
export const LOG2_BUCKETS = 40;

export interface LatencySummary {
  readonly count: number;
  readonly p50Ns: number;
  readonly p99Ns: number;
  readonly maxNs: number;
  /** Counts per power of two of nanoseconds (`LOG2_BUCKETS` entries; bucket k is [2^k, 2^(k+1)) ns). */
  readonly log2Buckets: readonly number[];
}

/**
 * Sub-buckets per power of two (the HDR histogram's layout, two significant digits): values below
 * 2 * SUB are exact; above, a value's bucket is its power of two and its top log2(SUB) + 1 bits, so a bucket
 * is less than 1/SUB (1.6%) of its values wide.
 */
const SUB = 64;
const SUB_BITS = 6;
/** Durations are kept up to 2^40 ns (18 minutes); longer ones count in the last bucket. */
const MAX_EXPONENT = 40;
const BUCKETS = 2 * SUB + (MAX_EXPONENT - SUB_BITS) * SUB;

/**
 * One latency histogram, recorded on the kernel's tick for every call its sample pairs, so a record costs a few integer
 * operations and one store (an HDR histogram object cost ~20 ns a value, on cores the PDs spin on). The counts
 * array is made on the first value: an idle channel costs an object.
 */
export class Latency {
  private counts: Float64Array | undefined;
  private total = 0;
  private max = 0;

  /** Records `ns`; NaN or negative (a PD's clock went backwards, or it lied) is not a duration. */
  record(ns: number): void {
    if (!(ns >= 0)) return;
    const counts = (this.counts ??= new Float64Array(BUCKETS));
    const v = ns < 1 ? 1 : ns;
    counts[bucketOf(v)]! += 1;
    this.total++;
    if (v > this.max) this.max = v;
  }

  summary(): LatencySummary {
    const counts = this.counts;
    const log2Buckets = new Array<number>(LOG2_BUCKETS).fill(0);
    if (counts === undefined || this.total === 0) return { count: 0, p50Ns: 0, p99Ns: 0, maxNs: 0, log2Buckets };
    const max = Math.round(this.max);
    const p50 = Math.ceil(this.total * 0.5);
    const p99 = Math.ceil(this.total * 0.99);
    let seen = 0;
    let p50Ns = 0;
    let p99Ns = 0;
    for (let k = 0; k < BUCKETS; k++) {
      const n = counts[k]!;
      if (n === 0) continue;
      const [low, high] = boundsOf(k);
      if (seen < p50 && seen + n >= p50) p50Ns = high;
      if (seen < p99 && seen + n >= p99) p99Ns = high;
      seen += n;
      log2Buckets[Math.min(LOG2_BUCKETS - 1, Math.floor(Math.log2(low)))]! += n;
    }
    // A percentile is its bucket's highest value (within 1.6%): never report it above the exact max.
    return { count: this.total, p50Ns: Math.min(max, p50Ns), p99Ns: Math.min(max, p99Ns), maxNs: max, log2Buckets };
  }
}

/** The bucket of `v` >= 1 ns. */
function bucketOf(v: number): number {
  if (v < 2 * SUB) return v | 0;
  if (v < 2 ** 31) {
    // Integer operations only: this runs for every call the tick's sample pairs.
    const iv = v >>> 0;
    const shift = 31 - Math.clz32(iv) - SUB_BITS; // iv >>> shift lies in [SUB, 2 * SUB)
    return 2 * SUB + (shift - 1) * SUB + ((iv >>> shift) - SUB);
  }
  const exponent = Math.floor(Math.log2(v));
  if (exponent >= MAX_EXPONENT) return BUCKETS - 1;
  const shift = exponent - SUB_BITS;
  return 2 * SUB + (shift - 1) * SUB + (Math.floor(v / 2 ** shift) - SUB);
}

/** The lowest and highest value bucket `k` holds. */
function boundsOf(k: number): [number, number] {
  if (k < 2 * SUB) return [Math.max(1, k), Math.max(1, k)];
  const shift = Math.floor((k - 2 * SUB) / SUB) + 1;
  const low = (((k - 2 * SUB) % SUB) + SUB) * 2 ** shift;
  return [low, low + 2 ** shift - 1];
}

export interface PdStats {
  readonly name: string;
  readonly pid: number;
  readonly state: PdState;
  /** Faults of this PD (each child fault its parent handled counts too). */
  readonly faults: number;
  /** Times its parent's `fault()` let it resume: the Microkit form of a restart. */
  readonly restarts: number;
  readonly outputLines: number;
  /**
   * Operations the PD recorded, by name (`ppcall`, `protected`, `notify`, `notified`, `send`, `call`,
   * `receive`, `reply`, `ring publish`, ...); sampled (`SystemStats.sampleEvery` > 1), records times the rate.
   */
  readonly operations: Readonly<Record<string, number>>;
  /** Capabilities in its space now (the kernel's registry). */
  readonly capabilities: number;
  /** Calls waiting for it now, on the channels it serves (queue depth, sampled from the channel words). */
  readonly queueDepth: number;
  /** The entry point it is in, if it has been in one for more than `longEntryMs` (a PD that never returns). */
  readonly inEntryFor?: { readonly entry: string; readonly ms: number } | undefined;
  /**
   * Trace records it overwrote before a trace file or live view could copy them (its ring keeps its last
   * `recordsPerPd`), and records the kernel skipped as malformed when it copied them.
   */
  readonly traceDropped: number;
  readonly traceSkipped: number;
}

export interface ChannelStats {
  /** The channel's index in the plan; `ends` are the PDs at end 0 and end 1, with their local ids. */
  readonly index: number;
  readonly ends: readonly [{ readonly pd: string; readonly id: number }, { readonly pd: string; readonly id: number }];
  /** Which end may ppcall the other (`0->1`, `1->0`), or none. */
  readonly pp: "0->1" | "1->0" | "none";
  readonly ppcalls: number;
  readonly notifies: number;
  /** Round trip of a ppcall, at the caller. */
  readonly callLatency: LatencySummary;
  /** Time in `protected()`, at the callee. */
  readonly serveLatency: LatencySummary;
  /** 1 while a call waits to be served (sampled). */
  readonly pending: number;
}

export interface EndpointStats {
  readonly id: number;
  readonly sends: number;
  readonly calls: number;
  readonly receives: number;
  readonly replies: number;
  /** Round trip of a call, at the caller. */
  readonly callLatency: LatencySummary;
}

export interface SystemStats {
  /** When this snapshot was taken: ms since the kernel's `performance.timeOrigin`. */
  readonly at: number;
  /** Tracing (and with it operations and latencies) is on. Off, only states, faults and kernel counters move. */
  readonly traced: boolean;
  /** One operation in this many is traced (1: all; more: operations are estimates, latencies a sample). */
  readonly sampleEvery: number;
  readonly pds: readonly PdStats[];
  readonly channels: readonly ChannelStats[];
  readonly endpoints: readonly EndpointStats[];
  /** The kernel's registry: objects, live capabilities, syscalls, quota hits (rate limits, refusals). */
  readonly kernel: IpcKernelStats;
  readonly trace: { readonly records: number; readonly dropped: number; readonly skipped: number; readonly evicted: number };
  readonly warnings: readonly string[];
}

/** Per-PD counters the kernel keeps. */
export interface PdCounters {
  readonly name: string;
  readonly pid: number;
  faults: number;
  restarts: number;
  outputLines: number;
  /** Operations by `Operation` index: from the PD's count table, read on the kernel's tick. */
  readonly ops: Float64Array;
  /** Entry point the PD is in now, and since when (ms, kernel clock), from its trace records. */
  entry: string | undefined;
  entrySince: number;
}

export interface ChannelCounters {
  readonly index: number;
  readonly ends: [{ pd: string; id: number }, { pd: string; id: number }];
  pp: "0->1" | "1->0" | "none";
  ppcalls: number;
  notifies: number;
  readonly callLatency: Latency;
  readonly serveLatency: Latency;
}

export interface EndpointCounters {
  readonly id: number;
  sends: number;
  calls: number;
  receives: number;
  replies: number;
  readonly callLatency: Latency;
}

/** Where the kernel's counters live; kernel/trace.ts feeds them, the running system snapshots them. */
export class StatsCollector {
  readonly pds = new Map<string, PdCounters>();
  readonly channels: ChannelCounters[] = [];
  readonly endpoints = new Map<number, EndpointCounters>();
  /** Most endpoints tracked: ids past it (a PD creating endpoints in a loop) are counted in `untracked`. */
  static readonly MAX_ENDPOINTS = 4096;
  untrackedEndpoints = 0;

  addPd(name: string, pid: number): PdCounters {
    const pd: PdCounters = { name, pid, faults: 0, restarts: 0, outputLines: 0, ops: new Float64Array(OPERATION_NAMES.length), entry: undefined, entrySince: 0 };
    this.pds.set(name, pd);
    return pd;
  }

  channel(index: number): ChannelCounters {
    let channel = this.channels[index];
    if (channel === undefined) {
      channel = { index, ends: [{ pd: "", id: -1 }, { pd: "", id: -1 }], pp: "none", ppcalls: 0, notifies: 0, callLatency: new Latency(), serveLatency: new Latency() };
      this.channels[index] = channel;
    }
    return channel;
  }

  /** The counters of endpoint `id`, or undefined once `MAX_ENDPOINTS` are tracked. */
  endpoint(id: number): EndpointCounters | undefined {
    let endpoint = this.endpoints.get(id);
    if (endpoint === undefined) {
      if (this.endpoints.size >= StatsCollector.MAX_ENDPOINTS) {
        this.untrackedEndpoints++;
        return undefined;
      }
      endpoint = { id, sends: 0, calls: 0, receives: 0, replies: 0, callLatency: new Latency() };
      this.endpoints.set(id, endpoint);
    }
    return endpoint;
  }

  /** A PD's operations by name, those it did at least once. */
  static operations(pd: PdCounters): Record<string, number> {
    const out: Record<string, number> = {};
    OPERATION_NAMES.forEach((name, i) => {
      const n = pd.ops[i]!;
      if (n > 0) out[name] = n;
    });
    return out;
  }
}

export function channelSnapshot(c: ChannelCounters, pending: number): ChannelStats {
  return {
    index: c.index,
    ends: [{ ...c.ends[0] }, { ...c.ends[1] }],
    pp: c.pp,
    ppcalls: c.ppcalls,
    notifies: c.notifies,
    callLatency: c.callLatency.summary(),
    serveLatency: c.serveLatency.summary(),
    pending,
  };
}

export function endpointSnapshot(e: EndpointCounters): EndpointStats {
  return { id: e.id, sends: e.sends, calls: e.calls, receives: e.receives, replies: e.replies, callLatency: e.callLatency.summary() };
}

/** A duration for a table: `812 ns`, `3.4 µs`, `12 ms`. */
export function formatNs(ns: number): string {
  if (ns < 1000) return `${Math.round(ns)} ns`;
  if (ns < 1e6) return `${(ns / 1000).toFixed(ns < 1e4 ? 1 : 0)} µs`;
  if (ns < 1e9) return `${(ns / 1e6).toFixed(ns < 1e7 ? 1 : 0)} ms`;
  return `${(ns / 1e9).toFixed(1)} s`;
}

/** The `isokit run --stats` table: one section per PD, channel and endpoint. */
export function formatStats(stats: SystemStats): string {
  const rows: string[][] = [["PD", "state", "faults", "restarts", "caps", "queue", "output", "operations"]];
  for (const pd of stats.pds) {
    const ops = Object.entries(pd.operations).map(([k, v]) => `${k} ${v}`).join(", ");
    rows.push([pd.name, pd.state, String(pd.faults), String(pd.restarts), String(pd.capabilities), String(pd.queueDepth), String(pd.outputLines), ops === "" ? "-" : ops]);
  }
  const out = [table(rows)];
  if (stats.channels.length > 0) {
    const ch: string[][] = [["channel", "ends", "pp", "ppcalls", "notifies", "p50", "p99", "max", "serve p50"]];
    for (const c of stats.channels) {
      const l = c.callLatency;
      ch.push([
        String(c.index),
        `${c.ends[0].pd}:${c.ends[0].id} - ${c.ends[1].pd}:${c.ends[1].id}`,
        c.pp,
        String(c.ppcalls),
        String(c.notifies),
        l.count === 0 ? "-" : formatNs(l.p50Ns),
        l.count === 0 ? "-" : formatNs(l.p99Ns),
        l.count === 0 ? "-" : formatNs(l.maxNs),
        c.serveLatency.count === 0 ? "-" : formatNs(c.serveLatency.p50Ns),
      ]);
    }
    out.push(table(ch));
  }
  if (stats.endpoints.length > 0) {
    const ep: string[][] = [["endpoint", "sends", "calls", "receives", "replies", "p50", "p99", "max"]];
    for (const e of stats.endpoints) {
      const l = e.callLatency;
      ep.push([String(e.id), String(e.sends), String(e.calls), String(e.receives), String(e.replies), l.count === 0 ? "-" : formatNs(l.p50Ns), l.count === 0 ? "-" : formatNs(l.p99Ns), l.count === 0 ? "-" : formatNs(l.maxNs)]);
    }
    out.push(table(ep));
  }
  const k = stats.kernel;
  const hits = Object.entries(k.quotaHits).map(([q, n]) => `${q} ${n}`).join(", ");
  out.push(
    `kernel: ${k.syscalls} syscalls, ${k.liveCapabilities} live capabilities, ${k.endpointsLive} endpoints, quota hits: ${hits === "" ? "none" : hits}; ` +
      (stats.traced ? `trace: ${stats.trace.records} records, ${stats.trace.dropped} dropped, ${stats.trace.skipped} skipped` : "not traced (operations and latencies need --stats or --trace)"),
  );
  for (const w of stats.warnings) out.push(`warning: ${w}`);
  return out.join("\n\n");
}

function table(rows: readonly string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ")).join("\n");
}

// ---- the kernel's observation of a running system ---------------------------------------------------------

/** The shape of the system, for graphs: PDs, Microkit channels, regions, endpoints and async channels. */
export interface Topology {
  readonly pds: readonly { readonly name: string; readonly pid: number; readonly priority: number; readonly parent?: string | undefined }[];
  readonly channels: readonly {
    readonly index: number;
    readonly ends: readonly [{ readonly pd: string; readonly id: number }, { readonly pd: string; readonly id: number }];
    readonly pp: "0->1" | "1->0" | "none";
  }[];
  readonly regions: readonly { readonly name: string; readonly size: number; readonly maps: readonly { readonly pd: string; readonly perms: string }[] }[];
  /** Endpoints and bounded channels PDs created (seen by the kernel's syscalls), with their creator. */
  readonly endpoints: readonly { readonly id: number; readonly owner: string; readonly kind: string }[];
  readonly asyncChannels: readonly { readonly name: string; readonly producers: readonly string[]; readonly consumer: string }[];
}

/** One capability operation the kernel carried out, for the capability graph (tokens as hex strings). */
export interface CapabilityEvent {
  readonly seq: number;
  /** ms since the kernel's `performance.timeOrigin`. */
  readonly at: number;
  readonly op: "create" | "derive" | "grant" | "revoke" | "close";
  /** The PD that made the syscall. */
  readonly pd: string;
  /** The capability made (create, derive, grant) or acted on (revoke, close). */
  readonly token: string;
  /** derive: the capability it was derived from; grant: the granter's capability. */
  readonly from?: string | undefined;
  /** grant: the PD it was granted to. */
  readonly to?: string | undefined;
  readonly object?: number | undefined;
  readonly kind?: string | undefined;
  readonly rights?: number | undefined;
  readonly badge?: number | undefined;
  /** revoke: capabilities it removed. */
  readonly count?: number | undefined;
}

/** Most capability events kept (the oldest go first); `CapabilityEvent.seq` says how many came before. */
export const MAX_CAPABILITY_EVENTS = 10_000;
/** A PD in one entry point for longer than this is warned about (it may never return). */
export const LONG_ENTRY_MS = 1000;

/** What Observation needs from the system it watches. */
export interface ObservedSystem {
  readonly pds: readonly { readonly name: string; readonly pid: number; readonly priority: number; readonly parent: string | undefined }[];
  readonly channels: readonly { readonly ends: readonly [{ readonly pd: string; readonly id: number; readonly pp: boolean; readonly serves: boolean }, { readonly pd: string; readonly id: number; readonly pp: boolean; readonly serves: boolean }] }[];
  readonly regions: readonly { readonly name: string; readonly size: number; readonly maps: readonly { readonly pd: string; readonly perms: string }[] }[];
  readonly asyncChannels: readonly { readonly name: string; readonly producers: readonly string[]; readonly consumer: string }[];
  state(pd: string): PdState;
  /** 1 if a call waits on channel `index`, else 0 (sampled from the channel's words). */
  pendingCall(index: number): number;
  capabilities(pid: number): number;
  kernelStats(): IpcKernelStats;
  /** How long the PD has been in its current entry point, ms (its ENTRY word, kernel/watchdog.ts); 0 outside one. */
  inEntryMs(pd: string): number;
}

/** What a running system shows of itself (`RunningSystem.observer`): the read side of `Observation`. */
export interface SystemObserver {
  stats(): SystemStats;
  /** The trace as a Trace Event file (the last `sinceMs` only, if given); undefined unless booted with `trace`. */
  traceFile(sinceMs?: number): TraceFile | undefined;
  topology(): Topology;
  /** Capability operations after `sinceSeq`, oldest first (the last `MAX_CAPABILITY_EVENTS`). */
  capabilityEvents(sinceSeq?: number): readonly CapabilityEvent[];
  /**
   * A live view of the trace from the last `backlog` records of each PD on, decoded only as it is read
   * (`next(max)` gives what is new since the last call, at most about `max` events); undefined unless traced.
   */
  liveTrace(backlog?: number): LiveTrace | undefined;
}

/** `ObservedSystem` from a plan: the PDs, channels and regions it names; the rest from the running system. */
export function observedFromPlan(
  plan: Plan,
  asyncChannels: ObservedSystem["asyncChannels"],
  live: Pick<ObservedSystem, "state" | "pendingCall" | "capabilities" | "kernelStats" | "inEntryMs">,
): ObservedSystem {
  const channels: { pd: string; id: number; pp: boolean; serves: boolean }[][] = Array.from({ length: plan.channelCount }, () => []);
  plan.pds.forEach((pd) => {
    for (const end of pd.ends) channels[end.channel]![end.end] = { pd: pd.name, id: end.id, pp: end.pp, serves: end.serves };
  });
  return {
    pds: plan.pds.map((pd, i) => ({ name: pd.name, pid: i + 1, priority: pd.priority, parent: pd.parent })),
    channels: channels.map((ends) => ({ ends: [ends[0] ?? { pd: "", id: -1, pp: false, serves: false }, ends[1] ?? { pd: "", id: -1, pp: false, serves: false }] as const })),
    regions: plan.regions.map((r) => ({
      name: r.name,
      size: r.size,
      maps: plan.pds.flatMap((pd) => pd.maps.filter((m) => m.region === r.name).map((m) => ({ pd: pd.name, perms: m.perms }))),
    })),
    asyncChannels,
    ...live,
  };
}

/**
 * The kernel's observation of one running system: counters, the trace (when on), the capability log and the
 * topology. It only reads what the kernel holds and what PDs write into their own trace rings, on the kernel's
 * tick, so watching never puts work on a PD's path.
 */
export class Observation implements SystemObserver {
  readonly counters = new StatsCollector();
  readonly trace: KernelTrace | undefined;
  private readonly system: ObservedSystem;
  private readonly capabilityLog: CapabilityEvent[] = [];
  private capabilitySeq = 0;
  private readonly endpointList: { id: number; owner: string; kind: string }[] = [];
  private readonly nameOf = new Map<number, string>();

  /** `trace` undefined: not traced (states, faults, output and kernel counters only). */
  constructor(system: ObservedSystem, trace: TraceOptions | undefined, onBroken: (pd: string, why: string) => void) {
    this.system = system;
    for (const pd of system.pds) {
      this.counters.addPd(pd.name, pd.pid);
      this.nameOf.set(pd.pid, pd.name);
    }
    system.channels.forEach((channel, index) => {
      const c = this.counters.channel(index);
      c.ends[0] = { pd: channel.ends[0].pd, id: channel.ends[0].id };
      c.ends[1] = { pd: channel.ends[1].pd, id: channel.ends[1].id };
      c.pp = channel.ends[0].pp ? "0->1" : channel.ends[1].pp ? "1->0" : "none";
    });
    if (trace !== undefined) this.trace = new KernelTrace(trace, this.counters, onBroken);
  }

  /** The trace ring for PD `name`'s boot data, if traced. */
  traceBootData(name: string): TraceBootData | undefined {
    const trace = this.trace;
    const pd = this.counters.pds.get(name);
    if (trace === undefined || pd === undefined) return undefined;
    const ends: { id: number; channel: number; peer: string; calls: boolean; serves: boolean }[] = [];
    this.system.channels.forEach((channel, index) => {
      for (const k of [0, 1] as const) {
        const end = channel.ends[k];
        const peer = channel.ends[1 - k]!;
        if (end.pd === name) ends.push({ id: end.id, channel: index, peer: peer.pd, calls: end.pp, serves: peer.pp });
      }
    });
    // Its async channel ends in the order its boot data lists them (kernel/async-channels.ts `endsOf`): a ring
    // record names one by its index.
    const rings = this.system.asyncChannels.flatMap((c) => [...(c.producers.includes(name) ? [`${c.name} (producer)`] : []), ...(c.consumer === name ? [`${c.name} (consumer)`] : [])]);
    return trace.add({ name, pid: pd.pid, ends, rings }, pd);
  }

  /**
   * The kernel's tick (kernel/worker-system.ts, every KERNEL_TICK_MS) calls this: it samples the newest records
   * of the trace rings that moved, and reads the PDs' count tables now and then (`KernelTrace.tick`).
   */
  tick(): void {
    this.trace?.tick();
  }

  liveTrace(backlog = 0): LiveTrace | undefined {
    return this.trace?.live(backlog);
  }

  output(pd: string): void {
    const c = this.counters.pds.get(pd);
    if (c !== undefined) c.outputLines++;
  }

  fault(fault: PdFault): void {
    const c = this.counters.pds.get(fault.pd);
    if (c !== undefined) {
      c.faults++;
      if (fault.resumed) c.restarts++;
    }
    this.trace?.kernelEvent(fault.resumed ? `restart ${fault.pd}` : `fault ${fault.pd}`, "fault", { pd: fault.pd, entry: fault.entry, error: fault.error.message.slice(0, 200) });
  }

  state(pd: string, state: PdState): void {
    this.trace?.kernelEvent(`${pd} ${state}`, "state", { pd, state });
  }

  /** A syscall the kernel carried out for `pid` (`result` is its answer): capability operations are logged. */
  syscall(pid: number, request: SyscallRequest, result: unknown): void {
    const pd = this.nameOf.get(pid) ?? `pid ${pid}`;
    const grant = grantIn(result);
    switch (request.op) {
      case "create-endpoint":
      case "create-channel":
      case "create-region":
        if (grant === undefined) return;
        if (request.op !== "create-region" && this.endpointList.length < StatsCollector.MAX_ENDPOINTS) {
          this.endpointList.push({ id: grant.object, owner: pd, kind: request.op === "create-endpoint" ? "endpoint" : "channel" });
        }
        this.log({ op: "create", pd, token: hex(grant.token), object: grant.object, kind: grant.kind, rights: grant.rights, badge: grant.badge });
        return;
      case "derive":
        if (grant === undefined) return;
        this.log({ op: "derive", pd, token: hex(grant.token), from: hex(request.token), object: grant.object, kind: grant.kind, rights: grant.rights, badge: grant.badge });
        return;
      case "grant": {
        const token: unknown = typeof result === "object" && result !== null ? Reflect.get(result, "token") : undefined;
        const to = typeof request.to === "number" ? (this.nameOf.get(request.to) ?? `pid ${request.to}`) : request.to;
        if (typeof token === "bigint") this.log({ op: "grant", pd, token: hex(token), from: hex(request.token), to, rights: request.rights });
        return;
      }
      case "revoke": {
        const count: unknown = typeof result === "object" && result !== null ? Reflect.get(result, "count") : undefined;
        this.log({ op: "revoke", pd, token: hex(request.token), count: typeof count === "number" ? count : 0 });
        return;
      }
      case "close":
        this.log({ op: "close", pd, token: hex(request.token) });
        return;
      default:
        return;
    }
  }

  /** Capability events after `sinceSeq` (those still kept). */
  capabilityEvents(sinceSeq = 0): readonly CapabilityEvent[] {
    return this.capabilityLog.filter((e) => e.seq > sinceSeq);
  }

  topology(): Topology {
    const s = this.system;
    return {
      pds: s.pds.map((pd) => ({ name: pd.name, pid: pd.pid, priority: pd.priority, parent: pd.parent })),
      channels: this.counters.channels.map((c) => ({ index: c.index, ends: [{ ...c.ends[0] }, { ...c.ends[1] }], pp: c.pp })),
      regions: s.regions,
      endpoints: [...this.endpointList],
      asyncChannels: s.asyncChannels,
    };
  }

  stats(): SystemStats {
    this.trace?.observe();
    const s = this.system;
    const now = performance.now();
    const warnings: string[] = [];
    const queueOf = new Map<string, number>();
    const channels = this.counters.channels.map((c) => {
      const pending = s.pendingCall(c.index);
      if (pending !== 0) {
        const server = c.pp === "0->1" ? c.ends[1].pd : c.ends[0].pd;
        queueOf.set(server, (queueOf.get(server) ?? 0) + pending);
      }
      return channelSnapshot(c, pending);
    });
    const pds = [...this.counters.pds.values()].map((c): PdStats => {
      const loss = this.trace?.lossOf(c.name) ?? { dropped: 0, skipped: 0 };
      const state = s.state(c.name);
      // The trace names notified() (its records begin and end it); the ENTRY word times any entry point, traced
      // or not (a protected() is recorded only once it returns).
      const tracedMs = c.entry !== undefined ? Math.round(now - c.entrySince) : 0;
      const enteredMs = s.inEntryMs(c.name);
      const entryMs = Math.max(tracedMs, enteredMs);
      const inEntry = state === "running" && entryMs > LONG_ENTRY_MS ? { entry: tracedMs >= enteredMs && c.entry !== undefined ? `${c.entry}()` : "an entry point", ms: entryMs } : undefined;
      if (inEntry !== undefined) warnings.push(`PD '${c.name}' has been in ${inEntry.entry} for ${inEntry.ms} ms (it may never return)`);
      if (loss.dropped > 0) warnings.push(`PD '${c.name}' dropped ${loss.dropped} trace records (it overwrote them before they were read)`);
      return {
        name: c.name,
        pid: c.pid,
        state,
        faults: c.faults,
        restarts: c.restarts,
        outputLines: c.outputLines,
        operations: StatsCollector.operations(c),
        capabilities: s.capabilities(c.pid),
        queueDepth: queueOf.get(c.name) ?? 0,
        inEntryFor: inEntry,
        traceDropped: loss.dropped,
        traceSkipped: loss.skipped,
      };
    });
    const kernel = s.kernelStats();
    for (const [quota, hits] of Object.entries(kernel.quotaHits)) if (hits > 0) warnings.push(`quota ${quota} hit ${hits} times`);
    return {
      at: now,
      traced: this.trace !== undefined,
      sampleEvery: this.trace?.sampleEvery ?? 1,
      pds,
      channels,
      endpoints: [...this.counters.endpoints.values()].map(endpointSnapshot),
      kernel,
      trace: this.trace?.totals() ?? { records: 0, dropped: 0, skipped: 0, evicted: 0 },
      warnings,
    };
  }

  /** The trace as a Trace Event file (the last `sinceMs` only, if given); undefined when not traced. */
  traceFile(sinceMs?: number): TraceFile | undefined {
    return this.trace?.file(sinceMs);
  }

  /** One last count and sample, when the system stops (its tick has stopped; the rings stay readable). */
  close(): void {
    this.trace?.observe();
  }

  private log(event: Omit<CapabilityEvent, "seq" | "at">): void {
    const full: CapabilityEvent = { ...event, seq: ++this.capabilitySeq, at: performance.now() };
    if (this.capabilityLog.length >= MAX_CAPABILITY_EVENTS) this.capabilityLog.shift();
    this.capabilityLog.push(full);
    this.trace?.kernelEvent(`${event.op} ${event.token}`, "capability", { pd: event.pd, token: event.token, ...(event.to === undefined ? {} : { to: event.to }), ...(event.from === undefined ? {} : { from: event.from }) });
  }
}

function hex(token: bigint): string {
  return `0x${token.toString(16)}`;
}

/** The capability grant in a syscall's answer (`{ grant }` or the grant itself), if any. */
function grantIn(result: unknown): { token: bigint; object: number; kind: string; rights: number; badge: number } | undefined {
  if (typeof result !== "object" || result === null) return undefined;
  const inner: unknown = "grant" in result ? result.grant : "value" in result ? grantIn(result.value) : result;
  if (typeof inner !== "object" || inner === null) return undefined;
  const token: unknown = Reflect.get(inner, "token");
  if (typeof token !== "bigint") return undefined;
  return {
    token,
    object: Number(Reflect.get(inner, "object")),
    kind: String(Reflect.get(inner, "kind")),
    rights: Number(Reflect.get(inner, "rights")),
    badge: Number(Reflect.get(inner, "badge") ?? 0),
  };
}
