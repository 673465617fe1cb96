// The curves view: one BokehJS chart per metric, smoothing, log axes, streamed points.
// Joined with the other page modules inside one closure by skill/views/page.py (PAGE_MODULES).
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
        label: c.label, total: c.total_points, downsampled: c.downsampled, source: c.source });
      // a run with no line says why under the chart: damaged ("<run>: <why>"), or it never logged the metric
      for (const line of set.damaged || []) {
        const at = line.indexOf(": ");
        if (at > 0) store.set(line.slice(0, at), { gap: "cannot be read: " + line.slice(at + 2) });
      }
      for (const k of missing) if (!store.has(k)) store.set(k, { gap: "no " + metric + " logged" });
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
  const keys = selectedKeys().filter((k) => drawable(store.get(k)));
  const gaps = selectedKeys().filter((k) => store.get(k) && store.get(k).gap);
  if (!metric || !keys.length) {
    box.append(el("p", { class: "empty" }, !metric ? "No metric has points yet."
      : gaps.length ? "No selected run has points of " + metric + " to draw." : "Select runs in the table to draw their " + metric + "."));
    noteGaps(legend, store, gaps);
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
    noteGaps(legend, store, gaps);
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
    legend.append(el("span", { class: "item", title: c.source === "summary"
      ? c.values.length + " of the run's " + c.total + " points, from git's summary of its log (its lowest and highest kept); "
        + "sw-ml artifacts pull brings the full log"
      : c.total + " points" + (c.downsampled ? " (downsampled on the server)" : "") },
    el("span", { class: "swatch", style: "background:" + color }), c.label, c.source === "summary" ? el("span", { class: "muted small" }, " · summary") : null));
  }
  noteGaps(legend, store, gaps);
  fig.add_tools(new Bokeh.HoverTool({ renderers: smoothed, line_policy: "nearest",
    tooltips: [["run", "@run"], ["step", "@step"], ["value", "@raw{0.0[000]}"]].concat(S.smoothing > 0 ? [["smoothed", "@y{0.0[000]}"]] : []) }));
  const view = await Bokeh.Plotting.show(fig, box);
  window.swCharts.curves = { figure: fig, view, series: smoothed.length, metric, drawnMs: performance.now() - started };
  document.body.dataset.curves = String(smoothed.length);
}

function drawable(c) { return Boolean(c && c.values); }

/** Selected runs without a line, each named in the legend with why (never silently left out). */
function noteGaps(legend, store, keys) {
  const refs = new Map((S.rows || []).map((r) => [r.key, r.ref]));
  for (const key of keys) legend.append(el("span", { class: "item gap" }, (refs.get(key) || key) + ": " + store.get(key).gap));
}

/** The mean ± std of a group's curves at each x any of them has (each run's line read between its
 *  points linearly; a run counts only within its own range), smoothed first when smoothing is on. */
function groupBand(curves) {
  const lines = curves.filter(drawable).map((c) => {
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
    if (!store || !drawable(store.get(runKey))) {
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
