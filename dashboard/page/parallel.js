// Parallel coordinates and parameter importance.
// Joined with the other page modules inside one closure by skill/views/page.py (PAGE_MODULES).
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
