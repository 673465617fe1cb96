// The scatter view: one param or metric against another.
// Joined with the other page modules inside one closure by skill/views/page.py (PAGE_MODULES).
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
