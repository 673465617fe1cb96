// One run: params, metrics, artifacts and images (lightbox).
// Joined with the other page modules inside one closure by skill/views/page.py (PAGE_MODULES).
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
  if (v.source === "summary") box.append(el("p", { class: "muted small summary-note" }, "From git's summary of the run's log: last, "
    + "min, max, best and counts are exact, charts show the points it keeps. sw-ml artifacts pull brings the full log."));
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
