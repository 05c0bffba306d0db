// The isokit dashboard page: plain JavaScript over the server's live feed (src/dashboard/server.ts).
// The server sends `hello` (the topology, the whole capability log, statistics, the recent trace) and then,
// several times a second, `tick` (a statistics snapshot, and only the capability and trace events that are
// new). Everything here is drawn from those messages; `window.isokit` exposes the page's state for tests.
//
// The page shares the machine with the system it watches, so between two ticks it does nothing, and on a tick
// it touches only what changed: a table cell whose text changed, a graph element whose state or class changed
// (cytoscape redraws only then), a histogram whose counts moved. While the tab is hidden it only keeps the
// feed's data, and draws once when it is shown again. `isokit.draws` counts what each panel redrew.
// What a PD wrote (its name, capability labels) reaches the DOM as text nodes only, never as markup.
"use strict";

const TRACE_WINDOW_US = 5e6;
const THROUGHPUT_POINTS = 120;
const MAX_SERIES = 8;
const RIGHTS = [["S", 1], ["R", 2], ["G", 4], ["V", 8]];
const COLOURS = ["#4fb3ff", "#3ecf6e", "#f0a63a", "#c778dd", "#f0534f", "#56c8c8", "#e0d060", "#9aa5b1"];
const CATEGORY_COLOUR = { ppcall: "#4fb3ff", protected: "#3ecf6e", notified: "#c778dd", notify: "#e0d060", endpoint: "#f0a63a", capability: "#f0534f", fault: "#f0534f", state: "#9aa5b1" };

const state = {
  connected: false,
  ticks: 0,
  topology: undefined,
  stats: undefined,
  previous: undefined,
  capabilities: [],
  revoked: new Set(),
  /** The trace feed's deltas (server.ts `TraceDelta`), oldest first, at most the trace window's worth. */
  trace: [],
  /** Category names of the deltas' category numbers (from `hello`). */
  categories: [],
  droppedEvents: 0,
  /** The server's cadence (server.ts, cadence.ts): busy, ticks a second, idle cores. */
  cadence: undefined,
  sort: { key: "name", asc: true },
  rates: new Map(),
  throughput: { t: [], series: new Map() },
  selected: undefined,
  /** The cytoscape instances (tests read their nodes and edges). */
  graphs: {},
  /** How many times each panel was redrawn (or patched), for tests and for anyone profiling the page. */
  draws: { topology: 0, pds: 0, links: 0, histogram: 0, throughput: 0, warnings: 0, trace: 0, traceWhole: 0, summary: 0 },
};
window.isokit = state;

// ---- formatting ------------------------------------------------------------------------------------------

function ns(v) {
  if (v < 1000) return `${Math.round(v)} ns`;
  if (v < 1e6) return `${(v / 1000).toFixed(v < 1e4 ? 1 : 0)} µs`;
  if (v < 1e9) return `${(v / 1e6).toFixed(v < 1e7 ? 1 : 0)} ms`;
  return `${(v / 1e9).toFixed(1)} s`;
}

function rights(r) {
  return RIGHTS.filter(([, bit]) => (r & bit) !== 0).map(([c]) => c).join("") || "-";
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) node.setAttribute(k, String(v));
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function linkName(link) {
  return link.kind === "channel" ? `ch ${link.index} ${link.from} → ${link.to}` : `ep ${link.id}`;
}

/**
 * Whether a call on channel `c` was left waiting: one waited when this snapshot and the one before were taken,
 * and the channel did nothing between them. `pending` alone is a sample of one instant: on a busy channel a
 * call is in flight at most instants, and the page would flicker (and redraw) with it.
 */
function waiting(c, before) {
  return c.pending > 0 && before !== undefined && before.pending > 0 && c.ppcalls + c.notifies === before.ppcalls + before.notifies;
}

/** Channels and endpoints as one list of links with operations, a latency summary, and calls left waiting. */
function links(stats, previous) {
  const out = [];
  const beforeOf = new Map((previous?.channels ?? []).map((c) => [c.index, c]));
  for (const c of stats.channels) {
    const [a, b] = c.pp === "1->0" ? [c.ends[1], c.ends[0]] : [c.ends[0], c.ends[1]];
    out.push({ key: `ch:${c.index}`, kind: "channel", index: c.index, from: a.pd, to: b.pd, ops: c.ppcalls + c.notifies, latency: c.callLatency, pending: waiting(c, beforeOf.get(c.index)) ? c.pending : 0 });
  }
  for (const e of stats.endpoints) {
    out.push({ key: `ep:${e.id}`, kind: "endpoint", id: e.id, ops: e.sends + e.calls, latency: e.callLatency, pending: 0 });
  }
  return out;
}

// ---- topology --------------------------------------------------------------------------------------------

const graphStyle = [
  { selector: "node", style: { label: "data(label)", color: "#d8dee6", "font-size": 11, "text-valign": "bottom", "text-margin-y": 4, "background-color": "#7c8794", "text-wrap": "wrap" } },
  { selector: "node.pd", style: { shape: "round-rectangle", width: 44, height: 30 } },
  { selector: 'node.pd[state = "running"]', style: { "background-color": "#3ecf6e" } },
  { selector: 'node.pd[state = "starting"]', style: { "background-color": "#7c8794" } },
  { selector: 'node.pd[state = "faulted"]', style: { "background-color": "#f0534f" } },
  { selector: 'node.pd[state = "exited"]', style: { "background-color": "#a33" } },
  { selector: 'node.pd[state = "stopped"]', style: { "background-color": "#444c56" } },
  { selector: "node.region", style: { shape: "rectangle", "background-color": "#56c8c8", width: 26, height: 18 } },
  { selector: "node.endpoint", style: { shape: "diamond", "background-color": "#f0a63a", width: 22, height: 22 } },
  { selector: "node.ring", style: { shape: "hexagon", "background-color": "#c778dd", width: 24, height: 22 } },
  { selector: "edge", style: { width: 2, "line-color": "#4a5563", "target-arrow-color": "#4a5563", "curve-style": "bezier", label: "data(label)", "font-size": 9, color: "#9aa5b1", "text-rotation": "autorotate" } },
  { selector: "edge.pp", style: { "target-arrow-shape": "triangle" } },
  { selector: "edge.notify", style: { "line-style": "dashed" } },
  { selector: "edge.parent", style: { "line-style": "dotted", "target-arrow-shape": "vee" } },
  { selector: "edge.active", style: { "line-color": "#4fb3ff", "target-arrow-color": "#4fb3ff", width: 4 } },
  { selector: "edge.pending", style: { "line-color": "#f0a63a", "target-arrow-color": "#f0a63a" } },
];

let topologyGraph;
let topologyKey = "";

function drawTopology(topology) {
  const elements = [];
  const pdNode = (name) => `pd:${name}`;
  const have = new Set(topology.pds.map((p) => p.name));
  for (const pd of topology.pds) elements.push({ group: "nodes", data: { id: pdNode(pd.name), label: pd.name, state: "starting" }, classes: "pd" });
  const extra = (name) => {
    if (!have.has(name)) {
      have.add(name);
      elements.push({ group: "nodes", data: { id: pdNode(name), label: name, state: "running" }, classes: "pd" });
    }
  };
  for (const pd of topology.pds) if (pd.parent) elements.push({ group: "edges", data: { id: `parent:${pd.name}`, source: pdNode(pd.parent), target: pdNode(pd.name), label: "child" }, classes: "parent" });
  for (const c of topology.channels) {
    const [a, b] = c.pp === "1->0" ? [c.ends[1], c.ends[0]] : [c.ends[0], c.ends[1]];
    if (!have.has(a.pd) || !have.has(b.pd)) continue;
    elements.push({ group: "edges", data: { id: `ch:${c.index}`, source: pdNode(a.pd), target: pdNode(b.pd), label: `${a.id}↔${b.id}` }, classes: c.pp === "none" ? "notify" : "pp" });
  }
  for (const r of topology.regions) {
    elements.push({ group: "nodes", data: { id: `region:${r.name}`, label: `${r.name}\n${r.size} B` }, classes: "region" });
    for (const m of r.maps) elements.push({ group: "edges", data: { id: `map:${r.name}:${m.pd}`, source: pdNode(m.pd), target: `region:${r.name}`, label: m.perms } });
  }
  for (const e of topology.endpoints) {
    elements.push({ group: "nodes", data: { id: `ep:${e.id}`, label: `${e.kind} ${e.id}` }, classes: "endpoint" });
    if (have.has(e.owner)) elements.push({ group: "edges", data: { id: `own:${e.id}`, source: pdNode(e.owner), target: `ep:${e.id}`, label: "receives" } });
  }
  for (const a of topology.asyncChannels) {
    elements.push({ group: "nodes", data: { id: `ring:${a.name}`, label: a.name }, classes: "ring" });
    for (const p of a.producers) {
      extra(p);
      elements.push({ group: "edges", data: { id: `ring:${a.name}:in:${p}`, source: pdNode(p), target: `ring:${a.name}`, label: "" }, classes: "pp" });
    }
    extra(a.consumer);
    elements.push({ group: "edges", data: { id: `ring:${a.name}:out`, source: `ring:${a.name}`, target: pdNode(a.consumer), label: "" }, classes: "pp" });
  }
  const key = elements.map((e) => e.data.id).join(",");
  if (key === topologyKey) return;
  topologyKey = key;
  state.draws.topology++;
  window.isokitChanged();
  if (topologyGraph === undefined) {
    topologyGraph = window.isokitGraph(() => cytoscape({ container: document.getElementById("topology"), elements, style: graphStyle, layout: { name: "cose", animate: false, padding: 30 } }));
    state.graphs.topology = topologyGraph;
  } else {
    topologyGraph.elements().remove();
    topologyGraph.add(elements);
    topologyGraph.layout({ name: "cose", animate: false, padding: 30 }).run();
  }
}

/** PD states and channel activity: cytoscape redraws a graph only when an element changed, so change only what differs. */
function colourTopology(stats, previous) {
  if (topologyGraph === undefined) return;
  const changes = [];
  for (const pd of stats.pds) {
    const node = topologyGraph.getElementById(`pd:${pd.name}`);
    if (node.nonempty() && node.data("state") !== pd.state) changes.push(() => node.data("state", pd.state));
  }
  const before = new Map((previous?.channels ?? []).map((p) => [p.index, p]));
  for (const c of stats.channels) {
    const edge = topologyGraph.getElementById(`ch:${c.index}`);
    if (edge.empty()) continue;
    const was = before.get(c.index);
    const moved = was !== undefined && c.ppcalls + c.notifies > was.ppcalls + was.notifies;
    if (edge.hasClass("active") !== moved) changes.push(() => edge.toggleClass("active", moved));
    const waits = waiting(c, was);
    if (edge.hasClass("pending") !== waits) changes.push(() => edge.toggleClass("pending", waits));
  }
  if (changes.length === 0) return;
  state.draws.topology++;
  window.isokitChanged();
  topologyGraph.batch(() => {
    for (const change of changes) change();
  });
}

// ---- capabilities ----------------------------------------------------------------------------------------

let capGraph;
const capNodes = new Map();

function capLabel(node) {
  return `${node.holder}\n${node.kind ?? "cap"} ${node.object ?? ""} ${node.rights === undefined ? "" : rights(node.rights)}${node.badge ? ` b${node.badge}` : ""}`;
}

function applyCapabilities(events) {
  if (capGraph === undefined) {
    capGraph = window.isokitGraph(() => cytoscape({
      container: document.getElementById("capabilities"),
      style: [
        ...graphStyle,
        { selector: "node.cap", style: { shape: "ellipse", width: 16, height: 16, "background-color": "#4fb3ff" } },
        { selector: "node.revoked", style: { "background-color": "#f0534f", opacity: 0.6 } },
        { selector: "node.closed", style: { "background-color": "#444c56" } },
        { selector: "edge.granted", style: { "line-style": "dashed", "target-arrow-shape": "triangle" } },
        { selector: "edge.derived", style: { "target-arrow-shape": "triangle" } },
      ],
      layout: { name: "breadthfirst", directed: true },
    }));
    state.graphs.capabilities = capGraph;
  }
  if (events.length === 0) return; // nothing new: the graph is not touched, so cytoscape does not redraw it
  window.isokitChanged();
  const added = [];
  const addNode = (token, info) => {
    if (capNodes.has(token)) return capNodes.get(token);
    const node = { token, ...info };
    capNodes.set(token, node);
    added.push({ group: "nodes", data: { id: token, label: capLabel(node) }, classes: "cap" });
    return node;
  };
  const log = document.getElementById("cap-log");
  for (const e of events) {
    state.capabilities.push(e);
    if (e.op === "create") addNode(e.token, { holder: e.pd, kind: e.kind, object: e.object, rights: e.rights, badge: e.badge });
    else if (e.op === "derive" || e.op === "grant") {
      const parent = capNodes.get(e.from) ?? addNode(e.from, { holder: e.pd });
      addNode(e.token, { holder: e.op === "grant" ? e.to : e.pd, kind: e.kind ?? parent.kind, object: e.object ?? parent.object, rights: e.rights, badge: e.badge ?? parent.badge });
      added.push({ group: "edges", data: { id: `${e.from}->${e.token}`, source: e.from, target: e.token, label: e.op === "grant" ? `→ ${e.to}` : "derive" }, classes: e.op === "grant" ? "granted" : "derived" });
    } else if (e.op === "revoke") {
      revokeBelow(e.token);
    } else if (e.op === "close") {
      capGraph.getElementById(e.token).addClass("closed");
    }
    const what = e.op === "grant" ? `${e.pd} granted ${e.token} to ${e.to}` : e.op === "revoke" ? `${e.pd} revoked ${e.token} (${e.count} capabilities)` : `${e.pd} ${e.op} ${e.token}`;
    log.prepend(el("li", { class: e.op }, what));
  }
  if (added.length > 0) {
    capGraph.add(added);
    capGraph.layout({ name: "breadthfirst", directed: true, padding: 20, spacingFactor: 1.1 }).run();
  }
  // Revokes made before nodes existed (or in this batch) are applied again now that every node is there.
  capGraph.batch(() => {
    for (const token of state.revoked) {
      const node = capGraph.getElementById(token);
      if (!node.hasClass("revoked")) node.addClass("revoked");
    }
  });
}

/** isokit's revoke: `token` and everything derived (or granted onward) from it go (kernel/ipc-kernel.ts). */
function revokeBelow(token) {
  state.revoked.add(token);
  const seen = new Set([token]);
  const queue = [token];
  while (queue.length > 0) {
    const t = queue.shift();
    for (const e of state.capabilities) {
      if ((e.op === "derive" || e.op === "grant") && e.from === t && !seen.has(e.token)) {
        seen.add(e.token);
        queue.push(e.token);
        state.revoked.add(e.token);
      }
    }
  }
}

// ---- PD table, links, warnings -----------------------------------------------------------------------------

function totalOps(pd) {
  return Object.values(pd.operations).reduce((a, b) => a + b, 0);
}

/** Sets `node`'s text only if it differs (a write, even of the same text, costs a style and layout pass); true if it wrote. */
function setText(node, text) {
  const t = String(text);
  if (node.textContent === t) return false;
  node.textContent = t;
  return true;
}

function setAttr(node, name, value) {
  const v = String(value);
  if (node.getAttribute(name) === v) return false;
  node.setAttribute(name, v);
  return true;
}

/**
 * Shows `items` as the rows of `body`, in order, one row per key: rows are made once and reordered only when the
 * order changed; `fill(cells, item)` patches a row's cells and says whether it wrote. Returns whether anything was written.
 */
function patchRows(body, rows, items, keyOf, attr, columns, fill) {
  let changed = false;
  const keep = new Set();
  const ordered = items.map((item) => {
    const key = keyOf(item);
    keep.add(key);
    let row = rows.get(key);
    if (row === undefined) {
      const cells = Array.from({ length: columns }, () => el("td", {}));
      row = { tr: el("tr", { [attr]: key }, ...cells), cells };
      rows.set(key, row);
    }
    if (fill(row.cells, item)) changed = true;
    return row.tr;
  });
  for (const key of [...rows.keys()]) if (!keep.has(key)) rows.delete(key);
  const current = body.children;
  if (current.length !== ordered.length || ordered.some((tr, i) => current[i] !== tr)) {
    body.replaceChildren(...ordered);
    changed = true;
  }
  return changed;
}

const pdRows = new Map();
const linkRows = new Map();

function drawPds(stats, previous) {
  const dt = previous === undefined ? 0 : (stats.at - previous.at) / 1000;
  const beforeOf = new Map((previous?.pds ?? []).map((p) => [p.name, p]));
  const rows = stats.pds.map((pd) => {
    const before = beforeOf.get(pd.name);
    const ops = totalOps(pd);
    const rate = before === undefined || dt <= 0 ? 0 : (ops - totalOps(before)) / dt;
    return { ...pd, ops, rate, entry: pd.inEntryFor ? pd.inEntryFor.ms : 0 };
  });
  const { key, asc } = state.sort;
  rows.sort((a, b) => (a[key] < b[key] ? -1 : a[key] > b[key] ? 1 : 0) * (asc ? 1 : -1));
  const changed = patchRows(document.querySelector("#pds tbody"), pdRows, rows, (r) => r.name, "data-pd", 10, (cells, r) => {
    const values = [r.name, r.state, r.restarts, r.faults, r.capabilities, r.queueDepth, r.outputLines, r.ops, r.rate.toFixed(0), r.inEntryFor ? `${r.inEntryFor.entry} ${r.inEntryFor.ms} ms` : ""];
    let wrote = false;
    values.forEach((v, i) => { if (setText(cells[i], v)) wrote = true; });
    if (setAttr(cells[1], "class", `state-${r.state}`)) wrote = true;
    if (setAttr(cells[7], "data-ops", r.ops)) wrote = true;
    if (setAttr(cells[7], "title", Object.entries(r.operations).map(([k, v]) => `${k} ${v}`).join(", "))) wrote = true;
    return wrote;
  });
  if (changed) state.draws.pds++;
  for (const th of document.querySelectorAll("#pds th")) {
    const sorted = th.dataset.key === key;
    if (th.classList.contains("sorted") !== sorted) th.classList.toggle("sorted", sorted);
    if (th.classList.contains("asc") !== (sorted && asc)) th.classList.toggle("asc", sorted && asc);
  }
}

function drawLinks(stats, previous) {
  const list = links(stats, previous);
  const changed = patchRows(document.querySelector("#links tbody"), linkRows, list, (l) => l.key, "data-link", 6, (cells, l) => {
    const timed = l.latency.count > 0;
    let wrote = false;
    [linkName(l), l.ops, timed ? ns(l.latency.p50Ns) : "-", timed ? ns(l.latency.p99Ns) : "-", timed ? ns(l.latency.maxNs) : "-", l.pending].forEach((v, i) => { if (setText(cells[i], v)) wrote = true; });
    return wrote;
  });
  if (changed) state.draws.links++;
  const select = document.getElementById("latency-select");
  const keys = list.map((l) => l.key).join(",");
  if (select.dataset.keys !== keys) {
    select.dataset.keys = keys;
    select.replaceChildren(...list.map((l) => el("option", { value: l.key }, linkName(l))));
    if (state.selected === undefined || !list.some((l) => l.key === state.selected)) state.selected = list.find((l) => l.latency.count > 0)?.key ?? list[0]?.key;
    if (state.selected !== undefined) select.value = state.selected;
  }
  const selected = list.find((l) => l.key === state.selected);
  if (selected !== undefined) drawHistogram(selected);
}

function drawWarnings(stats, previous) {
  const warnings = [...stats.warnings];
  if (state.droppedEvents > 0) warnings.push(`the live trace feed skipped ${state.droppedEvents} events (the trace file has them)`);
  const channelsBefore = new Map((previous?.channels ?? []).map((c) => [c.index, c]));
  for (const c of stats.channels) if (waiting(c, channelsBefore.get(c.index))) warnings.push(`channel ${c.index}: a call waits to be served`);
  const dt = previous === undefined ? 0 : (stats.at - previous.at) / 1000;
  if (dt > 0) {
    const beforeOf = new Map(previous.pds.map((p) => [p.name, p]));
    for (const pd of stats.pds) {
      const before = beforeOf.get(pd.name);
      const sends = (pd.operations.send ?? 0) - (before?.operations.send ?? 0);
      if (sends / dt > 10000) warnings.push(`PD '${pd.name}' is flooding: ${Math.round(sends / dt)} sends/s`);
    }
  }
  const list = document.getElementById("warnings");
  if (list.children.length === warnings.length) {
    // The same warnings, some with a number that moved: patch their text.
    let wrote = false;
    warnings.forEach((w, i) => { if (setText(list.children[i], w)) wrote = true; });
    if (wrote) state.draws.warnings++;
    return;
  }
  state.draws.warnings++;
  list.replaceChildren(...warnings.map((w) => el("li", {}, w)));
}

// ---- charts ------------------------------------------------------------------------------------------------

let histogram;
let histogramShown = "";

function drawHistogram(link) {
  const buckets = link.latency.log2Buckets;
  let lo = buckets.findIndex((c) => c > 0);
  let hi = buckets.length - 1 - [...buckets].reverse().findIndex((c) => c > 0);
  if (lo < 0) { lo = 6; hi = 16; }
  lo = Math.max(0, lo - 1);
  hi = Math.min(buckets.length - 1, hi + 1);
  const xs = [];
  const ys = [];
  for (let k = lo; k <= hi; k++) { xs.push(k); ys.push(buckets[k]); }
  const shown = `${link.key} ${lo} ${ys.join(",")}`;
  if (shown === histogramShown && histogram !== undefined) return; // no call timed since: nothing to draw
  histogramShown = shown;
  state.draws.histogram++;
  setText(document.getElementById("latency-of"), `${linkName(link)}: ${link.latency.count} timed, p50 ${ns(link.latency.p50Ns)}, p99 ${ns(link.latency.p99Ns)}, max ${ns(link.latency.maxNs)}`);
  if (histogram === undefined) {
    histogram = new uPlot({
      width: document.getElementById("latency").clientWidth || 500, height: 180,
      scales: { x: { time: false } },
      axes: [{ stroke: "#9aa5b1", values: (u, vals) => vals.map((v) => ns(2 ** v)) }, { stroke: "#9aa5b1" }],
      series: [{ label: "latency ≥" , value: (u, v) => (v == null ? "-" : ns(2 ** v)) }, { label: "count", stroke: "#4fb3ff", fill: "rgba(79,179,255,0.35)", paths: uPlot.paths.bars({ size: [0.9] }) }],
    }, [xs, ys], document.getElementById("latency"));
  } else histogram.setData([xs, ys]);
}

let throughputChart;
let throughputKeys = "";

/** Adds this tick's point to the throughput series (also while the tab is hidden: the chart shows the last 30 s). */
function recordThroughput(stats, previous) {
  if (previous === undefined) return;
  const dt = (stats.at - previous.at) / 1000;
  if (dt <= 0) return;
  const before = new Map(links(previous).map((l) => [l.key, l]));
  const now = links(stats).slice(0, MAX_SERIES);
  const tp = state.throughput;
  tp.t.push(stats.at / 1000);
  for (const l of now) {
    let series = tp.series.get(l.key);
    if (series === undefined) {
      series = { name: linkName(l), values: tp.t.slice(0, -1).map(() => null) };
      tp.series.set(l.key, series);
    }
    series.values.push((l.ops - (before.get(l.key)?.ops ?? l.ops)) / dt);
  }
  for (const series of tp.series.values()) while (series.values.length < tp.t.length) series.values.push(null);
  if (tp.t.length > THROUGHPUT_POINTS) {
    tp.t.shift();
    for (const series of tp.series.values()) series.values.shift();
  }
}

function drawThroughput() {
  const tp = state.throughput;
  if (tp.t.length === 0) return;
  state.draws.throughput++;
  const keys = [...tp.series.keys()].join(",");
  const data = [tp.t, ...[...tp.series.values()].map((s) => s.values)];
  if (throughputChart === undefined || keys !== throughputKeys) {
    throughputChart?.destroy();
    throughputKeys = keys;
    throughputChart = new uPlot({
      width: document.getElementById("throughput").clientWidth || 500, height: 180,
      axes: [{ stroke: "#9aa5b1" }, { stroke: "#9aa5b1" }],
      series: [{}, ...[...tp.series.values()].map((s, i) => ({ label: s.name, stroke: COLOURS[i % COLOURS.length], width: 2 }))],
    }, data, document.getElementById("throughput"));
  } else throughputChart.setData(data);
}

// ---- trace view --------------------------------------------------------------------------------------------

/**
 * The last seconds of the trace, one track per PD. A pixel is ~4 ms, and a busy system sends thousands of
 * slices a second: slices of one category that touch on a track are drawn as one rectangle, and flows that
 * land on the same pixels as one line. The window ends on a whole pixel, so a tick moves what is drawn left by
 * whole pixels (one copy of the canvas) and draws only the deltas that came since: a redraw costs what is new,
 * not what is shown. The whole view is drawn again when its size or tracks change, or it was not drawn for a
 * window's length (a hidden tab).
 */
const traceView = { key: "", endCol: 0, drawnSeq: -1 };
const traceBuffer = document.createElement("canvas");
const TRACE_LEFT = 90;
const TRACE_TOP = 14;
const TRACE_ROW = 22;

function drawTrace() {
  const canvas = document.getElementById("trace");
  const width = canvas.clientWidth || 1000;
  const tracks = [{ tid: 0, name: "kernel" }, ...(state.topology?.pds ?? []).map((p) => ({ tid: p.pid, name: p.name }))];
  const height = 16 + tracks.length * TRACE_ROW;
  const plot = width - TRACE_LEFT - 4;
  if (plot <= 0) return;
  const usPerPx = TRACE_WINDOW_US / plot;
  const endCol = Math.ceil(Math.max(state.stats ? state.stats.at * 1000 : 0, state.trace.at(-1)?.end ?? 0) / usPerPx);
  const key = `${width} ${tracks.map((t) => `${t.tid}:${t.name}`).join(",")}`;
  const ctx = canvas.getContext("2d");
  const shift = endCol - traceView.endCol;
  const full = key !== traceView.key || shift < 0 || shift >= plot || canvas.width !== width || canvas.height !== height;
  if (!full && shift === 0 && (state.trace.at(-1)?.seq ?? -1) <= traceView.drawnSeq) return; // nothing moved, nothing new
  state.draws.trace++;
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
  // The strip [from, width) gets its background drawn afresh; left of it, what was drawn moves left by `shift`.
  let from = TRACE_LEFT;
  if (full) {
    state.draws.traceWhole++;
    ctx.clearRect(0, 0, width, height);
    ctx.font = "11px system-ui";
    tracks.forEach((t, i) => {
      ctx.fillStyle = "#7c8794";
      ctx.fillText(t.name, 6, TRACE_TOP + i * TRACE_ROW + 12);
    });
  } else if (shift > 0) {
    // Through a second canvas: a canvas drawn onto itself smears where source and destination overlap.
    const w = plot - shift;
    const h = height - TRACE_TOP;
    if (traceBuffer.width !== w) traceBuffer.width = w;
    if (traceBuffer.height !== h) traceBuffer.height = h;
    const buffer = traceBuffer.getContext("2d");
    buffer.clearRect(0, 0, w, h);
    buffer.drawImage(canvas, TRACE_LEFT + shift, TRACE_TOP, w, h, 0, 0, w, h);
    ctx.clearRect(TRACE_LEFT, TRACE_TOP, w, h);
    ctx.drawImage(traceBuffer, TRACE_LEFT, TRACE_TOP);
    from = TRACE_LEFT + w;
  } else from = width;
  if (from < width) {
    ctx.clearRect(from, TRACE_TOP, width - from, height - TRACE_TOP);
    ctx.fillStyle = "#1b222b";
    tracks.forEach((t, i) => ctx.fillRect(from, TRACE_TOP + i * TRACE_ROW + 2, width - from, TRACE_ROW - 4));
  }
  const startCol = endCol - plot;
  const row = new Map(tracks.map((t, i) => [t.tid, i]));
  // One open run per track: [x0, x1, category]; a slice that starts past the run's end (or is of another
  // category) draws the run and opens its own.
  const runs = tracks.map(() => ({ x0: 0, x1: -1, cat: -1 }));
  const colours = state.categories.map((c) => CATEGORY_COLOUR[c] ?? "#9aa5b1");
  const flush = (r, run) => {
    if (run.cat < 0) return;
    ctx.fillStyle = colours[run.cat] ?? "#9aa5b1";
    ctx.fillRect(run.x0, TRACE_TOP + r * TRACE_ROW + 3, Math.min(run.x1, TRACE_LEFT + plot) - run.x0, TRACE_ROW - 6);
  };
  const lines = new Set();
  ctx.beginPath();
  for (const delta of state.trace) {
    if (!full && delta.seq <= traceView.drawnSeq) continue;
    const { base, slices, flows } = delta;
    const col = (ts) => TRACE_LEFT + (base + ts) / usPerPx - startCol;
    for (let i = 0; i < slices.length; i += 4) {
      const x1 = Math.max(col(slices[i + 2] + slices[i + 3]), col(slices[i + 2]) + 1.5);
      if (x1 < TRACE_LEFT) continue;
      const r = row.get(slices[i]);
      if (r === undefined) continue;
      const x0 = Math.max(TRACE_LEFT, col(slices[i + 2]));
      const run = runs[r];
      const cat = slices[i + 1];
      if (run.cat === cat && x0 <= run.x1 + 0.5) {
        if (x1 > run.x1) run.x1 = x1;
        continue;
      }
      flush(r, run);
      run.x0 = x0;
      run.x1 = x1;
      run.cat = cat;
    }
    for (let i = 0; i < flows.length; i += 4) {
      const a = row.get(flows[i]);
      const b = row.get(flows[i + 2]);
      const xa = Math.round(col(flows[i + 1]));
      if (a === undefined || b === undefined || xa < TRACE_LEFT) continue;
      const xb = Math.round(col(flows[i + 3]));
      const lineKey = ((xa * 1024 + a) * 8192 + xb) * 1024 + b;
      if (lines.has(lineKey)) continue;
      lines.add(lineKey);
      ctx.moveTo(xa, TRACE_TOP + a * TRACE_ROW + TRACE_ROW / 2);
      ctx.lineTo(xb, TRACE_TOP + b * TRACE_ROW + TRACE_ROW / 2);
    }
  }
  runs.forEach((run, r) => flush(r, run));
  ctx.strokeStyle = "rgba(216,222,230,0.6)";
  ctx.stroke();
  if (full) {
    ctx.fillStyle = "#7c8794";
    ctx.font = "11px system-ui";
    ctx.fillText(`last ${TRACE_WINDOW_US / 1e6} s`, width - 70, 11);
  }
  traceView.key = key;
  traceView.endCol = endCol;
  traceView.drawnSeq = state.trace.at(-1)?.seq ?? traceView.drawnSeq;
}

// ---- the feed ----------------------------------------------------------------------------------------------

let traceSeq = 0;

/**
 * Keeps `delta` (one tick's trace, server.ts `TraceDelta`), with the time its last event ends, and drops the
 * deltas that ended before the trace window of `nowUs`.
 */
function addTrace(delta, nowUs) {
  let end = delta.base;
  for (let i = 0; i < delta.slices.length; i += 4) end = Math.max(end, delta.base + delta.slices[i + 2] + delta.slices[i + 3]);
  for (let i = 0; i < delta.flows.length; i += 4) end = Math.max(end, delta.base + delta.flows[i + 3]);
  if (delta.slices.length > 0 || delta.flows.length > 0) state.trace.push({ seq: traceSeq++, base: delta.base, slices: delta.slices, flows: delta.flows, end });
  while (state.trace.length > 0 && state.trace[0].end < nowUs - TRACE_WINDOW_US) state.trace.shift();
}

function update(stats) {
  state.previous = state.stats;
  state.stats = stats;
  state.ticks++;
  recordThroughput(stats, state.previous);
  if (document.visibilityState === "hidden") return; // drawn when shown again
  draw();
}

/** Draws every panel from the state (each touches only what changed since it was last drawn). */
function draw() {
  const stats = state.stats;
  if (stats === undefined) return;
  colourTopology(stats, state.previous);
  drawPds(stats, state.previous);
  drawLinks(stats, state.previous);
  drawThroughput();
  drawWarnings(stats, state.previous);
  drawTrace();
  const k = stats.kernel;
  if (setText(document.getElementById("summary"), `${stats.pds.length} PDs · ${k.liveCapabilities} capabilities · ${k.syscalls} syscalls · ${stats.traced ? `${stats.trace.records} trace records${stats.sampleEvery > 1 ? ` (1 operation in ${stats.sampleEvery} traced, counts estimated)` : ""}, ${stats.trace.dropped} dropped` : "not traced"}`)) state.draws.summary++;
}

/** "live", or, while the server sends fewer ticks because the machine has no core to spare, how often it does. */
function showCadence(status, cadence) {
  if (!state.connected || cadence === undefined) return;
  const busy = cadence.busy === true;
  const text = busy ? `live · ${cadence.ticksPerSec === 1 ? "once a second" : `${cadence.ticksPerSec} updates a second`}: no idle core, the dashboard steps back` : "live";
  if (setText(status, text)) status.dataset.state = busy ? "busy" : "live";
}

function connect() {
  const status = document.getElementById("status");
  const socket = new WebSocket(`ws://${location.host}/live`);
  socket.onopen = () => {
    state.connected = true;
    status.dataset.state = "live";
    status.textContent = "live";
  };
  socket.onclose = () => {
    state.connected = false;
    status.dataset.state = "closed";
    status.textContent = "disconnected (the system stopped?)";
  };
  socket.onmessage = (message) => {
    const msg = JSON.parse(message.data);
    state.cadence = msg.cadence;
    showCadence(status, msg.cadence);
    if (msg.type === "hello") {
      state.topology = msg.topology;
      state.categories = msg.categories;
      drawTopology(msg.topology);
      applyCapabilities(msg.capabilities);
      addTrace(msg.trace, msg.stats.at * 1000);
      update(msg.stats);
    } else if (msg.type === "tick") {
      if (msg.topology !== undefined) {
        state.topology = msg.topology;
        drawTopology(msg.topology);
      }
      state.droppedEvents = msg.droppedEvents;
      applyCapabilities(msg.capabilities);
      addTrace(msg.trace, msg.stats.at * 1000);
      update(msg.stats);
    }
  };
}

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "hidden") return;
  traceView.key = ""; // what it drew is older than what it missed
  draw();
});
for (const th of document.querySelectorAll("#pds th")) {
  th.addEventListener("click", () => {
    const key = th.dataset.key;
    state.sort = { key, asc: state.sort.key === key ? !state.sort.asc : true };
    if (state.stats !== undefined) drawPds(state.stats, state.previous);
  });
}
document.getElementById("latency-select").addEventListener("change", (e) => {
  state.selected = e.target.value;
  if (state.stats !== undefined) drawLinks(state.stats, state.previous);
});

connect();
