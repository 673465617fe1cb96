// The runs table: rows, colours, grouping by params, selection.
// Joined with the other page modules inside one closure by skill/views/page.py (PAGE_MODULES).
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
