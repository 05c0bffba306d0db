// The dashboard in a real browser: Debian's chromium (installed by scripts/ensure-tools.sh, the `pretest`
// step), driven by playwright-core. Each system is booted traced in this thread, served by the real dashboard
// server, and the page is checked for what a user would look for: the PDs and channels in the topology graph,
// counters that move, a revoke in the capability graph, and a screenshot that is not blank; and for what it
// costs the system it watches: nothing redrawn between ticks that changed nothing, nothing drawn while hidden,
// a trace view drawn a tick at a time that matches one drawn whole.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { chromium, type Browser, type Page } from "playwright-core";
import { boot, type RunningSystem } from "../../src/index.ts";
import { resolveImages } from "../../src/cli/images.ts";
import { parseSystem } from "../../src/sdf/index.ts";
import { startDashboard, traceDelta, TRACE_CATEGORIES, type Dashboard } from "../../src/dashboard/server.ts";
import { clientServer, testsDir } from "../helpers.ts";

const CHROMIUM = "/usr/bin/chromium";
/** Hang guard only: every wait below ends as soon as its condition holds. */
const GUARD_MS = 30_000;
/**
 * Waits poll on a timer: Playwright's default polls on animation frames, and the page gives its graphs' loops
 * none while it is idle (index.html), which is what a test below checks.
 */
const POLL = { timeout: GUARD_MS, polling: 50 };

let browser: Browser;

/** What the page exposes (src/dashboard/static/app.js `window.isokit`), as the callbacks below read it. */
interface CyElement {
  id(): string;
  data(key: string): string;
  source(): CyElement;
  target(): CyElement;
  hasClass(c: string): boolean;
}
interface CyCollection {
  map<T>(f: (e: CyElement) => T): T[];
}
interface Cy {
  nodes(selector?: string): CyCollection;
  edges(): CyCollection;
  getElementById(id: string): CyElement;
}
interface PageState {
  ticks: number;
  draws: Record<"topology" | "pds" | "links" | "histogram" | "throughput" | "warnings" | "trace" | "summary", number>;
  graphs: { topology: Cy; capabilities: Cy };
  stats: { channels: { ppcalls: number }[]; pds: { name: string; operations: Record<string, number> }[] };
}
/** The page's globals, inside `page.evaluate` (the tests compile without the DOM library). */
interface PageGlobals {
  isokit: PageState;
  /** index.html's frame gate: callbacks given a frame, graph loops parked, graph loops known. */
  isokitFrames: { given: number; parked: number; loops: number };
  /** app.js's trace view (a classic script's top-level bindings, read through an indirect eval). */
  eval(code: string): unknown;
  Image: new () => { src: string; width: number; height: number; decode(): Promise<void> };
  document: { dispatchEvent(e: unknown): void; getElementById(id: string): { width: number; height: number; getContext(kind: "2d"): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } }; createElement(tag: "canvas"): { width: number; height: number; getContext(kind: "2d"): { drawImage(i: unknown, x: number, y: number): void; getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } } };
}

before(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: process.getuid?.() === 0 ? ["--no-sandbox"] : [] });
});

after(async () => {
  await browser.close();
});

function example(name: string): ReturnType<typeof resolveImages> {
  const file = new URL(`../../examples/${name}/${name}.system`, import.meta.url).pathname;
  const parsed = parseSystem(readFileSync(file, "utf8"), file);
  if (!parsed.ok) throw new Error(`examples/${name}: ${parsed.diagnostics.map((d) => d.message).join("; ")}`);
  return resolveImages(parsed.system, file, new Map());
}

interface Watched extends AsyncDisposable {
  readonly system: RunningSystem;
  readonly dashboard: Dashboard;
  readonly page: Page;
}

async function watch(system: RunningSystem): Promise<Watched> {
  const dashboard = await startDashboard(system, { port: 0 });
  const page = await browser.newPage({ viewport: { width: 1400, height: 1300 } });
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  await page.goto(dashboard.url);
  await page.waitForFunction(() => (globalThis as unknown as PageGlobals).isokit.ticks >= 2, undefined, POLL);
  assert.deepEqual(errors, [], "the page threw");
  return {
    system,
    dashboard,
    page,
    [Symbol.asyncDispose]: async () => {
      await page.close();
      await dashboard.close();
      await system.shutdown();
    },
  };
}

/** Ids of the nodes and edges of one of the page's graphs. */
function graph(page: Page, which: "topology" | "capabilities"): Promise<{ nodes: string[]; edges: string[]; revoked: string[] }> {
  return page.evaluate((w) => {
    const g = (globalThis as unknown as PageGlobals).isokit.graphs[w];
    return { nodes: g.nodes().map((n) => n.id()), edges: g.edges().map((e) => e.id()), revoked: g.nodes(".revoked").map((n) => n.id()) };
  }, which);
}

describe("dashboard in chromium", () => {
  it("shows the ipc example's PDs, its channel with the ppcall direction, and its ppcall with a latency", async () => {
    const system = await boot(example("ipc"), { trace: true, onOutput: () => undefined });
    await system.whenIdle();
    await using w = await watch(system);
    const topology = await graph(w.page, "topology");
    assert.deepEqual(topology.nodes.sort(), ["pd:client", "pd:server"]);
    assert.deepEqual(topology.edges, ["ch:0"]);
    const edge = await w.page.evaluate(() => {
      const e = (globalThis as unknown as PageGlobals).isokit.graphs.topology.getElementById("ch:0");
      return { from: e.source().id(), to: e.target().id(), pp: e.hasClass("pp") };
    });
    assert.deepEqual(edge, { from: "pd:client", to: "pd:server", pp: true });
    // The PD table: both PDs running, the client's one ppcall and notify counted.
    const names = await w.page.locator("#pds tbody td:nth-child(1)").allTextContents();
    const states = await w.page.locator("#pds tbody td:nth-child(2)").allTextContents();
    assert.deepEqual(names.map((n, i) => `${n} ${states[i]}`).sort(), ["client running", "server running"]);
    const link = await w.page.locator('#links tr[data-link="ch:0"] td').allTextContents();
    assert.equal(link[0], "ch 0 client → server");
    assert.equal(link[1], "3", "one ppcall and two notifies on the channel");
    assert.notEqual(link[2], "-", "the ppcall has a p50 latency");
    // The trace download is Trace Event JSON with the call joined to its serving.
    const trace = await w.page.evaluate(async (): Promise<{ traceEvents: { ph: string; cat: string }[] }> => {
      const response = await fetch("/trace.json");
      return (await response.json()) as { traceEvents: { ph: string; cat: string }[] };
    });
    assert.ok(trace.traceEvents.some((e) => e.ph === "X" && e.cat === "ppcall"));
    assert.ok(trace.traceEvents.some((e) => e.ph === "f"));
  });

  it("shows counters that move while a client keeps calling", async () => {
    const description = clientServer("ticker");
    const system = await boot({ ...description, protectionDomains: description.protectionDomains.map((pd) => (pd.name === "ticker" ? { ...pd, program: "dashboard/programs/ticker.ts" } : pd)) }, { trace: true, baseDir: testsDir, onOutput: () => undefined });
    await using w = await watch(system);
    const first = await w.page.evaluate(() => (globalThis as unknown as PageGlobals).isokit.stats.channels[0]!.ppcalls);
    await w.page.waitForFunction((n) => (globalThis as unknown as PageGlobals).isokit.stats.channels[0]!.ppcalls >= n + 5, first, POLL);
    // The table shows the same number the feed carried.
    const shown = Number(await w.page.locator('#links tr[data-link="ch:0"] td:nth-child(2)').textContent());
    assert.ok(shown >= first + 5, `the links table shows ${shown} operations, the first tick ${first}`);
    // And the trace view has drawn something: its canvas is not one colour.
    assert.ok((await distinctColours(w.page, await w.page.locator("#trace").screenshot())) > 3);
  });

  it("counts the pages watching it, and forgets a page once it closed", async () => {
    const system = await boot(example("ipc"), { trace: true, onOutput: () => undefined });
    await system.whenIdle();
    await using w = await watch(system);
    assert.equal(w.dashboard.pages, 1);
    const second = await browser.newPage();
    await second.goto(w.dashboard.url);
    await second.waitForFunction(() => (globalThis as unknown as PageGlobals).isokit.ticks >= 1, undefined, POLL);
    assert.equal(w.dashboard.pages, 2);
    await second.close();
    // The server sees the close when the socket's close frame comes in: poll for it (GUARD_MS only against a hang).
    for (const started = performance.now(); w.dashboard.pages !== 1 && performance.now() - started < GUARD_MS; ) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(w.dashboard.pages, 1);
  });

  it("shows the plugin-host example's grant and revoke in the capability graph, and takes a screenshot that is not blank", async () => {
    const system = await boot(example("plugin-host"), { trace: true, onOutput: () => undefined });
    await system.whenIdle();
    await using w = await watch(system);
    const topology = await graph(w.page, "topology");
    assert.ok(topology.nodes.includes("pd:host") && topology.nodes.includes("pd:plugin"));
    assert.ok(topology.nodes.some((n) => n.startsWith("ep:")), "the host's endpoint is in the topology");
    // The revoke appears (it may come after the page connected: the feed carries it).
    await w.page.locator("#cap-log li.revoke").first().waitFor({ state: "attached", timeout: GUARD_MS });
    const caps = await graph(w.page, "capabilities");
    // create (host), derive (host, badged), grant (to plugin): three capabilities.
    assert.equal(caps.nodes.length, 3);
    assert.equal(caps.edges.length, 2);
    const log = await w.page.locator("#cap-log li.revoke").allTextContents();
    assert.equal(log.length, 1);
    // The host revokes the badged capability it derived: it and the plugin's, granted from it, go.
    const revoked = /^host revoked (0x[0-9a-f]+) \((\d+) capabilities\)$/.exec(log[0]!);
    assert.ok(revoked !== null, log[0]);
    assert.equal(caps.revoked.length, Number(revoked[2]));
    assert.ok(caps.revoked.includes(revoked[1]!));
    const holders = await w.page.evaluate((ids) => ids.map((id) => (globalThis as unknown as PageGlobals).isokit.graphs.capabilities.getElementById(id).data("label").split("\n")[0]), caps.revoked);
    assert.deepEqual(holders.sort(), ["host", "plugin"]);
    // Endpoint traffic: the plugin's sends, the host's receives.
    const ops = await w.page.evaluate(() => Object.fromEntries((globalThis as unknown as PageGlobals).isokit.stats.pds.map((p) => [p.name, p.operations])));
    assert.ok((ops["host"]?.["receive"] ?? 0) >= 30, `host receives: ${JSON.stringify(ops)}`);
    assert.ok((ops["plugin"]?.["send"] ?? 0) >= 30);
    const png = await w.page.screenshot({ fullPage: true });
    assert.ok((await distinctColours(w.page, png)) > 20, "the screenshot is not blank");
    if (process.env["ISOKIT_SCREENSHOT"] !== undefined) (await import("node:fs")).writeFileSync(process.env["ISOKIT_SCREENSHOT"], png);
  });

  it("redraws nothing between ticks that changed nothing, and gives the graphs' render loops no frames then", async () => {
    const system = await boot(example("ipc"), { trace: true, onOutput: () => undefined });
    await system.whenIdle();
    await using w = await watch(system);
    // Both graphs' loops are parked once the second after their last change is over.
    await w.page.waitForFunction(() => {
      const f = (globalThis as unknown as PageGlobals).isokitFrames;
      return f.loops === 2 && f.parked === 2;
    }, undefined, POLL);
    const read = (): Promise<{ ticks: number; draws: PageState["draws"]; given: number }> => w.page.evaluate(() => {
      const g = globalThis as unknown as PageGlobals;
      return { ticks: g.isokit.ticks, draws: { ...g.isokit.draws }, given: g.isokitFrames.given };
    });
    const before = await read();
    await w.page.waitForFunction((n) => (globalThis as unknown as PageGlobals).isokit.ticks >= n + 4, before.ticks, POLL);
    const after = await read();
    // The idle system's snapshots are alike: no table cell, graph element, histogram or warning is touched. (The
    // throughput chart gains a point a tick, and the trace view moves with the clock.)
    for (const panel of ["topology", "pds", "links", "histogram", "warnings", "summary"] as const) assert.equal(after.draws[panel], before.draws[panel], `${panel} was redrawn`);
    assert.equal(after.given, before.given, "a frame was given while nothing changed");
    assert.ok(after.draws.throughput > before.draws.throughput);
  });

  it("shows the server's cadence, and says on the page when the dashboard steps back on a busy machine", async () => {
    const system = await boot(example("ipc"), { trace: true, onOutput: () => undefined });
    await system.whenIdle();
    await using w = await watch(system);
    interface StatusGlobals {
      isokit: { cadence: { busy: unknown; ticksPerSec: unknown } };
      eval(code: string): unknown;
      document: { getElementById(id: string): { textContent: string; dataset: Record<string, string> } };
    }
    const cadence = await w.page.evaluate(() => (globalThis as unknown as StatusGlobals).isokit.cadence);
    assert.equal(typeof cadence.busy, "boolean");
    assert.ok(cadence.ticksPerSec === 4 || cadence.ticksPerSec === 1, String(cadence.ticksPerSec));
    // app.js's showCadence, as a tick calls it (a classic script's top-level function, through an indirect eval).
    const shown = await w.page.evaluate(() => {
      const g = globalThis as unknown as StatusGlobals;
      const show = g.eval("showCadence") as (status: unknown, cadence: unknown) => void;
      const status = g.document.getElementById("status");
      show(status, { busy: true, ticksPerSec: 1, idleCores: 0.1 });
      const busy = [status.textContent, status.dataset["state"]];
      show(status, { busy: false, ticksPerSec: 4, idleCores: 1.5 });
      return { busy, calm: [status.textContent, status.dataset["state"]] };
    });
    assert.match(String(shown.busy[0]), /once a second: no idle core/);
    assert.equal(shown.busy[1], "busy");
    assert.deepEqual(shown.calm, ["live", "live"]);
  });

  it("draws nothing while the tab is hidden, and everything once it is shown again", async () => {
    const description = clientServer("ticker");
    const system = await boot({ ...description, protectionDomains: description.protectionDomains.map((pd) => (pd.name === "ticker" ? { ...pd, program: "dashboard/programs/ticker.ts" } : pd)) }, { trace: true, baseDir: testsDir, onOutput: () => undefined });
    await using w = await watch(system);
    const setVisibility = (visibility: "hidden" | "visible"): Promise<void> => w.page.evaluate((v) => {
      const g = globalThis as unknown as PageGlobals & { Event: new (type: string) => unknown; Object: typeof Object };
      g.Object.defineProperty(g.document, "visibilityState", { value: v, configurable: true });
      g.document.dispatchEvent(new g.Event("visibilitychange"));
    }, visibility);
    const state = (): Promise<{ ticks: number; draws: PageState["draws"]; ppcalls: number }> => w.page.evaluate(() => {
      const g = (globalThis as unknown as PageGlobals).isokit;
      return { ticks: g.ticks, draws: { ...g.draws }, ppcalls: g.stats.channels[0]!.ppcalls };
    });
    await setVisibility("hidden");
    const hidden = await state();
    await w.page.waitForFunction((n) => (globalThis as unknown as PageGlobals).isokit.stats.channels[0]!.ppcalls >= n + 5, hidden.ppcalls, POLL);
    const later = await state();
    assert.ok(later.ticks > hidden.ticks, "the feed went on");
    assert.deepEqual(later.draws, hidden.draws, "something was drawn while hidden");
    await setVisibility("visible");
    const shown = await state();
    for (const panel of ["pds", "links", "trace", "throughput"] as const) assert.ok(shown.draws[panel] > hidden.draws[panel], `${panel} was not drawn when shown`);
    const cell = Number(await w.page.locator('#links tr[data-link="ch:0"] td:nth-child(2)').textContent());
    assert.equal(cell, shown.ppcalls, "the table shows the last tick's count");
  });

  it("draws the trace view a tick at a time as it would draw it whole", async () => {
    const description = clientServer("ticker");
    const system = await boot({ ...description, protectionDomains: description.protectionDomains.map((pd) => (pd.name === "ticker" ? { ...pd, program: "dashboard/programs/ticker.ts" } : pd)) }, { trace: true, baseDir: testsDir, onOutput: () => undefined });
    await using w = await watch(system);
    const first = await w.page.evaluate(() => (globalThis as unknown as PageGlobals).isokit.ticks);
    await w.page.waitForFunction((n) => (globalThis as unknown as PageGlobals).isokit.ticks >= n + 8, first, POLL);
    const compared = await w.page.evaluate(() => {
      const g = globalThis as unknown as PageGlobals;
      const canvas = g.document.getElementById("trace");
      const drawn = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
      g.eval("traceView.key = ''; drawTrace();"); // the same state, drawn whole
      const whole = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
      let differing = 0;
      for (let i = 0; i < drawn.length; i++) if (drawn[i] !== whole[i]) differing++;
      let lit = 0;
      for (let i = 0; i < whole.length; i += 4) if (whole[i]! > 120) lit++;
      return { differing, lit, size: drawn.length };
    });
    assert.ok(compared.lit > 0, "the trace view shows slices");
    // Coalesced runs can split differently across ticks than in one pass: their anti-aliased edges may differ.
    assert.ok(compared.differing <= compared.size / 200, `${compared.differing} of ${compared.size} bytes differ`);
  });
});

/** Distinct colours in a PNG, decoded by the browser itself (a blank page has one or two). */
function distinctColours(page: Page, png: Buffer): Promise<number> {
  return page.evaluate(async (b64) => {
    const { Image, document } = globalThis as unknown as PageGlobals;
    const image = new Image();
    image.src = `data:image/png;base64,${b64}`;
    await image.decode();
    const canvas = document.createElement("canvas");
    canvas.width = image.width;
    canvas.height = image.height;
    const ctx = canvas.getContext("2d");
    ctx.drawImage(image, 0, 0);
    const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    const colours = new Set<number>();
    for (let i = 0; i < data.length; i += 4 * 7) colours.add((data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!);
    return colours.size;
  }, png.toString("base64"));
}

describe("dashboard feed", () => {
  it("sends a tick's trace as numbers: complete slices and joined flows, in µs from a base, nothing a PD named", () => {
    const at = 1_000_000.25;
    const delta = traceDelta([
      { name: "ppcall → server", cat: "ppcall", ph: "X", ts: at, dur: 3.6, pid: 1, tid: 1, args: { channel: 0 } },
      { name: "call", cat: "flow", ph: "s", ts: at + 1, pid: 1, tid: 1, id: 7 },
      { name: "call", cat: "flow", ph: "f", ts: at + 2.4, pid: 1, tid: 2, id: 7, bp: "e" },
      { name: "protected ← client", cat: "protected", ph: "X", ts: at + 2, dur: 1, pid: 1, tid: 2 },
      { name: "made up by a PD", cat: "<script>", ph: "X", ts: at + 10, dur: 0, pid: 1, tid: 2 },
      { name: "half a flow", cat: "flow", ph: "f", ts: at + 11, pid: 1, tid: 2, id: 8, bp: "e" },
      { name: "instant", cat: "notify", ph: "i", ts: at + 12, pid: 1, tid: 1, s: "t" },
    ]);
    const other = TRACE_CATEGORIES.indexOf("other");
    assert.deepEqual(delta, {
      base: 1_000_000,
      slices: [1, TRACE_CATEGORIES.indexOf("ppcall"), 0, 4, 2, TRACE_CATEGORIES.indexOf("protected"), 2, 1, 2, other, 10, 0],
      flows: [1, 1, 2, 3],
    });
    assert.deepEqual(traceDelta([]), { base: 0, slices: [], flows: [] });
  });
});
