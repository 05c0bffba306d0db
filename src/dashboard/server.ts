/**
 * `isokit run --dashboard`: a page that shows a running system live — its topology, the capability graph, a PD
 * table, latency histograms and throughput per channel and endpoint, warnings, and the trace of the last
 * seconds with a download of the Perfetto JSON.
 *
 * Plain `node:http` serves the page and its assets (the page's own static/ files and the uPlot and cytoscape
 * builds from node_modules); `ws` carries the live feed on `/live`. Watching never slows the system: the
 * kernel's observer (kernel/stats.ts) is sampled on this thread's timer, `TICKS_PER_SEC` times a second, and
 * each tick sends the statistics snapshot plus only what is new since the last tick (trace events, capability
 * events). Trace records are decoded into events only while a page is connected, and at most
 * `MAX_EVENTS_PER_TICK` per tick (the rest are skipped and counted, as the trace file keeps them): the kernel's
 * drain copies records and counts them, the feed decodes what a page will show.
 *
 * Bound to 127.0.0.1 unless `host` says otherwise: the page shows everything the system does, to anyone who
 * can reach it.
 */

import { createReadStream, existsSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { WebSocketServer, type WebSocket } from "ws";
import type { RunningSystem } from "../kernel/system.ts";
import type { LiveTrace } from "../kernel/trace.ts";

export { DASHBOARD_TRACE } from "../kernel/trace.ts";

export interface DashboardOptions {
  /** TCP port; 0 (the default) picks a free one. */
  readonly port?: number;
  /** Default `127.0.0.1`. */
  readonly host?: string;
  /** Updates a second sent to each page. Default 4. */
  readonly ticksPerSec?: number;
}

export interface Dashboard {
  /** `http://host:port/` */
  readonly url: string;
  close(): Promise<void>;
}

/** Trace events sent per tick at most; more between two ticks are counted, not sent. */
export const MAX_EVENTS_PER_TICK = 2000;
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
  const http = createServer((request, response) => {
    serve(system, request, response);
  });
  const wss = new WebSocketServer({ server: http, path: "/live", maxPayload: 1024 });
  /** The live trace feed while a page is connected (decoded a tick at a time, at most MAX_EVENTS_PER_TICK). */
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
      // The recent past, decoded once for this page: the last records of each PD, not the whole window.
      trace: observer.liveTrace(MAX_EVENTS_PER_TICK)?.next(MAX_EVENTS_PER_TICK) ?? [],
    });
  });

  const tick = (): void => {
    if (wss.clients.size === 0) {
      feed = undefined; // nothing is decoded while nobody looks
      return;
    }
    const stats = system.stats(); // drains the trace rings first: the events below include what it read
    const topology = observer.topology();
    const common = {
      type: "tick",
      stats,
      trace: feed?.next(MAX_EVENTS_PER_TICK) ?? [],
      droppedEvents: feed?.skipped ?? 0,
      ...(topology.endpoints.length !== endpoints ? { topology } : {}),
    };
    endpoints = topology.endpoints.length;
    for (const socket of wss.clients) {
      // Only pages that had `hello` (a capability delta makes sense after the full log).
      const since = capabilitySeq.get(socket);
      if (since === undefined) continue;
      const capabilities = observer.capabilityEvents(since);
      capabilitySeq.set(socket, capabilities.at(-1)?.seq ?? since);
      send(socket, { ...common, capabilities });
    }
  };
  const timer = setInterval(tick, 1000 / Math.max(1, Math.min(20, options.ticksPerSec ?? 4)));
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

function send(socket: WebSocket, message: unknown): void {
  if (socket.readyState !== socket.OPEN) return;
  socket.send(JSON.stringify(message, (_key, value: unknown) => (typeof value === "bigint" ? `0x${value.toString(16)}` : value)));
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
