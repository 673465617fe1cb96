/* specweave-ml views: the runs table, curves, parallel coordinates, scatter, compare and one run.
 *
 * One script for the three ways the views are served (body class and #sw-config say which):
 *   live   - `sw-ml ui`: data from the server's API; changes pushed as server-sent events
 *   report - `sw-ml report`: the data inside the page (#sw-data), no network at all
 *   app    - the MCP App: the data from the tool result the host passes (MCP Apps, postMessage)
 * Charts are BokehJS (from the bokeh Python package). Smoothing is `ema`, the same debiased
 * exponential moving average as skill/views/curves.py:ema (TensorBoard's).
 */
(function () {
  "use strict";
  const CFG = JSON.parse(document.getElementById("sw-config").textContent);
  const MODE = CFG.mode;
  const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#393b79", "#e6550d", "#31a354", "#756bb1", "#636363", "#ad494a", "#3182bd",
    "#8ca252", "#bd9e39", "#a55194"];
  const RAMP = ["#440154", "#482878", "#3e4a89", "#31688e", "#26828e", "#1f9e89", "#35b779", "#6ece58",
    "#b5de2b", "#fde725"];
  const S = {
    table: null, rows: [], filter: "", sortKey: null, sortDir: -1, selection: new Set(), auto: true,
    metric: null, x: "step", smoothing: 0, logY: false, tab: "curves", curves: new Map(), colors: new Map(),
    bundle: null, run: null, where: "", live: false, scatterX: null, scatterY: null, logAxes: true, groupBy: "",
  };
  window.swState = S;
  window.swCharts = {};

  // -- small helpers ----------------------------------------------------------------------------
  const $ = (sel, root) => (root || document).querySelector(sel);
  function el(tag, attrs, ...kids) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const kid of kids.flat()) {
      if (kid === null || kid === undefined || kid === false) continue;
      node.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
    }
    return node;
  }
  function num(v) {
    if (v === null || v === undefined) return "–";
    if (typeof v === "string") return v;
    if (typeof v !== "number") return JSON.stringify(v);
    if (Number.isInteger(v)) return String(v);
    const a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(3).replace(/\.?0+e/, "e");
    return String(Number(v.toPrecision(5)));
  }
  function val(v) { return typeof v === "object" && v !== null ? JSON.stringify(v) : v === undefined ? "–" : String(v); }
  /** A value for a cell: numbers rounded (num), the rest as text; the full value goes in the title. */
  function cell(v) { return typeof v === "number" ? num(v) : val(v); }
  /** A time in the browser's zone, with seconds: 2026-12-04 11:05:09. */
  function when(iso) {
    if (!iso) return null;
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return String(iso);
    const p = (n) => String(n).padStart(2, "0");
    return d.getFullYear() + "-" + p(d.getMonth() + 1) + "-" + p(d.getDate()) + " " + p(d.getHours()) + ":" + p(d.getMinutes()) + ":" + p(d.getSeconds());
  }
  /** skill/analysis/importance.py:log_spaced, for metrics (params come marked by the server). */
  function logSpaced(values) {
    const xs = values.filter((v) => v !== null && v !== undefined);
    if (!xs.length || xs.some((v) => !finite(v) || v <= 0)) return false;
    const d = [...new Set(xs)];
    return d.length >= 3 && Math.max(...d) / Math.min(...d) >= 100;
  }
  function dur(s) {
    if (s === null || s === undefined) return "–";
    if (s < 0.001) return Math.round(s * 1e6) + "µs";
    if (s < 1) return Math.round(s * 1000) + "ms";
    if (s < 10) return s.toFixed(1) + "s";
    if (s < 90) return Math.round(s) + "s";
    if (s < 5400) return Math.round(s / 60) + "m";
    return (s / 3600).toFixed(1) + "h";
  }
  function finite(v) { return typeof v === "number" && Number.isFinite(v); }

  /** TensorBoard's smoothing, as skill/views/curves.py:ema: debiased EMA, gaps stay gaps. */
  function ema(values, weight) {
    const out = new Array(values.length);
    let last = 0, count = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v === null || !Number.isFinite(v)) { out[i] = NaN; continue; }
      last = last * weight + (1 - weight) * v;
      count += 1;
      const debias = 1 - Math.pow(weight, count);
      out[i] = debias > 0 ? last / debias : v;
    }
    return out;
  }
  window.swEma = ema;

  // -- data: one interface over the server, the embedded bundle, or the MCP App host --------------
  function qs(params) {
    const u = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== "") u.set(k, v);
    return u.toString();
  }
  // The live page's token (no cookie: see dashboard/server.py): a header on every fetch, a query
  // where a header cannot go (the event stream, images, downloads).
  const TOKEN = CFG.token || new URLSearchParams(location.search).get("token") || "";
  function withToken(params) { return TOKEN ? { ...params, token: TOKEN } : params; }
  async function getJSON(path, params) {
    const r = await fetch(path + "?" + qs(params || {}), { credentials: "omit",
      headers: TOKEN ? { Authorization: "Bearer " + TOKEN } : {} });
    const body = await r.json().catch(() => ({ error: r.status + " " + r.statusText }));
    if (!r.ok) throw new Error(body.error || r.statusText);
    return body;
  }
  const live = {
    table: (where) => getJSON("api/table", { increments: (CFG.increments || []).join(","), where }),
    curves: (keys, metric) => getJSON("api/curves", { runs: keys.join(","), metric, max_points: 1000 }),
    run: (key) => getJSON("api/run", { ref: key }),
    parallel: (keys, metric) => getJSON("api/parallel", { runs: keys.join(","), metric,
      increments: S.table ? S.table.increments.join(",") : "" }),
    compare: (keys) => getJSON("api/compare", { runs: keys.join(",") }),
    image: (key, name) => "api/artifact?" + qs(withToken({ ref: key, name })),
    download: (key, name) => "api/artifact?" + qs(withToken({ ref: key, name, download: "1" })),
  };
  const bundled = {
    table: async () => S.bundle.table,
    curves: async (keys, metric) => {
      const set = S.bundle.curves[metric] || { metric, curves: [], missing: [] };
      const want = new Set(keys);
      return { metric, curves: set.curves.filter((c) => want.has(c.run)), missing: [] };
    },
    run: async (key) => S.bundle.runs[key],
    parallel: async (keys) => subsetParallel(S.bundle.parallel, keys),
    compare: async (keys) => {
      const want = [...keys].sort().join("|");
      return (S.bundle.compare || []).filter((c) => [...c.runs].sort().join("|") === want);
    },
    image: (key, name) => (S.bundle.images || {})[key + "/" + name] || null,
    download: (key, name) => (S.bundle.images || {})[key + "/" + name] || null,
  };
  function subsetParallel(view, keys) {
    if (!view) return null;
    const want = new Set(keys);
    const idx = view.runs.map((k, i) => (want.has(k) ? i : -1)).filter((i) => i >= 0);
    return { ...view, runs: idx.map((i) => view.runs[i]), labels: idx.map((i) => view.labels[i]),
      axes: view.axes.map((a) => ({ ...a, values: idx.map((i) => a.values[i]) })) };
  }
  const API = MODE === "live" ? live : bundled;

  // -- layout ------------------------------------------------------------------------------------
  function layout() {
    const filterHint = MODE === "report" ? "filter: text in id, name, tags, status"
      : "filter, e.g. metrics.auc > 0.8 and params.max_depth <= 6";
    document.body.append(
      el("header", { class: "bar" },
        el("div", { class: "brand" }, el("span", { class: "logo" }, "◆"), " specweave-ml"),
        el("div", { class: "title", id: "title" }, CFG.project || ""),
        el("div", { class: "spacer" }),
        MODE === "live" ? el("select", { id: "increments", title: "increments shown", onchange: (e) => chooseIncrements(e.target.value) }) : null,
        el("span", { class: "pill", id: "live" }, MODE === "live" ? "connecting…" : MODE === "report" ? "report" : "app")),
      el("main", {},
        el("section", { class: "card runs" },
          el("div", { class: "card-head" },
            el("h2", {}, "Runs"), el("span", { class: "muted", id: "count" }),
            el("div", { class: "spacer" }),
            el("input", { id: "filter", type: "search", placeholder: filterHint, spellcheck: "false",
              onkeydown: (e) => { if (e.key === "Enter") applyFilter(); } }),
            el("button", { onclick: applyFilter }, "Filter"),
            el("label", { class: "muted" }, "Group ", el("select", { id: "group-by", title: "runs with the same value(s) drawn as one line with a mean ± std band, and summed up in a table",
              onchange: (e) => { S.groupBy = e.target.value; renderTable(); if (S.tab === "curves") drawCurves(); } }))),
          el("div", { class: "error", id: "filter-error" }),
          el("div", { class: "table-wrap groups-wrap" }, el("table", { id: "groups", class: "groups" })),
          el("div", { class: "table-wrap" }, el("table", { id: "runs" }))),
        el("section", { class: "card views" },
          el("nav", { class: "tabs", id: "tabs" },
            ...["curves", "parallel", "scatter", "compare", "run"].map((t) =>
              el("button", { "data-tab": t, onclick: () => showTab(t) }, t[0].toUpperCase() + t.slice(1)))),
          el("div", { id: "tab-curves", class: "tab" },
            el("div", { class: "controls" },
              el("label", {}, "Metric ", el("select", { id: "metric", onchange: (e) => { S.metric = e.target.value; loadCurves(); } })),
              el("label", {}, "X ", el("select", { id: "xaxis", onchange: (e) => { S.x = e.target.value; drawCurves(); } },
                el("option", { value: "step" }, "step"), el("option", { value: "time" }, "wall time (s)"))),
              el("label", { class: "smooth" }, "Smoothing ",
                el("input", { id: "smoothing", type: "range", min: "0", max: "0.99", step: "0.01", value: "0",
                  oninput: (e) => setSmoothing(Number(e.target.value)) }),
                el("output", { id: "smoothing-value" }, "0")),
              el("label", {}, el("input", { id: "logy", type: "checkbox", onchange: (e) => { S.logY = e.target.checked; drawCurves(); } }), " log scale")),
            el("div", { id: "curves-chart", class: "chart" }),
            el("div", { id: "legend", class: "legend" })),
          el("div", { id: "tab-parallel", class: "tab" },
            el("div", { class: "controls" }, el("span", { class: "muted" }, "Each line is a run, across its params to the primary metric (colour)."),
              el("label", {}, el("input", { class: "logaxes", type: "checkbox", checked: true, onchange: (e) => setLogAxes(e.target.checked) }), " log axes for log-spaced params")),
            el("div", { id: "parallel-chart", class: "chart" }),
            el("div", { id: "parallel-legend", class: "ramp-legend" }),
            el("h3", {}, "Parameter importance"), el("div", { id: "importance" })),
          el("div", { id: "tab-scatter", class: "tab" },
            el("div", { class: "controls" },
              el("label", {}, "X ", el("select", { id: "scatter-x", onchange: (e) => { S.scatterX = e.target.value; drawScatter(); } })),
              el("label", {}, "Y ", el("select", { id: "scatter-y", onchange: (e) => { S.scatterY = e.target.value; drawScatter(); } })),
              el("label", {}, el("input", { class: "logaxes", type: "checkbox", checked: true, onchange: (e) => setLogAxes(e.target.checked) }), " log axes for log-spaced values")),
            el("div", { id: "scatter-chart", class: "chart" })),
          el("div", { id: "tab-compare", class: "tab" }, el("div", { id: "compare" })),
          el("div", { id: "tab-run", class: "tab" }, el("div", { id: "run" }, el("p", { class: "muted" }, "Click a run's name to see it in full."))))),
    );
    showTab("curves");
  }

  function showTab(name) {
    S.tab = name;
    for (const b of document.querySelectorAll("#tabs button")) b.classList.toggle("active", b.dataset.tab === name);
    for (const t of document.querySelectorAll(".tab")) t.style.display = t.id === "tab-" + name ? "" : "none";
    if (name === "parallel") drawParallel();
    if (name === "scatter") drawScatter();
    if (name === "compare") drawCompare();
    if (name === "curves") drawCurves();
  }

  // -- runs table --------------------------------------------------------------------------------
  function colorOf(key) {
    if (!S.colors.has(key)) S.colors.set(key, PALETTE[S.colors.size % PALETTE.length]);
    return S.colors.get(key);
  }
  function visibleRows() {
    let rows = S.rows;
    if (MODE !== "live" && S.filter) {
      const f = S.filter.toLowerCase();
      rows = rows.filter((r) => [r.ref, r.name, r.status, ...(r.tags || [])].join(" ").toLowerCase().includes(f));
    }
    if (S.sortKey) {
      const key = S.sortKey, dir = S.sortDir;
      const get = (r) => key === "run" ? r.ref : key === "status" ? r.status : key === "duration" ? r.duration_s
        : key.startsWith("p:") ? r.params[key.slice(2)] : r.metrics[key];
      rows = [...rows].sort((a, b) => {
        const x = get(a), y = get(b);
        if (x === undefined || x === null) return 1;
        if (y === undefined || y === null) return -1;
        return (x < y ? -1 : x > y ? 1 : 0) * dir;
      });
    } else if (S.table) {
      // by default: the selected run, then the best, then by the primary metric the goal's way, then the rest
      const sign = S.table.goal === "min" ? 1 : -1;
      const first = (r) => (r.selected ? 0 : r.best ? 1 : finite(r.primary) ? 2 : 3);
      rows = [...rows].sort((a, b) => first(a) - first(b) || (first(a) === 2 ? sign * (a.primary - b.primary) : 0));
    }
    return rows;
  }

  // -- grouping: runs with the same params (all but the seeds, or one param) as one ----------------
  const ALL_BUT_SEED = "*all-but-seed";
  function groupParams() {
    const t = S.table;
    if (!t || !S.groupBy) return [];
    return S.groupBy === ALL_BUT_SEED ? t.param_columns.filter((p) => !(t.seed_params || []).includes(p)) : [S.groupBy];
  }
  function groupOf(row) {
    const names = groupParams();
    return names.map((p) => p + "=" + cell(row.params[p])).join(" ") || "(no params)";
  }
  function groupsOf(rows) {
    const out = new Map();
    for (const r of rows) { const g = groupOf(r); if (!out.has(g)) out.set(g, []); out.get(g).push(r); }
    return out;
  }
  function meanStd(xs) {
    const v = xs.filter(finite);
    if (!v.length) return null;
    const m = v.reduce((a, b) => a + b, 0) / v.length;
    const sd = v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - m) * (b - m), 0) / (v.length - 1)) : 0;
    return { mean: m, std: sd, n: v.length };
  }
  function fillGroupSelect() {
    const select = $("#group-by");
    const t = S.table;
    select.textContent = "";
    select.append(el("option", { value: "" }, "none"));
    if (t && (t.seed_params || []).length) select.append(el("option", { value: ALL_BUT_SEED }, "all params but " + t.seed_params.join(", ")));
    for (const p of (t ? t.param_columns : [])) select.append(el("option", { value: p }, p));
    if (![...select.options].some((o) => o.value === S.groupBy)) S.groupBy = "";
    select.value = S.groupBy;
  }
  function renderGroups(rows, metrics) {
    const table = $("#groups");
    table.textContent = "";
    table.parentElement.style.display = S.groupBy ? "" : "none";
    if (!S.groupBy) return;
    const groups = groupsOf(rows);
    table.append(el("thead", {}, el("tr", {}, el("th", {}, "Group (" + groups.size + ")"), el("th", { class: "num" }, "runs"),
      ...metrics.map((m) => el("th", { class: "num", title: "metric " + m + ": mean ± sample std over the group's runs" }, m + " (mean ± std)")))));
    const sign = S.table.goal === "min" ? 1 : -1;
    const prim = S.table.primary_metric;
    const ordered = [...groups.entries()].map(([g, rs]) => [g, rs, meanStd(rs.map((r) => r.metrics[prim]))])
      .sort((a, b) => (a[2] ? 0 : 1) - (b[2] ? 0 : 1) || (a[2] && b[2] ? sign * (a[2].mean - b[2].mean) : 0));
    table.append(el("tbody", {}, ...ordered.map(([g, rs]) => el("tr", { "data-group": g }, el("td", { class: "param" }, g), el("td", { class: "num" }, rs.length),
      ...metrics.map((m) => { const st = meanStd(rs.map((r) => r.metrics[m]));
        return el("td", { class: "num" + (m === prim ? " primary" : ""), title: st ? st.mean + " ± " + st.std + " (" + st.n + " runs)" : "" },
          st ? num(st.mean) + (st.n > 1 ? " ± " + num(st.std) : "") : "–"); })))));
  }
  function renderTable() {
    const t = S.table;
    const table = $("#runs");
    table.textContent = "";
    if (!t) return;
    const metrics = t.columns.slice(0, 6);
    const params = t.param_columns.slice(0, 6);
    const sortBtn = (key, label, cls, title) => el("th", { class: cls, title, onclick: () => {
      S.sortDir = S.sortKey === key ? -S.sortDir : -1; S.sortKey = key; renderTable(); } },
      label, S.sortKey === key ? (S.sortDir > 0 ? " ▲" : " ▼") : "");
    const rows = visibleRows();
    renderGroups(rows, metrics);
    const all = rows.length > 0 && rows.every((r) => S.selection.has(r.key));
    const hidden = (t.columns.length - metrics.length) + (t.param_columns.length - params.length);
    // two header rows: which columns are metrics and which are params (a param and a metric may share a name)
    table.append(el("thead", {},
      el("tr", { class: "groups-head" }, el("th", { class: "check" }), el("th", { class: "run" }), el("th", {}),
        metrics.length ? el("th", { colspan: metrics.length, class: "group metrics" }, "Metrics") : null,
        params.length ? el("th", { colspan: params.length, class: "group params" }, "Params") : null,
        el("th", { colspan: 2, class: "muted small" }, hidden ? hidden + " more columns in the run page and exports" : "")),
      el("tr", {},
      el("th", { class: "check" }, el("input", { type: "checkbox", title: "select all shown", checked: all,
        onchange: (e) => { for (const r of rows) e.target.checked ? S.selection.add(r.key) : S.selection.delete(r.key);
          S.auto = false; selectionChanged(); } })),
      sortBtn("run", "Run", "run"), sortBtn("status", "Status"),
      ...metrics.map((m) => sortBtn(m, m, m === t.primary_metric ? "num metric primary" : "num metric", "metric " + m + (m === t.primary_metric ? " (primary: " + (t.goal === "min" ? "lower" : "higher") + " is better)" : ""))),
      ...params.map((p) => sortBtn("p:" + p, p, "param", "param " + p)),
      sortBtn("duration", "Time", "num"), el("th", {}, "Tags"))));
    const body = el("tbody");
    for (const r of rows.slice(0, 2000)) {
      const on = S.selection.has(r.key);
      body.append(el("tr", { class: (on ? "on " : "") + (r.selected ? "chosen" : ""), "data-key": r.key },
        el("td", { class: "check" },
          el("input", { type: "checkbox", checked: on, onchange: (e) => {
            e.target.checked ? S.selection.add(r.key) : S.selection.delete(r.key); S.auto = false; selectionChanged(); } }),
          el("span", { class: "swatch", style: on ? "background:" + colorOf(r.key) : "" })),
        el("td", { class: "run", title: r.ref + (r.name && !r.ref.includes(r.name) ? " (" + r.name + ")" : "") },
          el("a", { href: "#", onclick: (e) => { e.preventDefault(); openRun(r.key); } }, r.ref),
          r.selected ? el("span", { class: "mark chosen", title: "selected by a decision" }, "★ selected") : null,
          r.best ? el("span", { class: "mark best", title: "best by " + t.primary_metric }, "best") : null,
          r.parent ? el("span", { class: "muted small" }, " ↳ " + r.parent) : null),
        el("td", {}, el("span", { class: "status " + r.status }, r.status), r.damaged ? el("span", { class: "mark bad" }, "damaged") : null),
        ...metrics.map((m) => el("td", { class: m === t.primary_metric ? "num primary" : "num", title: val(r.metrics[m]) }, num(r.metrics[m]))),
        ...params.map((p) => el("td", { class: "param", title: val(r.params[p]) }, cell(r.params[p]))),
        el("td", { class: "num muted", title: r.started ? "started " + when(r.started) : "" }, dur(r.duration_s)),
        el("td", { class: "tags" }, ...(r.tags || []).map((g) => el("span", { class: "tag" }, g)))));
    }
    table.append(body);
    $("#count").textContent = rows.length + " of " + S.rows.length + " runs" + (S.selection.size ? " · " + S.selection.size + " selected" : "")
      + (t.decisions && t.decisions.length ? " · decision: " + t.decisions[t.decisions.length - 1].selected : "");
  }

  async function applyFilter() {
    const text = $("#filter").value.trim();
    $("#filter-error").textContent = "";
    if (MODE === "live") {
      try { setTable(await live.table(text)); S.where = text; } catch (e) { $("#filter-error").textContent = e.message; }
    } else if (MODE === "app" && App.ready) {
      try { await App.callTool({ ...App.args, where: text || undefined }); } catch (e) { $("#filter-error").textContent = e.message; }
    } else {
      S.filter = text; renderTable(); selectionChanged();
    }
  }

  function setTable(table) {
    performance.mark("sw-table");
    const first = S.table === null;
    S.table = table;
    S.rows = table.rows;
    const keys = new Set(S.rows.map((r) => r.key));
    for (const k of [...S.selection]) if (!keys.has(k)) S.selection.delete(k);
    if (first || S.selection.size === 0) {
      const first = CFG.select === "all" ? S.rows.length : Number(CFG.select) || 0;  // ?select=all or ?select=N
      const initial = first > 0 ? S.rows.slice(0, first).map((r) => r.key)
        : S.bundle && S.bundle.selection && S.bundle.selection.length ? S.bundle.selection : defaultSelection();
      for (const k of initial) if (keys.has(k)) S.selection.add(k);
    }
    const select = $("#metric");
    select.textContent = "";
    const metrics = table.curve_metrics.length ? table.curve_metrics : table.columns;
    for (const m of metrics) select.append(el("option", { value: m }, m));
    if (!S.metric || !metrics.includes(S.metric)) {
      S.metric = (S.bundle && S.bundle.metric) || (metrics.includes(table.primary_metric) && hasHistory(table.primary_metric)
        ? table.primary_metric : metrics.find(hasHistory) || metrics[0] || null);
    }
    select.value = S.metric || "";
    $("#title").textContent = (CFG.project ? CFG.project + " · " : "") + table.increments.join(", ");
    fillGroupSelect();
    renderTable();
    selectionChanged();
  }
  function hasHistory(m) { return S.bundle ? !!S.bundle.curves[m] : (S.table.history_metrics || []).includes(m); }
  function defaultSelection() {
    const goal = S.table.goal;
    const ranked = S.rows.filter((r) => finite(r.primary)).sort((a, b) => goal === "min" ? a.primary - b.primary : b.primary - a.primary);
    return [...ranked, ...S.rows.filter((r) => !finite(r.primary))].slice(0, 10).map((r) => r.key);
  }

  function selectionChanged() {
    renderTable();
    if (S.tab === "curves") loadCurves();
    else showTab(S.tab);
  }

  // -- curves ------------------------------------------------------------------------------------
  function selectedKeys() { const shown = new Set(visibleRows().map((r) => r.key)); return [...S.selection].filter((k) => shown.has(k)); }
  let curvesToken = 0;
  async function loadCurves() {
    const metric = S.metric;
    const keys = selectedKeys();
    const mine = ++curvesToken;
    const missing = keys.filter((k) => !(S.curves.get(metric) || new Map()).has(k));
    if (metric && missing.length) {
      try {
        const set = await API.curves(missing, metric);
        performance.mark("sw-curves");
        const store = S.curves.get(metric) || new Map();
        for (const c of set.curves) store.set(c.run, { steps: c.steps, t: c.t, values: c.values.map((v) => (v === null ? NaN : v)),
          label: c.label, total: c.total_points, downsampled: c.downsampled });
        for (const k of missing) if (!store.has(k)) store.set(k, null);
        S.curves.set(metric, store);
      } catch (e) { $("#curves-chart").textContent = e.message; return; }
    }
    if (mine === curvesToken) drawCurves();
  }

  function resetChart(id) {
    const old = window.swCharts[id];
    if (old && old.view) old.view.remove();
    const box = document.getElementById(id + "-chart");
    box.textContent = "";
    return box;
  }

  async function drawCurves() {
    if (S.tab !== "curves") return;
    const box = resetChart("curves");
    const legend = $("#legend");
    legend.textContent = "";
    const metric = S.metric;
    const store = S.curves.get(metric) || new Map();
    const keys = selectedKeys().filter((k) => store.get(k));
    if (!metric || !keys.length) {
      box.append(el("p", { class: "empty" }, !metric ? "No metric has points yet." : "Select runs in the table to draw their " + metric + "."));
      window.swCharts.curves = { figure: null, view: null, series: 0 };
      return;
    }
    const started = performance.now();
    const fig = Bokeh.Plotting.figure({
      height: 380, sizing_mode: "stretch_width", y_axis_type: S.logY ? "log" : "linear",
      tools: "pan,wheel_zoom,box_zoom,reset,save", active_scroll: "wheel_zoom", toolbar_location: "above",
      x_axis_label: S.x === "step" ? "step" : "wall time (s)", y_axis_label: metric, output_backend: "canvas",
      background_fill_color: null, border_fill_color: null, outline_line_color: null,
    });
    fig.xgrid.grid_line_color = "#eef0f3"; fig.ygrid.grid_line_color = "#eef0f3";
    const smoothed = [];
    if (S.groupBy) {
      const byKey = new Map(S.rows.map((r) => [r.key, r]));
      const groups = groupsOf(keys.map((k) => byKey.get(k)).filter(Boolean));
      let i = 0;
      for (const [label, rows] of groups) {
        const band = groupBand(rows.map((r) => store.get(r.key)));
        const color = PALETTE[i++ % PALETTE.length];
        const src = new Bokeh.ColumnDataSource({ data: { x: band.x, y: band.mean, lo: band.lo, hi: band.hi, n: band.n, group: new Array(band.x.length).fill(label) } });
        if (rows.length > 1) fig.varea({ field: "x" }, { field: "lo" }, { field: "hi" }, { source: src, fill_color: color, fill_alpha: 0.18, name: "band:" + label });
        smoothed.push(fig.line({ field: "x" }, { field: "y" }, { source: src, line_color: color, line_width: 1.9, name: "mean:" + label }));
        legend.append(el("span", { class: "item", title: rows.map((r) => r.ref).join("\n") },
          el("span", { class: "swatch", style: "background:" + color }), label + " (" + rows.length + " run" + (rows.length > 1 ? "s, mean ± std" : "") + ")"));
      }
      fig.add_tools(new Bokeh.HoverTool({ renderers: smoothed, line_policy: "nearest",
        tooltips: [["group", "@group"], ["x", "@x"], ["mean", "@y{0.0[000]}"], ["runs", "@n"]] }));
      const view = await Bokeh.Plotting.show(fig, box);
      window.swCharts.curves = { figure: fig, view, series: 0, groups: groups.size, metric, drawnMs: performance.now() - started };
      document.body.dataset.curves = String(groups.size);
      return;
    }
    for (const key of keys) {
      const c = store.get(key);
      const x = S.x === "step" ? c.steps : c.t;
      const y = S.smoothing > 0 ? ema(c.values, S.smoothing) : c.values.slice();
      const n = x.length;
      const src = new Bokeh.ColumnDataSource({ data: { x: x.slice(), y, raw: c.values.slice(), step: c.steps.slice(),
        run: new Array(n).fill(c.label) } });
      const color = colorOf(key);
      if (S.smoothing > 0) fig.line({ field: "x" }, { field: "raw" }, { source: src, line_color: color, line_alpha: 0.18, line_width: 1, name: "raw:" + key });
      smoothed.push(fig.line({ field: "x" }, { field: "y" }, { source: src, line_color: color, line_width: 1.7, name: "curve:" + key }));
      legend.append(el("span", { class: "item", title: c.total + " points" + (c.downsampled ? " (downsampled on the server)" : "") },
        el("span", { class: "swatch", style: "background:" + color }), c.label));
    }
    fig.add_tools(new Bokeh.HoverTool({ renderers: smoothed, line_policy: "nearest",
      tooltips: [["run", "@run"], ["step", "@step"], ["value", "@raw{0.0[000]}"]].concat(S.smoothing > 0 ? [["smoothed", "@y{0.0[000]}"]] : []) }));
    const view = await Bokeh.Plotting.show(fig, box);
    window.swCharts.curves = { figure: fig, view, series: smoothed.length, metric, drawnMs: performance.now() - started };
    document.body.dataset.curves = String(smoothed.length);
  }

  /** The mean ± std of a group's curves at each x any of them has (each run's line read between its
   *  points linearly; a run counts only within its own range), smoothed first when smoothing is on. */
  function groupBand(curves) {
    const lines = curves.filter(Boolean).map((c) => {
      const xs = S.x === "step" ? c.steps : c.t;
      const ys = S.smoothing > 0 ? ema(c.values, S.smoothing) : c.values;
      return { xs, ys };
    });
    let grid = [...new Set(lines.flatMap((l) => l.xs))].sort((a, b) => a - b);
    if (grid.length > 1500) { const stride = grid.length / 1500; grid = Array.from({ length: 1500 }, (_, i) => grid[Math.floor(i * stride)]); }
    const at = (l, x) => {
      const xs = l.xs;
      if (!xs.length || x < xs[0] || x > xs[xs.length - 1]) return NaN;
      let lo = 0, hi = xs.length - 1;
      while (hi - lo > 1) { const mid = (lo + hi) >> 1; if (xs[mid] <= x) lo = mid; else hi = mid; }
      if (xs[lo] === x) return l.ys[lo];
      if (xs[hi] === x) return l.ys[hi];
      const f = (x - xs[lo]) / (xs[hi] - xs[lo]);
      return l.ys[lo] + f * (l.ys[hi] - l.ys[lo]);
    };
    const out = { x: [], mean: [], lo: [], hi: [], n: [] };
    for (const x of grid) {
      const st = meanStd(lines.map((l) => at(l, x)));
      if (!st) continue;
      out.x.push(x); out.mean.push(st.mean); out.lo.push(st.mean - st.std); out.hi.push(st.mean + st.std); out.n.push(st.n);
    }
    return out;
  }
  window.swGroupBand = groupBand;

  function setLogAxes(on) {
    S.logAxes = on;
    for (const box of document.querySelectorAll("input.logaxes")) box.checked = on;
    if (S.tab === "parallel") drawParallel();
    if (S.tab === "scatter") drawScatter();
  }

  function setSmoothing(w) {
    S.smoothing = w;
    $("#smoothing-value").textContent = w.toFixed(2);
    const chart = window.swCharts.curves;
    if (!chart || !chart.figure) return;
    if (S.groupBy) { drawCurves(); return; }
    const hadRaw = chart.figure.renderers.some((r) => r.name && r.name.startsWith("raw:"));
    if ((w > 0) !== hadRaw) { drawCurves(); return; }  // the faint raw lines come and go with smoothing
    for (const r of chart.figure.renderers) {
      if (!r.name || !r.name.startsWith("curve:")) continue;
      const src = r.data_source;
      src.data = { ...src.data, y: w > 0 ? ema(src.data.raw, w) : Array.from(src.data.raw) };
    }
  }

  /** Points pushed by the server for a run: appended to its curve, the chart updated in place. */
  function appendPoints(runKey, points) {
    for (const [metric, pts] of Object.entries(points)) {
      const store = S.curves.get(metric);
      if (!store || !store.has(runKey) || !store.get(runKey)) {
        if (metric === S.metric && S.selection.has(runKey) && store) { store.delete(runKey); scheduleCurves(); }
        continue;
      }
      const c = store.get(runKey);
      const last = c.steps.length ? c.steps[c.steps.length - 1] : -Infinity;
      let added = 0;
      for (const [step, t, v] of pts) {
        if (step <= last && c.steps.length) continue;  // already drawn (the fetch and the push overlap)
        c.steps.push(step); c.t.push(t); c.values.push(v === null ? NaN : v); c.total += 1; added += 1;
      }
      if (!added || metric !== S.metric) continue;
      if (S.groupBy) { scheduleCurves(); continue; }
      const chart = window.swCharts.curves;
      const r = chart && chart.figure && chart.figure.renderers.find((x) => x.name === "curve:" + runKey);
      if (!r) { scheduleCurves(); continue; }
      const x = S.x === "step" ? c.steps : c.t;
      r.data_source.data = { x: x.slice(), y: S.smoothing > 0 ? ema(c.values, S.smoothing) : c.values.slice(),
        raw: c.values.slice(), step: c.steps.slice(), run: new Array(x.length).fill(c.label) };
    }
  }
  let curvesTimer = null;
  function scheduleCurves() { clearTimeout(curvesTimer); curvesTimer = setTimeout(loadCurves, 300); }

  // -- parallel coordinates and importance ---------------------------------------------------------
  function rampColor(f) { return RAMP[Math.max(0, Math.min(RAMP.length - 1, Math.round(f * (RAMP.length - 1))))]; }
  async function drawParallel() {
    const box = resetChart("parallel");
    const keys = visibleRows().map((r) => r.key);
    if (!keys.length) { box.append(el("p", { class: "empty" }, "No runs.")); return; }
    let view;
    try { view = await API.parallel(keys, null); } catch (e) { box.append(el("p", { class: "error" }, e.message)); return; }
    if (!view || view.axes.length < 2) { box.append(el("p", { class: "empty" }, "Parallel coordinates need runs with params and a metric.")); drawImportance(view); return; }
    const axes = view.axes;
    const isLog = (a) => S.logAxes && a.kind === "number" && !!a.log_scale;
    const norm = axes.map((a) => {
      if (a.kind === "category") return (v) => (v === null ? NaN : (a.categories.indexOf(v) + 0.5) / a.categories.length);
      const t = isLog(a) ? (v) => Math.log10(v) : (v) => v;
      const xs = a.values.filter(finite).map(t);
      const lo = Math.min(...xs), hi = Math.max(...xs);
      return (v) => (!finite(v) ? NaN : hi === lo ? 0.5 : (t(v) - lo) / (hi - lo));
    });
    const metricAxis = axes[axes.length - 1];
    const mnorm = norm[norm.length - 1];
    const xs = [], ys = [], colors = [], labels = [], alphas = [], widths = [];
    view.runs.forEach((key, i) => {
      xs.push(axes.map((_, j) => j));
      ys.push(axes.map((a, j) => norm[j](a.values[i])));
      const f = mnorm(metricAxis.values[i]);
      const on = S.selection.has(key);
      colors.push(Number.isFinite(f) ? rampColor(view.goal === "min" ? 1 - f : f) : "#c8ccd2");
      alphas.push(on ? 0.95 : 0.35); widths.push(on ? 2.6 : 1.2);
      labels.push(view.labels[i] + "  " + metricAxis.name + "=" + num(metricAxis.values[i]));
    });
    const fig = Bokeh.Plotting.figure({ height: 380, sizing_mode: "stretch_width", tools: "reset,save",
      x_range: [-0.25, axes.length - 0.75], y_range: [-0.08, 1.08], toolbar_location: "above",
      background_fill_color: null, border_fill_color: null, outline_line_color: null });
    fig.yaxis.visible = false; fig.ygrid.visible = false; fig.xgrid.grid_line_color = "#c9ced6";
    fig.xaxis.ticker = new Bokeh.FixedTicker({ ticks: axes.map((_, j) => j) });
    const overrides = {}; axes.forEach((a, j) => { overrides[j] = a.name + (isLog(a) ? " (log)" : ""); });
    fig.xaxis.major_label_overrides = new Map(Object.entries(overrides).map(([k, v]) => [Number(k), v]));
    const src = new Bokeh.ColumnDataSource({ data: { xs, ys, color: colors, label: labels, alpha: alphas, width: widths } });
    const lines = fig.multi_line({ field: "xs" }, { field: "ys" }, { source: src, line_color: { field: "color" },
      line_alpha: { field: "alpha" }, line_width: { field: "width" }, name: "parallel" });
    const tx = [], ty = [], tt = [];
    axes.forEach((a, j) => {
      if (a.kind === "category") a.categories.forEach((c, k) => { tx.push(j); ty.push((k + 0.5) / a.categories.length); tt.push(" " + c); });
      else {
        const v = a.values.filter(finite);
        if (!v.length) return;
        const lo = Math.min(...v), hi = Math.max(...v);
        if (isLog(a)) {  // a tick per decade between the ends
          for (let e = Math.ceil(Math.log10(lo)); e <= Math.floor(Math.log10(hi)); e++) {
            const f = (e - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo));
            if (f > 0.04 && f < 0.96) { tx.push(j); ty.push(f); tt.push(" 1e" + e); }
          }
        }
        tx.push(j, j); ty.push(0, 1); tt.push(" " + num(lo), " " + num(hi));
      }
    });
    fig.text({ field: "x" }, { field: "y" }, { field: "text" }, { source: new Bokeh.ColumnDataSource({ data: { x: tx, y: ty, text: tt } }),
      text_font_size: "11px", text_color: "#4a5260", text_baseline: "middle" });
    fig.add_tools(new Bokeh.HoverTool({ renderers: [lines], tooltips: [["run", "@label"]], line_policy: "interp" }));
    const v = await Bokeh.Plotting.show(fig, box);
    window.swCharts.parallel = { figure: fig, view: v, series: view.runs.length, logAxes: axes.filter(isLog).map((a) => a.name) };
    drawRampLegend(metricAxis, view.goal);
    drawImportance(view);
  }
  /** The colour scale of the parallel lines: worse to better, with the metric's values at the ends. */
  function drawRampLegend(axis, goal) {
    const box = $("#parallel-legend");
    box.textContent = "";
    const v = axis.values.filter(finite);
    if (!v.length) return;
    const lo = Math.min(...v), hi = Math.max(...v);
    const worse = goal === "min" ? hi : lo, better = goal === "min" ? lo : hi;
    box.append(el("span", { class: "muted" }, axis.name + ": worse " + num(worse)),
      el("span", { class: "ramp", style: "background: linear-gradient(to right, " + RAMP.join(", ") + ")" }),
      el("span", { class: "muted" }, num(better) + " better"),
      el("span", { class: "swatch", style: "background:#c8ccd2" }), el("span", { class: "muted small" }, "no value"));
  }
  function drawImportance(view) {
    const box = $("#importance");
    box.textContent = "";
    if (!view || !view.importance || !view.importance.length) { box.append(el("p", { class: "muted" }, "Needs three or more runs with the metric and varying params.")); return; }
    box.append(el("table", { class: "imp" }, el("tr", {}, el("th", {}, "Param"),
        el("th", { title: "share of the variance of " + view.metric + " each param explains beyond chance (epsilon squared of a one-way ANOVA, many-valued numbers in equal-count bins, on log10 when log-spaced)" }, "Share of " + view.metric + " variance"),
        el("th", { title: "Spearman's rank correlation with " + view.metric }, "Direction (ρ)"), el("th", { class: "num" }, "Values"), el("th", {}, "Best run's value")),
      ...view.importance.map((p) => el("tr", { class: p.excluded ? "muted" : "" }, el("td", {}, p.param),
        p.excluded ? el("td", { class: "muted" }, "not ranked (" + p.excluded + ")")
          : el("td", {}, el("span", { class: "ibar", style: "width:" + Math.round(p.importance * 180) + "px" }), " " + Math.round(p.importance * 100) + "%"),
        el("td", {}, p.correlation === null || p.correlation === undefined ? "–" : p.effect + " (" + (p.correlation > 0 ? "+" : "") + p.correlation.toFixed(2) + ")"),
        el("td", { class: "num" }, p.levels), el("td", { title: val(p.best_value) }, num(p.best_value))))));
  }

  // -- scatter -----------------------------------------------------------------------------------
  /** Any param or metric on either axis (from the table's rows); numbers on a log axis when log-spaced. */
  async function drawScatter() {
    const box = resetChart("scatter");
    const rows = visibleRows();
    const t = S.table;
    if (!t || !rows.length) { box.append(el("p", { class: "empty" }, "No runs.")); return; }
    const choices = [...t.param_columns.map((p) => "p:" + p), ...t.columns.map((m) => "m:" + m)];
    if (choices.length < 2) { box.append(el("p", { class: "empty" }, "A scatter needs two params or metrics.")); return; }
    const name = (c) => (c.startsWith("p:") ? "param " : "metric ") + c.slice(2);
    for (const [id, key] of [["#scatter-x", "scatterX"], ["#scatter-y", "scatterY"]]) {
      const select = $(id);
      select.textContent = "";
      for (const c of choices) select.append(el("option", { value: c }, name(c)));
      if (!choices.includes(S[key])) {
        if (key === "scatterY") S[key] = t.primary_metric && choices.includes("m:" + t.primary_metric) ? "m:" + t.primary_metric : choices[choices.length - 1];
        else {
          let top = null;
          try { const view = await API.parallel(rows.map((r) => r.key), null); top = view && view.importance.find((p) => !p.excluded); } catch (e) { top = null; }
          S[key] = top && choices.includes("p:" + top.param) ? "p:" + top.param : choices[0];
        }
      }
      select.value = S[key];
    }
    const get = (r, c) => (c.startsWith("p:") ? r.params[c.slice(2)] : r.metrics[c.slice(2)]);
    const axisOf = (c) => {
      const values = rows.map((r) => get(r, c));
      const numeric = values.every((v) => v === null || v === undefined || finite(v));
      const cats = numeric ? [] : [...new Set(values.filter((v) => v !== null && v !== undefined).map(val))].sort();
      const log = numeric && S.logAxes && (c.startsWith("p:") ? (t.log_params || []).includes(c.slice(2)) : logSpaced(values.filter(finite)));
      return { c, numeric, cats, log, at: (v, i) => (v === null || v === undefined ? NaN : numeric ? (finite(v) ? v : NaN)
        : cats.indexOf(val(v)) + (((i * 7919) % 100) / 100 - 0.5) * 0.3) };
    };
    const ax = axisOf(S.scatterX), ay = axisOf(S.scatterY);
    const x = [], y = [], label = [], color = [], xs = [], ys = [];
    rows.forEach((r, i) => {
      const xv = ax.at(get(r, ax.c), i), yv = ay.at(get(r, ay.c), i);
      if (!Number.isFinite(xv) || !Number.isFinite(yv) || (ax.log && xv <= 0) || (ay.log && yv <= 0)) return;
      x.push(xv); y.push(yv); xs.push(cell(get(r, ax.c))); ys.push(cell(get(r, ay.c)));
      label.push(r.ref); color.push(S.selection.has(r.key) ? colorOf(r.key) : "#8a94a6");
    });
    const fig = Bokeh.Plotting.figure({ height: 360, sizing_mode: "stretch_width", tools: "pan,wheel_zoom,box_zoom,reset,save",
      x_axis_label: name(ax.c) + (ax.log ? " (log)" : ""), y_axis_label: name(ay.c) + (ay.log ? " (log)" : ""), toolbar_location: "above",
      x_axis_type: ax.log ? "log" : "linear", y_axis_type: ay.log ? "log" : "linear",
      background_fill_color: null, border_fill_color: null, outline_line_color: null });
    for (const [a, axis] of [[ax, fig.xaxis], [ay, fig.yaxis]]) {
      if (a.numeric) continue;
      axis.ticker = new Bokeh.FixedTicker({ ticks: a.cats.map((_, j) => j) });
      axis.major_label_overrides = new Map(a.cats.map((c, j) => [j, c]));
    }
    const pts = fig.scatter({ field: "x" }, { field: "y" }, { source: new Bokeh.ColumnDataSource({ data: { x, y, label, color, xs, ys } }),
      size: 10, fill_color: { field: "color" }, line_color: "#ffffff", fill_alpha: 0.85, name: "scatter" });
    fig.add_tools(new Bokeh.HoverTool({ renderers: [pts], tooltips: [["run", "@label"], [ax.c.slice(2), "@xs"], [ay.c.slice(2), "@ys"]] }));
    const v = await Bokeh.Plotting.show(fig, box);
    window.swCharts.scatter = { figure: fig, view: v, series: x.length, x: ax.c, y: ay.c, xLog: ax.log, yLog: ay.log };
  }

  // -- compare -----------------------------------------------------------------------------------
  async function drawCompare() {
    const box = $("#compare");
    box.textContent = "";
    const keys = selectedKeys();
    if (keys.length < 1) { box.append(el("p", { class: "empty" }, "Select runs in the table to compare them.")); return; }
    let verdicts = [];
    try { verdicts = await API.compare(keys); } catch (e) { box.append(el("p", { class: "error" }, e.message)); }
    for (const c of verdicts || []) {
      const decided = c.override || (c.reasons[0] || "").startsWith("Selected by the logged decision");
      box.append(el("div", { class: "verdict" },
        el("div", {}, el("strong", {}, "Best: " + (c.best || "none")), decided ? el("span", { class: "mark chosen" }, "★ selected by a decision") : null,
          c.primary_metric ? el("span", { class: "muted" }, "  by " + c.primary_metric + " (" + (c.goal === "min" ? "lower" : "higher") + " is better)") : null),
        el("ul", {}, ...c.reasons.map((r) => el("li", {}, r)), ...c.warnings.map((w) => el("li", { class: "warn" }, w))),
        c.override ? el("div", { class: "computed" }, el("strong", {}, "Computed best: " + c.computed_best), el("span", { class: "muted" }, "  by " + c.primary_metric),
          el("ul", {}, ...(c.computed_reasons || []).map((r) => el("li", {}, r)))) : null));
    }
    // the runs in the verdict's order: best first, reproductions right after their originals
    const order = verdicts && verdicts.length === 1 ? verdicts[0].runs : null;
    if (order) keys.sort((a, b) => order.indexOf(a) - order.indexOf(b));
    const reruns = Object.assign({}, ...(verdicts || []).map((c) => c.reproductions || {}));
    const rows = keys.map((k) => S.rows.find((r) => r.key === k)).filter(Boolean);
    if (!verdicts || !verdicts.length) box.append(el("p", { class: "muted" }, MODE === "live" ? "" : "The best run and its reasons are computed for the runs selected when this page was made."));
    const params = [...new Set(rows.flatMap((r) => Object.keys(r.params)))].sort();
    const differs = new Set(params.filter((p) => new Set(rows.map((r) => JSON.stringify(r.params[p]))).size > 1));
    const metrics = S.table.columns;
    const table = el("table", { class: "compare" },
      el("tr", {}, el("th", {}, ""), ...rows.map((r) => el("th", { title: r.ref }, el("span", { class: "swatch", style: "background:" + colorOf(r.key) }), r.ref,
        reruns[r.key] ? el("span", { class: "muted small" }, " ↻ reproduces " + reruns[r.key]) : null))),
      el("tr", { class: "section" }, el("td", { colspan: rows.length + 1 }, "Metrics")),
      ...metrics.map((m) => {
        const vs = rows.map((r) => r.metrics[m]);
        const fs = vs.filter(finite);
        const goal = m === S.table.primary_metric ? S.table.goal : null;
        const best = goal && fs.length ? (goal === "min" ? Math.min(...fs) : Math.max(...fs)) : null;
        return el("tr", {}, el("th", {}, m), ...vs.map((v) => el("td", { class: "num" + (best !== null && v === best ? " top" : "") }, num(v))));
      }),
      el("tr", { class: "section" }, el("td", { colspan: rows.length + 1 }, "Params (those that differ are highlighted)")),
      ...params.map((p) => el("tr", { class: differs.has(p) ? "differs" : "" }, el("th", {}, p), ...rows.map((r) => el("td", {}, val(r.params[p]))))));
    box.append(el("div", { class: "table-wrap" }, table));
  }

  // -- one run -----------------------------------------------------------------------------------
  async function openRun(key) {
    showTab("run");
    const box = $("#run");
    box.textContent = "loading…";
    let v;
    try { v = await API.run(key); } catch (e) { box.textContent = e.message; return; }
    if (!v) { box.textContent = "This run is not in the page."; return; }
    S.run = key;
    box.textContent = "";
    const r = v.row;
    const kv = (pairs) => el("table", { class: "kv" }, ...pairs.filter(([, x]) => x !== null && x !== undefined && x !== "")
      .map(([k, x]) => el("tr", {}, el("th", {}, k), el("td", {}, x))));
    box.append(el("h2", {}, r.ref, " ", el("span", { class: "status " + r.status }, r.status)));
    if (v.description) box.append(el("p", {}, v.description));
    const grid = el("div", { class: "grid" });
    grid.append(el("div", {}, el("h3", {}, "Params"), kv(Object.entries(r.params).sort().map(([k, x]) => [k, val(x)]))));
    grid.append(el("div", {}, el("h3", {}, "Run"), kv([["name", r.name], ["started", when(r.started)], ["duration", dur(r.duration_s)],
      ["ended", when(v.ended)], ["author", v.author], ["host", v.host], ["tags", (r.tags || []).join(", ")],
      ["git", v.git && v.git.commit ? v.git.commit.slice(0, 12) + " " + (v.git.branch || "") + (v.git.dirty ? " (dirty)" : "") : null],
      ["python", v.environment.python], ["platform", v.environment.platform],
      ["packages", Object.entries(v.environment.packages || {}).map(([k, x]) => k + " " + x).join(", ")]])));
    box.append(grid);
    box.append(el("h3", {}, "Metrics"), el("table", { class: "stats" },
      el("tr", {}, el("th", {}, "metric"), el("th", { class: "num" }, "last"), el("th", { class: "num" }, "min"), el("th", { class: "num" }, "max"),
        el("th", { class: "num" }, "best"), el("th", { class: "num" }, "best step"), el("th", { class: "num" }, "points"), el("th", {}, "")),
      ...v.stats.filter((s) => !s.key.startsWith("system/")).map((s) => el("tr", {}, el("td", {}, s.key), el("td", { class: "num" }, num(s.last)),
        el("td", { class: "num" }, num(s.min), el("span", { class: "muted small" }, s.min_step !== null ? " @" + s.min_step : "")),
        el("td", { class: "num" }, num(s.max), el("span", { class: "muted small" }, s.max_step !== null ? " @" + s.max_step : "")),
        el("td", { class: "num strong" }, num(s.best)), el("td", { class: "num" }, s.best_step === null ? "–" : s.best_step),
        el("td", { class: "num muted" }, s.count), el("td", { class: "spark" }, s.count > 1 ? s.sparkline : "")))));
    const charted = v.stats.filter((s) => !s.key.startsWith("system/") && s.count > 1).map((s) => s.key);
    let charts = null;
    if (charted.length) { charts = el("div", { class: "system metric-charts" }); box.append(el("h3", {}, "Charts"), charts); }
    if (v.decisions.length) box.append(el("h3", {}, "Decisions"), el("ul", {}, ...v.decisions.map((d) => el("li", {}, "★ selected: " + d.rationale + " ", el("span", { class: "muted", title: d.ts }, when(d.ts))))));
    if (v.notes.length) box.append(el("h3", {}, "Notes"), el("ul", { class: "notes" }, ...v.notes.map((n) => el("li", {}, el("span", { class: "muted", title: n.ts }, when(n.ts) + "  "), n.text))));
    if (v.artifacts.length) {
      const arts = el("div", { class: "artifacts" });
      for (const a of v.artifacts) {
        const src = a.image ? API.image(key, a.info.name) : null;
        const link = MODE === "live" ? API.download(key, a.info.name) : src;
        arts.append(el("figure", {}, src ? el("img", { src, alt: a.info.name, loading: "lazy", title: "click: full size", onclick: () => lightbox(src, a.info.name) })
          : el("div", { class: "file" }, a.info.kind === "model" ? "model" : "file"),
          el("figcaption", {}, link ? el("a", { href: link, download: a.info.name.split("/").pop(), class: "download", title: "download (checked against its sha256)" }, a.info.name) : a.info.name,
            el("span", { class: "muted small" }, " " + (a.info.size / 1024).toFixed(1) + " KB" + (a.info.model_class ? " · " + a.info.model_class : "")))));
      }
      box.append(el("h3", {}, "Artifacts"), arts);
    }
    for (const m of charted) {  // one chart per metric with a history
      const holder = el("div", { class: "mini", "data-metric": m });
      charts.append(holder);
      try {
        const set = await API.curves([key], m);
        const c = set.curves[0];
        if (!c) { holder.remove(); continue; }
        const fig = Bokeh.Plotting.figure({ height: 190, sizing_mode: "stretch_width", title: m, tools: "pan,wheel_zoom,box_zoom,reset,save",
          toolbar_location: null, x_axis_label: "step", background_fill_color: null, border_fill_color: null, outline_line_color: null });
        fig.line(c.steps, c.values.map((x) => (x === null ? NaN : x)), { line_color: colorOf(key), line_width: 1.5, name: "run-metric:" + m });
        await Bokeh.Plotting.show(fig, holder);
      } catch (e) { holder.textContent = e.message; }
    }
    if (v.system_metrics.length) {
      box.append(el("h3", {}, "System"));
      const sys = el("div", { class: "system" });
      box.append(sys);
      for (const m of v.system_metrics) {
        const holder = el("div", { class: "mini" });
        sys.append(holder);
        try {
          const set = await API.curves([key], m);
          const c = set.curves[0];
          if (!c) continue;
          const fig = Bokeh.Plotting.figure({ height: 170, sizing_mode: "stretch_width", title: m, tools: "pan,wheel_zoom,reset",
            toolbar_location: null, background_fill_color: null, border_fill_color: null, outline_line_color: null });
          fig.line(c.t, c.values.map((x) => (x === null ? NaN : x)), { line_color: "#3b6fd8", line_width: 1.4 });
          await Bokeh.Plotting.show(fig, holder);
        } catch (e) { holder.textContent = e.message; }
      }
    }
    if (v.problems.length) box.append(el("h3", {}, "Damaged"), el("ul", {}, ...v.problems.map((p) => el("li", { class: "warn" }, p))));
  }

  /** An image at full size over the page; a click or Escape closes it. */
  function lightbox(src, name) {
    const close = () => { shade.remove(); document.removeEventListener("keydown", onKey); };
    const onKey = (e) => { if (e.key === "Escape") close(); };
    const shade = el("div", { class: "lightbox", onclick: close }, el("img", { src, alt: name }), el("div", { class: "caption" }, name));
    document.addEventListener("keydown", onKey);
    document.body.append(shade);
  }

  // -- live: server-sent events --------------------------------------------------------------------
  async function fillIncrements() {
    const incs = await getJSON("api/increments");
    const select = $("#increments");
    select.append(el("option", { value: "" }, "active / newest increment"));
    for (const inc of incs) select.append(el("option", { value: inc.id }, inc.id + (inc.experiments !== null ? " (" + inc.experiments + ")" : "")));
    if (incs.length > 1) select.append(el("option", { value: incs.map((i) => i.id).join(",") }, "all increments"));
    select.value = (CFG.increments || []).join(",");
  }
  let events = null;
  async function chooseIncrements(value) {
    CFG.increments = value ? value.split(",") : [];
    const url = new URL(location.href);
    value ? url.searchParams.set("increments", value) : url.searchParams.delete("increments");
    history.replaceState(null, "", url.toString());
    S.table = null; S.selection.clear(); S.curves.clear(); S.auto = true;
    if (events) events.close();
    await connect();
    setTable(await live.table($("#filter").value.trim()));
  }
  let tableTimer = null;
  function upsertRow(row) {
    const i = S.rows.findIndex((r) => r.key === row.key);
    if (i >= 0) { row.best = S.rows[i].best; row.selected = S.rows[i].selected || row.selected; row.primary = row.primary ?? S.rows[i].primary; S.rows[i] = row; }
    else {
      S.rows.push(row);
      // a run that starts while the page is open is drawn as it logs, however many are selected already
      if ((S.auto && S.selection.size < 10) || row.status === "running") { S.selection.add(row.key); scheduleCurves(); }
    }
    clearTimeout(tableTimer);
    tableTimer = setTimeout(renderTable, 250);
  }
  function connect() {
    return new Promise((resolve) => {
      const primary = S.table ? S.table.primary_metric : "";
      const src = events = new EventSource("api/events?" + qs(withToken({ increments: (CFG.increments || []).join(","), primary })));
      src.addEventListener("hello", () => { S.live = true; $("#live").textContent = "● live"; $("#live").classList.add("on"); resolve(); });
      src.onmessage = (e) => {
        const change = JSON.parse(e.data);
        if (change.type === "run") upsertRow(change.row);
        else if (change.type === "points") appendPoints(change.run, change.points);
      };
      src.onerror = () => { $("#live").textContent = "reconnecting…"; $("#live").classList.remove("on"); };
      setTimeout(resolve, 3000);  // no stream (a proxy that buffers): the page still works, without pushes
    });
  }

  // -- the MCP App: a minimal MCP Apps view (JSON-RPC 2.0 over postMessage, protocol 2026-01-26) ---
  const App = {
    ready: false, next: 1, pending: new Map(), args: {},
    send(msg) { window.parent.postMessage({ jsonrpc: "2.0", ...msg }, "*"); },
    request(method, params) {
      const id = this.next++;
      this.send({ id, method, params });
      return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
    },
    async callTool(args) {
      const result = await this.request("tools/call", { name: "view_experiments", arguments: args });
      this.args = args;
      this.onResult(result);
      return result;
    },
    onResult(result) {
      if (result && result.isError) { $("#filter-error").textContent = (result.content || []).map((c) => c.text).join(" "); return; }
      const view = result && result.structuredContent && result.structuredContent.view;
      if (!view) { $("#run").textContent = (result && result.content || []).map((c) => c.text).join("\n"); return; }
      S.bundle = view; S.curves.clear(); S.selection.clear(); S.table = null;
      setTable(view.table);
    },
    applyContext(ctx) {
      const vars = ctx && ctx.styles && ctx.styles.variables;
      if (vars) for (const [k, v] of Object.entries(vars)) if (v) document.documentElement.style.setProperty(k, v);
      if (ctx && ctx.theme) document.documentElement.dataset.theme = ctx.theme;
    },
    async start() {
      window.addEventListener("message", (event) => {
        if (event.source !== window.parent) return;
        const m = event.data;
        if (!m || m.jsonrpc !== "2.0") return;
        if (m.id !== undefined && !m.method && this.pending.has(m.id)) {
          const p = this.pending.get(m.id); this.pending.delete(m.id);
          m.error ? p.reject(new Error(m.error.message || "host error")) : p.resolve(m.result);
        } else if (m.method === "ui/notifications/tool-input") {
          this.args = (m.params && m.params.arguments) || {};
        } else if (m.method === "ui/notifications/tool-result") {
          this.onResult(m.params);
        } else if (m.method === "ui/notifications/host-context-changed") {
          this.applyContext(m.params);
        } else if (m.method === "ui/resource-teardown") {
          this.send({ id: m.id, result: {} });
        } else if (m.id !== undefined && m.method === "ping") {
          this.send({ id: m.id, result: {} });
        }
      });
      const init = await this.request("ui/initialize", { protocolVersion: "2026-01-26",
        appInfo: { name: "specweave-ml views", version: "1" }, appCapabilities: { availableDisplayModes: ["inline", "fullscreen"] } });
      this.applyContext(init && init.hostContext);
      this.ready = true;
      this.send({ method: "ui/notifications/initialized", params: {} });
      let lastH = 0;
      new ResizeObserver(() => {
        const h = Math.ceil(document.documentElement.scrollHeight);
        if (Math.abs(h - lastH) > 2) { lastH = h; this.send({ method: "ui/notifications/size-changed", params: { width: document.documentElement.scrollWidth, height: h } }); }
      }).observe(document.body);
    },
  };
  window.swApp = App;

  // -- start -------------------------------------------------------------------------------------
  async function start() {
    layout();
    try {
      if (MODE === "live") {
        fillIncrements().catch(() => {});
        const table = live.table("");  // asked while the stream connects; pushed points overlapping it are deduplicated
        await connect();
        setTable(await table);
      } else if (MODE === "report") {
        S.bundle = JSON.parse(document.getElementById("sw-data").textContent);
        setTable(S.bundle.table);
      } else {
        $("#filter").placeholder = "filter, e.g. metrics.auc > 0.8 (asks the server)";
        await App.start();
      }
    } catch (e) {
      $("#filter-error").textContent = e.message;
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
