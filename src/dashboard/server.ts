/**
 * `isokit run --dashboard`: a page that shows a running system live — its topology, the capability graph, a PD
 * table, latency histograms and throughput per channel and endpoint, warnings, and the trace of the last
 * seconds with a download of the Perfetto JSON.
 *
 * Plain `node:http` serves the page and its assets (the page's own static/ files and the uPlot and cytoscape
 * builds from node_modules); `ws` carries the live feed on `/live`. Watching never slows the system: the
 * kernel's observer (kernel/stats.ts) is sampled on this thread's timer, `ticksPerSec` times a second, and
 * each tick sends the statistics snapshot plus only what is new since the last tick (trace events, capability
 * events); while the machine has no core to spare it sends fewer (`busyTicksPerSec`, cadence.ts). Trace
 * records are decoded only while a page is connected, and about `TRACE_PER_TICK` a tick at most
 * (the rest are skipped and counted, as the trace file keeps them): the live view copies the new records out of
 * the rings (the PDs count them themselves), the feed decodes what a page will show, and sends it as numbers (`TraceDelta`), not as Trace
 * Event objects.
 *
 * Bound to 127.0.0.1 unless `host` says otherwise: the page shows everything the system does, to anyone who
 * can reach it.
 *
 * The feed, server to page only (JSON text frames; the server ignores what a page sends):
 *
 *   hello  { type, mode, topology, capabilities (the whole log), stats, cadence, categories, trace: TraceDelta }
 *   tick   { type, stats, capabilities (new to this page), trace: TraceDelta (new since the last tick),
 *            droppedEvents (skipped by the feed so far), cadence (CadenceState: busy, ticks a second, idle cores),
 *            topology? (when its endpoints changed) }
 *
 * A PD names nothing in a TraceDelta: its slices and flows are numbers the kernel decoded from the PDs' records
 * (times it checked), so the trace view has no PD text to show.
 */

import { createReadStream, existsSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { WebSocketServer, type WebSocket } from "ws";
import type { RunningSystem } from "../kernel/system.ts";
import type { LiveTrace, TraceEvent } from "../kernel/trace.ts";
import { Cadence } from "./cadence.ts";

export { DASHBOARD_TRACE } from "../kernel/trace.ts";

export interface DashboardOptions {
  /** TCP port; 0 (the default) picks a free one. */
  readonly port?: number;
  /** Default `127.0.0.1`. */
  readonly host?: string;
  /** Updates a second sent to each page (1 to 20). Default 4. */
  readonly ticksPerSec?: number;
  /**
   * Updates a second while the machine has no core to spare (fewer than half a core idle over the last second:
   * `src/dashboard/cadence.ts`), so that watching takes no core from the PDs watched. Default 1; at least 0.2,
   * at most `ticksPerSec` (which never steps back).
   */
  readonly busyTicksPerSec?: number;
}

export interface Dashboard {
  /** `http://host:port/` */
  readonly url: string;
  /** Pages watching now: connected, and sent the system as it is (`hello`); a closed page is gone from it. */
  readonly pages: number;
  close(): Promise<void>;
}

/**
 * Trace records decoded per tick at most, shared among the PDs (more between two ticks are skipped, counted,
 * and kept for the trace file). 500 at 4 ticks a second is ~2,000 slices a second for a trace view of ~1,300
 * pixels showing 5 s (~4 ms a pixel), and costs the kernel's thread ~0.6 ms a tick to decode and encode while
 * it watches a busy system; 2,000 a tick cost it ~12 ms (decoding 4.9 ms, JSON of the events 8 ms, 520 KiB).
 */
export const TRACE_PER_TICK = 500;
/** The trace events' categories, in the order a `TraceDelta` numbers them (unknown ones are `other`). */
export const TRACE_CATEGORIES = ["ppcall", "protected", "notified", "notify", "endpoint", "ring", "capability", "fault", "state", "other"] as const;
const categoryIndex: ReadonlyMap<string, number> = new Map(TRACE_CATEGORIES.map((c, i) => [c, i]));

/**
 * The trace events of one tick as what the trace view draws, in µs from `base` (rounded: the view shows ms):
 * `slices` is [tid, category, start, duration] per complete slice, `flows` is [tid, at, tid, at] per flow
 * (start, then finish). Instants and metadata are not sent (the view draws neither).
 */
export interface TraceDelta {
  readonly base: number;
  readonly slices: number[];
  readonly flows: number[];
}

/** `events` (one `LiveTrace.next`) as a TraceDelta: a flow's two halves come from the decoder together. */
export function traceDelta(events: readonly TraceEvent[]): TraceDelta {
  const base = events.length === 0 ? 0 : Math.floor(events[0]!.ts);
  const slices: number[] = [];
  const flows: number[] = [];
  const starts = new Map<number, TraceEvent>();
  for (const e of events) {
    if (e.ph === "X") slices.push(e.tid, categoryIndex.get(e.cat) ?? TRACE_CATEGORIES.length - 1, Math.round(e.ts - base), Math.round(e.dur ?? 0));
    else if (e.ph === "s" && e.id !== undefined) starts.set(e.id, e);
    else if (e.ph === "f" && e.id !== undefined) {
      const s = starts.get(e.id);
      if (s === undefined) continue;
      starts.delete(e.id);
      flows.push(s.tid, Math.round(s.ts - base), e.tid, Math.round(e.ts - base));
    }
  }
  return { base, slices, flows };
}
/** The trace view's window, and the download's: the last this many ms. */
const TRACE_WINDOW_MS = 10_000;

const require = createRequire(import.meta.url);
/** The page's files: beside this module (sources), or in the sources when running from dist/. */
const staticDir = [new URL("./static/", import.meta.url), new URL("../../src/dashboard/static/", import.meta.url)].map((u) => fileURLToPath(u)).find((dir) => existsSync(dir))!;

/** Every path the server answers, and nothing else (no path is ever joined onto a directory). */
const ASSETS: ReadonlyMap<string, { readonly file: () => string; readonly type: string }> = new Map([
  ["/", { file: () => `${staticDir}index.html`, type: "text/html; charset=utf-8" }],
  ["/app.js", { file: () => `${staticDir}app.js`, type: "text/javascript; charset=utf-8" }],
  ["/style.css", { file: () => `${staticDir}style.css`, type: "text/css; charset=utf-8" }],
  ["/vendor/cytoscape.min.js", { file: () => require.resolve("cytoscape/dist/cytoscape.min.js"), type: "text/javascript; charset=utf-8" }],
  ["/vendor/uPlot.iife.min.js", { file: () => require.resolve("uplot/dist/uPlot.iife.min.js"), type: "text/javascript; charset=utf-8" }],
  ["/vendor/uPlot.min.css", { file: () => require.resolve("uplot/dist/uPlot.min.css"), type: "text/css; charset=utf-8" }],
]);

/** Serves the dashboard of `system` until `close()`. */
export async function startDashboard(system: RunningSystem, options: DashboardOptions = {}): Promise<Dashboard> {
  const observer = system.observer;
  const ticksPerSec = within(options.ticksPerSec, 1, 20, 4);
  const cadence = new Cadence(ticksPerSec, within(options.busyTicksPerSec, 0.2, ticksPerSec, 1));
  const http = createServer((request, response) => {
    serve(system, request, response);
  });
  const wss = new WebSocketServer({ server: http, path: "/live", maxPayload: 1024 });
  /** The live trace feed while a page is connected (decoded a tick at a time, at most TRACE_PER_TICK). */
  let feed: LiveTrace | undefined;
  /** The last capability event each page has: a page that connects between two ticks gets the log up to now in `hello`. */
  const capabilitySeq = new WeakMap<WebSocket, number>();
  let endpoints = -1;

  wss.on("connection", (socket: WebSocket) => {
    feed ??= observer.liveTrace();
    // The page only listens: anything it sends is ignored (and bounded by maxPayload).
    socket.on("error", () => undefined);
    const capabilities = observer.capabilityEvents(0);
    capabilitySeq.set(socket, capabilities.at(-1)?.seq ?? 0);
    send(socket, {
      type: "hello",
      mode: system.mode,
      topology: observer.topology(),
      capabilities,
      stats: system.stats(),
      cadence: cadence.state,
      categories: TRACE_CATEGORIES,
      // The recent past, decoded once for this page: the last records of each PD, not the whole window.
      trace: traceDelta(observer.liveTrace(TRACE_PER_TICK)?.next(TRACE_PER_TICK) ?? []),
    });
  });

  const tick = (): void => {
    // Observed on every tick, watched or not: a page that connects to a busy machine is slowed from its first tick.
    const due = cadence.tick(performance.now());
    if (wss.clients.size === 0) {
      feed = undefined; // nothing is decoded while nobody looks
      return;
    }
    if (!due) return;
    const stats = system.stats(); // reads the PDs' counts; the live view below copies the new records
    const topology = observer.topology();
    const common = {
      type: "tick",
      stats,
      trace: traceDelta(feed?.next(TRACE_PER_TICK) ?? []),
      droppedEvents: feed?.skipped ?? 0,
      cadence: cadence.state,
      ...(topology.endpoints.length !== endpoints ? { topology } : {}),
    };
    endpoints = topology.endpoints.length;
    // One JSON text for what every page gets; each page's own capability events are spliced in.
    const head = stringify(common).slice(0, -1);
    for (const socket of wss.clients) {
      // Only pages that had `hello` (a capability delta makes sense after the full log).
      const since = capabilitySeq.get(socket);
      if (since === undefined || socket.readyState !== socket.OPEN) continue;
      const capabilities = observer.capabilityEvents(since);
      capabilitySeq.set(socket, capabilities.at(-1)?.seq ?? since);
      socket.send(`${head},"capabilities":${stringify(capabilities)}}`);
    }
  };
  const timer = setInterval(tick, 1000 / ticksPerSec);
  timer.unref();

  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
      http.off("error", reject);
      resolve();
    });
  });
  const address = http.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}/`,
    get pages() {
      let pages = 0;
      for (const socket of wss.clients) if (capabilitySeq.has(socket) && socket.readyState === socket.OPEN) pages++;
      return pages;
    },
    close: async () => {
      clearInterval(timer);
      feed = undefined;
      for (const socket of wss.clients) socket.terminate();
      await new Promise<void>((resolve) => {
        wss.close(() => { resolve(); });
      });
      await new Promise<void>((resolve) => {
        http.close(() => { resolve(); });
        http.closeAllConnections();
      });
    },
  };
}

/** `value` clamped to [lo, hi]; `fallback` when it is not given or not a number. */
function within(value: number | undefined, lo: number, hi: number, fallback: number): number {
  return value === undefined || Number.isNaN(value) ? fallback : Math.max(lo, Math.min(hi, value));
}

function send(socket: WebSocket, message: unknown): void {
  if (socket.readyState !== socket.OPEN) return;
  socket.send(stringify(message));
}

/** JSON, with a bigint (none is expected) as hex rather than a throw on the kernel's timer. */
function stringify(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? `0x${v.toString(16)}` : v));
}

function serve(system: RunningSystem, request: IncomingMessage, response: ServerResponse): void {
  if (request.method !== "GET" && request.method !== "HEAD") {
    response.writeHead(405, { allow: "GET, HEAD" }).end();
    return;
  }
  const path = new URL(request.url ?? "/", "http://localhost").pathname;
  if (path === "/trace.json") {
    const file = system.observer.traceFile(TRACE_WINDOW_MS);
    if (file === undefined) {
      response.writeHead(404, { "content-type": "text/plain" }).end("not traced: boot with trace (isokit run --dashboard traces)\n");
      return;
    }
    response.writeHead(200, { "content-type": "application/json", "content-disposition": 'attachment; filename="isokit-trace.json"' });
    response.end(JSON.stringify(file));
    return;
  }
  const asset = ASSETS.get(path);
  if (asset === undefined) {
    response.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
    return;
  }
  response.writeHead(200, { "content-type": asset.type, "cache-control": "no-cache" });
  if (request.method === "HEAD") {
    response.end();
    return;
  }
  createReadStream(asset.file()).on("error", () => response.destroy()).pipe(response);
}
