// The compare view: the selected runs side by side.
// Joined with the other page modules inside one closure by skill/views/page.py (PAGE_MODULES).
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
