// Antimony's dashboard: the running topology, its rates and its alerts.
//
// Plain JavaScript, no framework, no build step, nothing fetched but this server's API.
//
// Safety rule: domains, clients, reasons and evidence are attacker-chosen text (a DNS name can
// be `<img/src=x/onerror=...>`). Every value reaches the page through `textContent` or
// `setAttribute` on an element made with `createElement(NS)`; nothing is ever parsed as markup
// (no innerHTML, insertAdjacentHTML, document.write). Keep it that way.
//
// Lightness: the page is built once, then each poll updates text and attributes in place;
// rows are reused by key, and polling stops while the tab is hidden.
"use strict";

(function () {
  const STATS_EVERY_MS = 1000;
  const ALERTS_EVERY_MS = 2000;
  const TOPOLOGY_RETRY_MS = 2000;
  const ALERT_LIMIT = 100;
  const SVG_NS = "http://www.w3.org/2000/svg";
  const SEVERITIES = ["info", "low", "medium", "high", "critical"];
  /** A source's series of bytes read (its rate is shown on the spout's node). */
  const BYTES_READ = "bytes read";

  // ---- the API ---------------------------------------------------------------------------

  const token = new URLSearchParams(window.location.search).get("token");

  class ApiError extends Error {
    constructor(message, status) {
      super(message);
      this.status = status;
    }
  }

  async function api(path) {
    const headers = { Accept: "application/json" };
    if (token) headers.Authorization = "Bearer " + token;
    let response;
    try {
      response = await fetch(path, { headers, cache: "no-store", credentials: "omit" });
    } catch (e) {
      throw new ApiError("cannot reach the server", 0);
    }
    if (response.status === 401 || response.status === 403) {
      throw new ApiError(token ? "the token was refused" : "a token is needed: open /?token=…", response.status);
    }
    if (!response.ok) throw new ApiError("the server answered " + response.status, response.status);
    return response.json();
  }

  // ---- small helpers ---------------------------------------------------------------------

  const $ = (id) => document.getElementById(id);

  /** An HTML element with a class and text, both optional. */
  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  /** An SVG element with attributes (values set as attributes, never parsed). */
  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  /** Sets text only when it changed, so an unchanged page does no layout work. */
  function setText(node, text) {
    const value = text === undefined || text === null ? "" : String(text);
    if (node.textContent !== value) node.textContent = value;
  }

  function setClass(node, name, on) {
    if (node.classList.contains(name) !== on) node.classList.toggle(name, on);
  }

  const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
  const oneDecimal = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
  const compact = new Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 1 });

  function isNumber(x) {
    return typeof x === "number" && Number.isFinite(x);
  }

  function count(x) {
    return isNumber(x) ? integer.format(x) : "–";
  }

  function rate(x) {
    if (!isNumber(x)) return "–";
    if (x === 0) return "0";
    if (x < 10) return oneDecimal.format(x);
    if (x < 100000) return integer.format(x);
    return compact.format(x);
  }

  function byteRate(x) {
    if (!isNumber(x)) return "–";
    if (x < 1e3) return integer.format(x) + " B/s";
    if (x < 1e6) return oneDecimal.format(x / 1e3) + " kB/s";
    if (x < 1e9) return oneDecimal.format(x / 1e6) + " MB/s";
    return oneDecimal.format(x / 1e9) + " GB/s";
  }

  function duration(seconds) {
    if (!isNumber(seconds)) return "–";
    if (seconds === 0) return "0";
    if (seconds < 1e-3) return oneDecimal.format(seconds * 1e6) + " µs";
    if (seconds < 1) return oneDecimal.format(seconds * 1e3) + " ms";
    return oneDecimal.format(seconds) + " s";
  }

  function uptime(seconds) {
    if (!isNumber(seconds)) return "–";
    const s = Math.floor(seconds);
    const d = Math.floor(s / 86400);
    const h = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60);
    const pad = (n) => String(n).padStart(2, "0");
    const hms = pad(h) + ":" + pad(m) + ":" + pad(s % 60);
    return d > 0 ? d + "d " + hms : hms;
  }

  /** Seconds since the epoch from a number (seconds or milliseconds) or an RFC 3339 string. */
  function toSeconds(t) {
    if (isNumber(t)) return t > 1e11 ? t / 1000 : t;
    if (typeof t === "string") {
      const ms = Date.parse(t);
      return Number.isNaN(ms) ? null : ms / 1000;
    }
    return null;
  }

  /** A time of arrival, local: the time of day alone when it is today. */
  function clockTime(t, full) {
    const s = toSeconds(t);
    if (s === null) return t === undefined || t === null ? "–" : String(t);
    const d = new Date(s * 1000);
    const sameDay = d.toDateString() === new Date().toDateString();
    return sameDay && !full ? d.toLocaleTimeString() : d.toLocaleString();
  }

  /** An evidence value as one line of text. */
  function evidenceText(value) {
    if (value === null || value === undefined) return "–";
    if (Array.isArray(value)) return value.map(evidenceText).join(", ");
    if (typeof value === "number") return Number.isInteger(value) ? String(value) : oneDecimal.format(value);
    if (typeof value === "object") return JSON.stringify(value);
    return String(value);
  }

  // ---- connection state ------------------------------------------------------------------

  let lastOk = 0;
  let lastError = null;

  function reportOk() {
    lastOk = Date.now();
    lastError = null;
    showConnection();
  }

  function reportError(e) {
    if (!(e instanceof ApiError)) console.error(e);
    lastError = e instanceof ApiError ? e.message : "the answer could not be read";
    showConnection();
  }

  function showConnection() {
    const node = $("connection");
    if (lastError) {
      setText(node, lastError);
      setClass(node, "bad", true);
    } else {
      setText(node, lastOk ? "live" : "");
      setClass(node, "bad", false);
    }
  }

  // ---- the topology graph ----------------------------------------------------------------

  const NODE_W = 150;
  const NODE_H = 58;
  const GAP_X = 170;
  const GAP_Y = 40;
  const PAD = 16;

  /** name -> { group, rate, note, title } : the parts of a node updated on each poll. */
  const graphNodes = new Map();

  /** Splits a grouping into its kind and its fields, whatever form the API gives it. */
  function describeGrouping(input) {
    let kind = "";
    let fields = [];
    const g = input.grouping;
    if (typeof g === "string") {
      const m = /^\s*([A-Za-z_]+)\s*(?:\((.*)\))?\s*$/.exec(g);
      if (m) {
        kind = m[1];
        if (m[2]) fields = m[2].split(",").map((f) => f.trim()).filter(Boolean);
      } else {
        kind = g;
      }
    } else if (g && typeof g === "object") {
      kind = g.type || g.kind || Object.keys(g)[0] || "";
      const f = g.fields || (typeof g[kind] === "object" ? g[kind] : null);
      if (Array.isArray(f)) fields = f.map(String);
    }
    if (Array.isArray(input.fields)) fields = input.fields.map(String);
    return { kind: kind || "?", fields };
  }

  /** Column of each component: spouts at 0, a bolt one right of its deepest input. */
  function depths(components) {
    const byName = new Map(components.map((c) => [c.name, c]));
    const depth = new Map();
    const visiting = new Set();
    function of(name) {
      if (depth.has(name)) return depth.get(name);
      const c = byName.get(name);
      if (!c || visiting.has(name)) return 0; // a dangling or cyclic input: the server refuses these
      visiting.add(name);
      let d = 0;
      for (const input of c.inputs || []) d = Math.max(d, of(input.from) + 1);
      visiting.delete(name);
      depth.set(name, d);
      return d;
    }
    for (const c of components) of(c.name);
    return depth;
  }

  function instanceLabel(component, topology) {
    const phys = topology.physical || {};
    if (Array.isArray(phys.instances)) {
      const n = phys.instances.filter((i) => i.component === component.name).length;
      if (n > 1) return " ×" + n;
    }
    return "";
  }

  function drawGraph(topology) {
    const root = $("graph");
    while (root.firstChild) root.removeChild(root.firstChild);
    graphNodes.clear();

    const components = Array.isArray(topology.components) ? topology.components : [];
    const depth = depths(components);
    const columns = [];
    for (const c of components) {
      const d = depth.get(c.name) || 0;
      (columns[d] = columns[d] || []).push(c);
    }
    // Order each column by the mean row of its inputs (fewer crossings), stable otherwise.
    const row = new Map();
    columns.forEach((column, d) => {
      if (d > 0) {
        const key = (c) => {
          const rows = (c.inputs || []).map((i) => row.get(i.from)).filter((r) => r !== undefined);
          return rows.length ? rows.reduce((a, b) => a + b, 0) / rows.length : 0;
        };
        column.sort((a, b) => key(a) - key(b));
      }
      column.forEach((c, i) => row.set(c.name, i - (column.length - 1) / 2));
    });

    const tallest = Math.max(1, ...columns.map((c) => (c ? c.length : 0)));
    const height = PAD * 2 + tallest * NODE_H + (tallest - 1) * GAP_Y;
    const width = PAD * 2 + columns.length * NODE_W + Math.max(0, columns.length - 1) * GAP_X;
    root.setAttribute("viewBox", "0 0 " + width + " " + height);
    root.style.maxWidth = width + "px";

    const pos = new Map();
    columns.forEach((column, d) => {
      (column || []).forEach((c) => {
        const x = PAD + d * (NODE_W + GAP_X);
        const y = height / 2 + row.get(c.name) * (NODE_H + GAP_Y) - NODE_H / 2;
        pos.set(c.name, { x, y });
      });
    });

    const edges = svg("g", { class: "edges" });
    const labels = svg("g", { class: "edge-labels" });
    const defs = svg("defs");
    const marker = svg("marker", {
      id: "arrow", viewBox: "0 0 8 8", refX: 8, refY: 4,
      markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse",
    });
    marker.appendChild(svg("path", { d: "M0,0 L8,4 L0,8 z", class: "arrow" }));
    defs.appendChild(marker);
    root.appendChild(defs);
    root.appendChild(edges);
    root.appendChild(labels);

    for (const c of components) {
      const to = pos.get(c.name);
      for (const input of c.inputs || []) {
        const from = pos.get(input.from);
        if (!from || !to) continue;
        const x1 = from.x + NODE_W;
        const y1 = from.y + NODE_H / 2;
        const x2 = to.x - 2;
        const y2 = to.y + NODE_H / 2;
        const mx = (x1 + x2) / 2;
        const path = svg("path", {
          d: "M" + x1 + "," + y1 + " C" + mx + "," + y1 + " " + mx + "," + y2 + " " + x2 + "," + y2,
          class: "edge",
          "marker-end": "url(#arrow)",
        });
        const grouping = describeGrouping(input);
        path.appendChild(svg("title", {}, input.from + " → " + c.name + ": " + grouping.kind +
          (grouping.fields.length ? " (" + grouping.fields.join(", ") + ")" : "")));
        edges.appendChild(path);
        // The label sits on the curve's midpoint; fields go on a second line.
        const ly = (y1 + y2) / 2;
        const text = svg("text", { x: mx, y: ly - (grouping.fields.length ? 3 : -4), class: "edge-label" });
        text.appendChild(svg("tspan", { x: mx }, grouping.kind));
        if (grouping.fields.length) {
          text.appendChild(svg("tspan", { x: mx, dy: 13, class: "edge-fields" }, grouping.fields.join(", ")));
        }
        labels.appendChild(text);
      }
    }

    const nodes = svg("g", { class: "nodes" });
    root.appendChild(nodes);
    for (const c of components) {
      const p = pos.get(c.name);
      const group = svg("g", { class: "node " + (c.role === "spout" ? "spout" : "bolt"), transform: "translate(" + p.x + "," + p.y + ")" });
      group.appendChild(svg("rect", { width: NODE_W, height: NODE_H, rx: 6, class: "node-box" }));
      group.appendChild(svg("text", { x: 10, y: 18, class: "node-name" }, c.name));
      const typeText = svg("text", { x: 10, y: 33, class: "node-type" });
      typeText.appendChild(svg("tspan", {}, (c.type || "") + instanceLabel(c, topology)));
      const extra = svg("tspan", {}, "");
      typeText.appendChild(extra);
      group.appendChild(typeText);
      const rateText = svg("text", { x: 10, y: 49, class: "node-rate" }, "–");
      const note = svg("text", { x: NODE_W - 8, y: 49, class: "node-note" }, "");
      const title = svg("title", {}, c.name);
      group.appendChild(rateText);
      group.appendChild(note);
      group.appendChild(title);
      nodes.appendChild(group);
      graphNodes.set(c.name, { group, rate: rateText, extra, note, title, role: c.role, type: c.type, emits: c.emits });
    }
  }

  function updateGraph(stats) {
    for (const s of stats.components || []) {
      const node = graphNodes.get(s.name);
      if (!node) continue;
      // A bolt's rate is what it receives; a spout's what it emits, in its own unit (a file
      // spout emits chunks of lines), with the bytes it reads when it counts them.
      if (node.role === "spout") {
        setText(node.rate, rate(s.emitted_per_s) + (node.emits === "chunk" ? " chunks/s" : " rec/s"));
        const bytes = s.series_per_s && s.series_per_s[BYTES_READ];
        setText(node.extra, isNumber(bytes) ? " · " + byteRate(bytes) : "");
      } else {
        setText(node.rate, rate(s.received_per_s) + " rec/s");
      }
      const bp = s.backpressured === true;
      setClass(node.group, "bp", bp);
      setText(node.note, bp ? "held " + Math.round(s.backpressured_for_s || 0) + " s" : "");
      setText(node.title, s.name + " (" + (node.type || s.type || "") + ")\n" +
        "in " + count(s.received) + ", out " + count(s.emitted) + ", set aside " + count(s.dead_letters) +
        (bp ? "\nbackpressured for " + oneDecimal.format(s.backpressured_for_s || 0) + " s" : ""));
    }
  }

  // ---- the throughput chart --------------------------------------------------------------

  const CHART_H = 180;
  const CHART_LEFT = 48;
  const CHART_TOP = 8;
  const CHART_BOTTOM = 20;
  const WINDOW_S = 120;
  // The chart's user units are its CSS pixels (the viewBox follows its width), so text and
  // lines are never stretched.
  const chart = { width: 0 };

  function buildChart() {
    const root = $("throughput");
    const plotH = CHART_H - CHART_TOP - CHART_BOTTOM;
    chart.grid = [];
    chart.lines = [];
    for (let i = 0; i <= 2; i++) {
      const y = CHART_TOP + (plotH * i) / 2;
      const line = svg("line", { x1: CHART_LEFT, x2: CHART_LEFT, y1: y, y2: y, class: i === 2 ? "axis" : "grid" });
      root.appendChild(line);
      chart.lines.push(line);
      const label = svg("text", { x: CHART_LEFT - 6, y: y + 4, class: "tick" }, "");
      root.appendChild(label);
      chart.grid.push(label);
    }
    root.appendChild(svg("text", { x: CHART_LEFT, y: CHART_H - 4, class: "tick start" }, "−2 min"));
    chart.now = svg("text", { x: CHART_LEFT, y: CHART_H - 4, class: "tick" }, "now");
    root.appendChild(chart.now);
    chart.area = svg("path", { class: "area", d: "" });
    chart.line = svg("path", { class: "line", d: "" });
    root.appendChild(chart.area);
    root.appendChild(chart.line);
  }

  /** A round maximum for the y axis: 1, 2 or 5 times a power of ten. */
  function niceMax(x) {
    if (!(x > 0)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(x)));
    for (const m of [1, 2, 5, 10]) if (m * p >= x) return m * p;
    return 10 * p;
  }

  function updateChart(stats) {
    const points = (stats.throughput || [])
      .map((p) => ({ t: toSeconds(p.t), v: isNumber(p.records_per_s) ? p.records_per_s : 0 }))
      .filter((p) => p.t !== null)
      .sort((a, b) => a.t - b.t);
    const root = $("throughput");
    const width = Math.max(200, Math.round(root.clientWidth || 600));
    if (width !== chart.width) {
      chart.width = width;
      root.setAttribute("viewBox", "0 0 " + width + " " + CHART_H);
      for (const line of chart.lines) line.setAttribute("x2", width);
      chart.now.setAttribute("x", width);
    }
    const plotW = width - CHART_LEFT;
    const plotH = CHART_H - CHART_TOP - CHART_BOTTOM;
    const peak = points.reduce((m, p) => Math.max(m, p.v), 0);
    const top = niceMax(peak);
    chart.grid.forEach((label, i) => setText(label, rate((top * (2 - i)) / 2)));
    setText($("throughput-now"), points.length ? rate(points[points.length - 1].v) : "–");
    setText($("throughput-peak"), rate(peak));
    if (points.length === 0) {
      chart.line.setAttribute("d", "");
      chart.area.setAttribute("d", "");
      return;
    }
    const last = points[points.length - 1].t;
    const x = (t) => CHART_LEFT + plotW * (1 - (last - t) / WINDOW_S);
    const y = (v) => CHART_TOP + plotH * (1 - v / top);
    let d = "";
    for (const p of points) {
      if (last - p.t > WINDOW_S) continue;
      d += (d ? " L" : "M") + x(p.t).toFixed(1) + "," + y(p.v).toFixed(1);
    }
    chart.line.setAttribute("d", d);
    const first = points.find((p) => last - p.t <= WINDOW_S);
    const bottom = (CHART_TOP + plotH).toFixed(1);
    chart.area.setAttribute("d", d ? d + " L" + x(last).toFixed(1) + "," + bottom + " L" + x(first.t).toFixed(1) + "," + bottom + " Z" : "");
  }

  // ---- the component table ---------------------------------------------------------------

  /** name -> { row, cells, series: Map(series name -> value cell) } */
  const componentRows = new Map();

  function componentRow(s) {
    let r = componentRows.get(s.name);
    if (r) return r;
    const row = el("tr");
    const nameCell = el("td", "name");
    nameCell.appendChild(el("span", "strong", s.name));
    nameCell.appendChild(el("span", "muted sub", s.type || ""));
    const panics = el("span", "warn sub", "");
    nameCell.appendChild(panics);
    row.appendChild(nameCell);
    const cells = {};
    for (const key of ["received", "emitted", "dead_letters", "received_per_s", "emitted_per_s", "dead_letters_per_s", "in_flight", "activation_p99_s"]) {
      cells[key] = el("td", "num");
      row.appendChild(cells[key]);
    }
    cells.backpressure = el("td", "bp-cell");
    row.appendChild(cells.backpressure);
    const seriesCell = el("td", "series");
    const seriesList = el("dl", "series-list");
    seriesCell.appendChild(seriesList);
    row.appendChild(seriesCell);
    $("component-rows").appendChild(row);
    r = { row, cells, panics, seriesList, series: new Map() };
    componentRows.set(s.name, r);
    return r;
  }

  function updateComponents(stats) {
    const seen = new Set();
    for (const s of stats.components || []) {
      seen.add(s.name);
      const r = componentRow(s);
      // A spout receives nothing: its "in" columns are left empty rather than zero.
      const spout = s.role === "spout";
      setText(r.cells.received, spout ? "–" : count(s.received));
      setText(r.cells.emitted, count(s.emitted));
      setText(r.cells.dead_letters, count(s.dead_letters));
      setClass(r.cells.dead_letters, "warn", isNumber(s.dead_letters) && s.dead_letters > 0);
      setText(r.cells.received_per_s, spout ? "–" : rate(s.received_per_s));
      setText(r.cells.emitted_per_s, rate(s.emitted_per_s));
      setText(r.cells.dead_letters_per_s, rate(s.dead_letters_per_s));
      setText(r.cells.in_flight, count(s.in_flight));
      setText(r.cells.activation_p99_s, duration(s.activation_p99_s));
      r.cells.activation_p99_s.title = "p50 " + duration(s.activation_p50_s) + ", p90 " + duration(s.activation_p90_s) + ", p99 " + duration(s.activation_p99_s);
      // Backpressure is measured at the spouts (null for bolts).
      const bp = s.backpressured === true;
      setText(r.cells.backpressure, bp ? "held " + oneDecimal.format(s.backpressured_for_s || 0) + " s" : s.backpressured === false ? "no" : "–");
      setClass(r.row, "bp", bp);
      setText(r.panics, isNumber(s.panics) && s.panics > 0 ? count(s.panics) + " panics" : "");
      const series = s.series && typeof s.series === "object" ? s.series : {};
      const perSecond = s.series_per_s && typeof s.series_per_s === "object" ? s.series_per_s : {};
      for (const [name, value] of Object.entries(series)) {
        let cells = r.series.get(name);
        if (!cells) {
          const item = el("div");
          item.appendChild(el("dt", null, name));
          const dd = el("dd", "num");
          const total = el("span");
          const rateNote = el("span", "muted per-s");
          dd.appendChild(total);
          dd.appendChild(rateNote);
          item.appendChild(dd);
          r.seriesList.appendChild(item);
          cells = { total, rateNote };
          r.series.set(name, cells);
        }
        setText(cells.total, isNumber(value) && !Number.isInteger(value) ? oneDecimal.format(value) : count(value));
        const ps = perSecond[name];
        setText(cells.rateNote, isNumber(ps) && ps > 0 ? " " + rate(ps) + "/s" : "");
      }
    }
    for (const [name, r] of componentRows) {
      if (!seen.has(name)) {
        r.row.remove();
        componentRows.delete(name);
      }
    }
  }

  // ---- the header ------------------------------------------------------------------------

  function updateHeader(stats) {
    const state = $("run-state");
    const value = typeof stats.state === "string" ? stats.state : "unknown";
    setText(state, value);
    state.className = "state state-" + (["running", "paused", "stopping"].includes(value) ? value : "unknown");
    setText($("uptime"), uptime(stats.uptime_s));
  }

  // ---- alerts ----------------------------------------------------------------------------

  /** key -> { row, alert } for the rows on the page. */
  const alertRows = new Map();
  let selectedKey = null;

  function alertKey(a) {
    return a.id ? "id:" + a.id : ["k", a.detector, a.client, a.domain, a.ts].join("\u0000");
  }

  function severityRank(s) {
    const i = SEVERITIES.indexOf(s);
    return i < 0 ? 0 : i;
  }

  function makeAlertRow(key, a) {
    const row = el("tr", "alert-row");
    row.tabIndex = 0;
    row.dataset.key = key;
    const cells = {
      received: el("td", "time"),
      severity: el("td"),
      detector: el("td"),
      domain: el("td", "domain"),
      client: el("td", "mono"),
      score: el("td", "num"),
    };
    cells.sev = el("span", "sev");
    cells.severity.appendChild(cells.sev);
    for (const name of ["received", "severity", "detector", "domain", "client", "score"]) row.appendChild(cells[name]);
    const r = { row, cells, alert: a };
    fillAlertRow(r, a);
    return r;
  }

  function fillAlertRow(r, a) {
    r.alert = a;
    setText(r.cells.received, clockTime(a.received_at));
    r.cells.received.title = "event time " + (a.ts || "–");
    setText(r.cells.sev, a.severity || "–");
    r.cells.sev.className = "sev sev-" + (SEVERITIES.includes(a.severity) ? a.severity : "unknown");
    setText(r.cells.detector, a.detector || "–");
    setText(r.cells.domain, a.domain || "–");
    r.cells.domain.title = a.domain || "";
    setText(r.cells.client, a.client || "–");
    setText(r.cells.score, isNumber(a.score) ? a.score : "–");
  }

  function updateAlerts(answer) {
    const alerts = Array.isArray(answer.alerts) ? answer.alerts : [];
    const body = $("alert-rows");
    const keep = new Set();
    let previous = null;
    for (const a of alerts) {
      const key = alertKey(a);
      if (keep.has(key)) continue;
      keep.add(key);
      let r = alertRows.get(key);
      if (r) {
        fillAlertRow(r, a);
      } else {
        r = makeAlertRow(key, a);
        alertRows.set(key, r);
      }
      // Move a row only when it is out of place: new alerts go in on top, the rest stay.
      const want = previous ? previous.nextSibling : body.firstChild;
      if (want !== r.row) body.insertBefore(r.row, want);
      previous = r.row;
      setClass(r.row, "selected", key === selectedKey);
      if (key === selectedKey) showDetail(a);
    }
    for (const [key, r] of alertRows) {
      if (!keep.has(key)) {
        r.row.remove();
        alertRows.delete(key);
      }
    }
    $("alerts-empty").hidden = alerts.length > 0;
    const matched = isNumber(answer.matched) ? answer.matched : alerts.length;
    setText($("alerts-count"), matched > alerts.length ? "the newest " + count(alerts.length) + " of " + count(matched) : alerts.length ? count(alerts.length) : "");
    updateTop($("top-clients"), $("top-clients-empty"), answer.top_clients, "client", "f-client");
    updateTop($("top-domains"), $("top-domains-empty"), answer.top_domains, "domain", "f-domain");
  }

  function select(key) {
    const previous = selectedKey ? alertRows.get(selectedKey) : null;
    if (previous) setClass(previous.row, "selected", false);
    selectedKey = key;
    const r = alertRows.get(key);
    if (r) {
      setClass(r.row, "selected", true);
      showDetail(r.alert);
    }
  }

  function showDetail(a) {
    $("detail-none").hidden = true;
    $("detail").hidden = false;
    const sev = $("d-severity");
    setText(sev, a.severity || "–");
    sev.className = "sev sev-" + (SEVERITIES.includes(a.severity) ? a.severity : "unknown");
    setText($("d-detector"), a.detector || "–");
    setText($("d-score"), isNumber(a.score) ? a.score : "–");
    setText($("d-domain"), a.domain || "–");
    setText($("d-reason"), a.reason || "–");
    setText($("d-client"), a.client || "–");
    setText($("d-registered"), a.registered_domain || "–");
    setText($("d-ts"), a.ts || "–");
    setText($("d-received"), clockTime(a.received_at, true));
    setText($("d-id"), a.id || "–");
    const dl = $("d-evidence");
    const entries = a.evidence && typeof a.evidence === "object" && !Array.isArray(a.evidence) ? Object.entries(a.evidence) : [];
    // Rebuilt only when it differs: the same alert polled again leaves the list alone.
    const signature = JSON.stringify(entries);
    if (dl.dataset.signature !== signature) {
      while (dl.firstChild) dl.removeChild(dl.firstChild);
      for (const [k, v] of entries) {
        dl.appendChild(el("dt", null, k.replace(/_/g, " ")));
        dl.appendChild(el("dd", null, evidenceText(v)));
      }
      if (entries.length === 0) dl.appendChild(el("dd", "muted", "none"));
      dl.dataset.signature = signature;
    }
  }

  function updateTop(list, empty, items, field, filterId) {
    const rows = Array.isArray(items) ? items.slice(0, 10) : [];
    while (list.children.length > rows.length) list.lastChild.remove();
    rows.forEach((item, i) => {
      let li = list.children[i];
      if (!li) {
        li = el("li");
        const button = el("button", "link");
        button.type = "button";
        const name = el("span", "top-name");
        const n = el("span", "top-count num");
        button.appendChild(name);
        button.appendChild(n);
        button.addEventListener("click", () => {
          const input = $(filterId);
          input.value = button.dataset.value || "";
          filtersChanged(true);
        });
        li.appendChild(button);
        list.appendChild(li);
      }
      const button = li.firstChild;
      // The entry's name is `client` / `domain` (API.md) or `name`.
      const raw = item[field] !== undefined ? item[field] : item.name;
      const value = raw === null || raw === undefined ? "" : String(raw);
      button.dataset.value = value;
      button.title = (value || "(no client)") + ": show only these alerts";
      setText(button.firstChild, value || "(no client)");
      setText(button.lastChild, count(item.alerts));
    });
    empty.hidden = rows.length > 0;
  }

  // ---- filters ---------------------------------------------------------------------------

  const FILTERS = [["detector", "f-detector"], ["severity", "f-severity"], ["client", "f-client"], ["domain", "f-domain"], ["since", "f-since"]];

  function alertsQuery() {
    const q = new URLSearchParams();
    for (const [param, id] of FILTERS) {
      const value = $(id).value.trim();
      if (value) q.set(param, value);
    }
    q.set("limit", String(ALERT_LIMIT));
    return "api/alerts?" + q.toString();
  }

  let filterTimer = null;

  function filtersChanged(now) {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(() => pollAlerts(true), now ? 0 : 300);
  }

  // ---- polling ---------------------------------------------------------------------------

  let topologyLoaded = false;
  let statsTimer = null;
  let statsBusy = false;
  let alertsTimer = null;
  let alertsGeneration = 0;

  async function loadTopology() {
    try {
      const topology = await api("api/topology");
      topologyLoaded = true;
      setText($("topology-name"), topology.name || "");
      document.title = "Antimony · " + (topology.name || "topology");
      drawGraph(topology);
      reportOk();
    } catch (e) {
      reportError(e);
      setTimeout(loadTopology, TOPOLOGY_RETRY_MS);
    }
  }

  async function pollStats() {
    clearTimeout(statsTimer);
    // One poll at a time: the one on its way schedules the next.
    if (document.hidden || statsBusy) return;
    statsBusy = true;
    try {
      const stats = await api("api/stats");
      updateHeader(stats);
      if (topologyLoaded) updateGraph(stats);
      updateChart(stats);
      updateComponents(stats);
      reportOk();
    } catch (e) {
      reportError(e);
    }
    statsBusy = false;
    statsTimer = setTimeout(pollStats, STATS_EVERY_MS);
  }

  async function pollAlerts(restart) {
    clearTimeout(alertsTimer);
    if (document.hidden) return;
    // A filter change while a poll is on its way: only the newest answer is shown.
    const generation = restart ? ++alertsGeneration : alertsGeneration;
    try {
      const answer = await api(alertsQuery());
      if (generation !== alertsGeneration) return;
      updateAlerts(answer);
      reportOk();
    } catch (e) {
      if (generation !== alertsGeneration) return;
      reportError(e);
    }
    alertsTimer = setTimeout(pollAlerts, ALERTS_EVERY_MS);
  }

  function start() {
    buildChart();
    $("alert-rows").addEventListener("click", (event) => {
      const row = event.target.closest("tr.alert-row");
      if (row) select(row.dataset.key);
    });
    $("alert-rows").addEventListener("keydown", (event) => {
      if (event.key !== "Enter" && event.key !== " ") return;
      const row = event.target.closest("tr.alert-row");
      if (row) {
        event.preventDefault();
        select(row.dataset.key);
      }
    });
    const form = $("filters");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      filtersChanged(true);
    });
    form.addEventListener("input", () => filtersChanged(false));
    form.addEventListener("change", () => filtersChanged(true));
    form.addEventListener("reset", () => setTimeout(() => filtersChanged(true), 0));
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden) {
        pollStats();
        pollAlerts(true);
      }
    });
    loadTopology();
    pollStats();
    pollAlerts(true);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
