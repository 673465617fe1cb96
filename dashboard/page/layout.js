// The page's frame: header, filter, tabs (layout, showTab).
// Joined with the other page modules inside one closure by skill/views/page.py (PAGE_MODULES).
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
