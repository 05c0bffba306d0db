// The isokit dashboard page: plain JavaScript over the server's live feed (src/dashboard/server.ts).
// The server sends `hello` (the topology, the whole capability log, statistics, the recent trace) and then,
// several times a second, `tick` (a statistics snapshot, and only the capability and trace events that are
// new). Everything here is drawn from those messages; `window.isokit` exposes the page's state for tests.
"use strict";

const TRACE_WINDOW_US = 5e6;
const MAX_TRACE_EVENTS = 20000;
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
  trace: [],
  droppedEvents: 0,
  sort: { key: "name", asc: true },
  rates: new Map(),
  throughput: { t: [], series: new Map() },
  selected: undefined,
  /** The cytoscape instances (tests read their nodes and edges). */
  graphs: {},
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

/** Channels and endpoints as one list of links with operations and a latency summary. */
function links(stats) {
  const out = [];
  for (const c of stats.channels) {
    const [a, b] = c.pp === "1->0" ? [c.ends[1], c.ends[0]] : [c.ends[0], c.ends[1]];
    out.push({ key: `ch:${c.index}`, kind: "channel", index: c.index, from: a.pd, to: b.pd, ops: c.ppcalls + c.notifies, latency: c.callLatency, pending: c.pending });
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
  if (topologyGraph === undefined) {
    topologyGraph = cytoscape({ container: document.getElementById("topology"), elements, style: graphStyle, layout: { name: "cose", animate: false, padding: 30 } });
    state.graphs.topology = topologyGraph;
  } else {
    topologyGraph.elements().remove();
    topologyGraph.add(elements);
    topologyGraph.layout({ name: "cose", animate: false, padding: 30 }).run();
  }
}

function colourTopology(stats, previous) {
  if (topologyGraph === undefined) return;
  for (const pd of stats.pds) topologyGraph.getElementById(`pd:${pd.name}`).data("state", pd.state);
  for (const c of stats.channels) {
    const edge = topologyGraph.getElementById(`ch:${c.index}`);
    const before = previous?.channels.find((p) => p.index === c.index);
    const moved = before !== undefined && c.ppcalls + c.notifies > before.ppcalls + before.notifies;
    edge.toggleClass("active", moved);
    edge.toggleClass("pending", c.pending > 0);
  }
}

// ---- capabilities ----------------------------------------------------------------------------------------

let capGraph;
const capNodes = new Map();

function capLabel(node) {
  return `${node.holder}\n${node.kind ?? "cap"} ${node.object ?? ""} ${node.rights === undefined ? "" : rights(node.rights)}${node.badge ? ` b${node.badge}` : ""}`;
}

function applyCapabilities(events) {
  if (capGraph === undefined) {
    capGraph = cytoscape({
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
    });
    state.graphs.capabilities = capGraph;
  }
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
  for (const token of state.revoked) capGraph.getElementById(token).addClass("revoked");
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

function drawPds(stats, previous) {
  const dt = previous === undefined ? 0 : (stats.at - previous.at) / 1000;
  const rows = stats.pds.map((pd) => {
    const before = previous?.pds.find((p) => p.name === pd.name);
    const ops = totalOps(pd);
    const rate = before === undefined || dt <= 0 ? 0 : (ops - totalOps(before)) / dt;
    return { ...pd, ops, rate, entry: pd.inEntryFor ? pd.inEntryFor.ms : 0 };
  });
  const { key, asc } = state.sort;
  rows.sort((a, b) => (a[key] < b[key] ? -1 : a[key] > b[key] ? 1 : 0) * (asc ? 1 : -1));
  const body = document.querySelector("#pds tbody");
  body.replaceChildren(
    ...rows.map((r) =>
      el(
        "tr",
        { "data-pd": r.name },
        el("td", {}, r.name),
        el("td", { class: `state-${r.state}` }, r.state),
        el("td", {}, r.restarts),
        el("td", {}, r.faults),
        el("td", {}, r.capabilities),
        el("td", {}, r.queueDepth),
        el("td", {}, r.outputLines),
        el("td", { "data-ops": r.ops, title: Object.entries(r.operations).map(([k, v]) => `${k} ${v}`).join(", ") }, r.ops),
        el("td", {}, r.rate.toFixed(0)),
        el("td", {}, r.inEntryFor ? `${r.inEntryFor.entry} ${r.inEntryFor.ms} ms` : ""),
      ),
    ),
  );
  for (const th of document.querySelectorAll("#pds th")) {
    th.classList.toggle("sorted", th.dataset.key === key);
    th.classList.toggle("asc", th.dataset.key === key && asc);
  }
}

function drawLinks(stats) {
  const list = links(stats);
  const body = document.querySelector("#links tbody");
  body.replaceChildren(
    ...list.map((l) =>
      el("tr", { "data-link": l.key }, el("td", {}, linkName(l)), el("td", {}, l.ops), el("td", {}, l.latency.count ? ns(l.latency.p50Ns) : "-"), el("td", {}, l.latency.count ? ns(l.latency.p99Ns) : "-"), el("td", {}, l.latency.count ? ns(l.latency.maxNs) : "-"), el("td", {}, l.pending)),
    ),
  );
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
  for (const c of stats.channels) if (c.pending > 0) warnings.push(`channel ${c.index}: a call waits to be served`);
  const dt = previous === undefined ? 0 : (stats.at - previous.at) / 1000;
  if (dt > 0) {
    for (const pd of stats.pds) {
      const before = previous.pds.find((p) => p.name === pd.name);
      const sends = (pd.operations.send ?? 0) - (before?.operations.send ?? 0);
      if (sends / dt > 10000) warnings.push(`PD '${pd.name}' is flooding: ${Math.round(sends / dt)} sends/s`);
    }
  }
  document.getElementById("warnings").replaceChildren(...warnings.map((w) => el("li", {}, w)));
}

// ---- charts ------------------------------------------------------------------------------------------------

let histogram;

function drawHistogram(link) {
  document.getElementById("latency-of").textContent = `${linkName(link)}: ${link.latency.count} timed, p50 ${ns(link.latency.p50Ns)}, p99 ${ns(link.latency.p99Ns)}, max ${ns(link.latency.maxNs)}`;
  const buckets = link.latency.log2Buckets;
  let lo = buckets.findIndex((c) => c > 0);
  let hi = buckets.length - 1 - [...buckets].reverse().findIndex((c) => c > 0);
  if (lo < 0) { lo = 6; hi = 16; }
  lo = Math.max(0, lo - 1);
  hi = Math.min(buckets.length - 1, hi + 1);
  const xs = [];
  const ys = [];
  for (let k = lo; k <= hi; k++) { xs.push(k); ys.push(buckets[k]); }
  const width = document.getElementById("latency").clientWidth || 500;
  if (histogram === undefined) {
    histogram = new uPlot({
      width, height: 180,
      scales: { x: { time: false } },
      axes: [{ stroke: "#9aa5b1", values: (u, vals) => vals.map((v) => ns(2 ** v)) }, { stroke: "#9aa5b1" }],
      series: [{ label: "latency ≥" , value: (u, v) => (v == null ? "-" : ns(2 ** v)) }, { label: "count", stroke: "#4fb3ff", fill: "rgba(79,179,255,0.35)", paths: uPlot.paths.bars({ size: [0.9] }) }],
    }, [xs, ys], document.getElementById("latency"));
  } else histogram.setData([xs, ys]);
}

let throughputChart;
let throughputKeys = "";

function drawThroughput(stats, previous) {
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

function drawTrace() {
  const canvas = document.getElementById("trace");
  const width = (canvas.width = canvas.clientWidth || 1000);
  const ctx = canvas.getContext("2d");
  const tracks = [{ tid: 0, name: "kernel" }, ...(state.topology?.pds ?? []).map((p) => ({ tid: p.pid, name: p.name }))];
  const rowH = 22;
  const height = (canvas.height = 16 + tracks.length * rowH);
  ctx.clearRect(0, 0, width, height);
  const events = state.trace;
  const end = Math.max(state.stats ? state.stats.at * 1000 : 0, ...events.slice(-50).map((e) => e.ts + (e.dur ?? 0)));
  const start = end - TRACE_WINDOW_US;
  const left = 90;
  const x = (ts) => left + ((ts - start) / TRACE_WINDOW_US) * (width - left - 4);
  const row = new Map(tracks.map((t, i) => [t.tid, i]));
  ctx.font = "11px system-ui";
  tracks.forEach((t, i) => {
    ctx.fillStyle = "#7c8794";
    ctx.fillText(t.name, 6, 14 + i * rowH + 12);
    ctx.fillStyle = "#1b222b";
    ctx.fillRect(left, 14 + i * rowH + 2, width - left, rowH - 4);
  });
  const flows = new Map();
  for (const e of events) {
    if (e.ts + (e.dur ?? 0) < start) continue;
    const r = row.get(e.tid);
    if (r === undefined) continue;
    const y = 14 + r * rowH + 3;
    if (e.ph === "X") {
      ctx.fillStyle = CATEGORY_COLOUR[e.cat] ?? "#9aa5b1";
      ctx.fillRect(x(e.ts), y, Math.max(1.5, x(e.ts + (e.dur ?? 0)) - x(e.ts)), rowH - 6);
    } else if (e.ph === "s" || e.ph === "f") {
      const f = flows.get(e.id) ?? {};
      f[e.ph] = { x: x(e.ts), y: y + (rowH - 6) / 2 };
      flows.set(e.id, f);
    }
  }
  ctx.strokeStyle = "rgba(216,222,230,0.6)";
  for (const f of flows.values()) {
    if (f.s === undefined || f.f === undefined) continue;
    ctx.beginPath();
    ctx.moveTo(f.s.x, f.s.y);
    ctx.lineTo(f.f.x, f.f.y);
    ctx.stroke();
  }
  ctx.fillStyle = "#7c8794";
  ctx.fillText(`last ${TRACE_WINDOW_US / 1e6} s`, width - 70, 11);
}

// ---- the feed ----------------------------------------------------------------------------------------------

function addTrace(events) {
  for (const e of events) state.trace.push(e);
  if (state.trace.length > MAX_TRACE_EVENTS) state.trace.splice(0, state.trace.length - MAX_TRACE_EVENTS);
}

function update(stats) {
  state.previous = state.stats;
  state.stats = stats;
  state.ticks++;
  colourTopology(stats, state.previous);
  drawPds(stats, state.previous);
  drawLinks(stats);
  drawThroughput(stats, state.previous);
  drawWarnings(stats, state.previous);
  drawTrace();
  const k = stats.kernel;
  document.getElementById("summary").textContent = `${stats.pds.length} PDs · ${k.liveCapabilities} capabilities · ${k.syscalls} syscalls · ${stats.traced ? `${stats.trace.records} trace records${stats.sampleEvery > 1 ? ` (1 operation in ${stats.sampleEvery} traced, counts estimated)` : ""}, ${stats.trace.dropped} dropped` : "not traced"}`;
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
    if (msg.type === "hello") {
      state.topology = msg.topology;
      drawTopology(msg.topology);
      applyCapabilities(msg.capabilities);
      addTrace(msg.trace);
      update(msg.stats);
    } else if (msg.type === "tick") {
      if (msg.topology !== undefined) {
        state.topology = msg.topology;
        drawTopology(msg.topology);
      }
      state.droppedEvents = msg.droppedEvents;
      applyCapabilities(msg.capabilities);
      addTrace(msg.trace);
      update(msg.stats);
    }
  };
}

for (const th of document.querySelectorAll("#pds th")) {
  th.addEventListener("click", () => {
    const key = th.dataset.key;
    state.sort = { key, asc: state.sort.key === key ? !state.sort.asc : true };
    if (state.stats !== undefined) drawPds(state.stats, state.previous);
  });
}
document.getElementById("latency-select").addEventListener("change", (e) => {
  state.selected = e.target.value;
  if (state.stats !== undefined) drawLinks(state.stats);
});

connect();
