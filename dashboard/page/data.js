// Data: one interface (API) over the live server, the embedded bundle (report) or the MCP App host.
// Joined with the other page modules inside one closure by skill/views/page.py (PAGE_MODULES).
function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== "") u.set(k, v);
  return u.toString();
}
// The live page's token (no cookie: see specweave/ui/server.py): a header on every fetch, a query
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
    const set = S.bundle.curves[metric] || { metric, curves: [], missing: [], damaged: [] };
    const want = new Set(keys);
    return { metric, curves: set.curves.filter((c) => want.has(c.run)), missing: (set.missing || []).filter((k) => want.has(k)),
      damaged: (set.damaged || []).filter((line) => want.has(line.slice(0, line.indexOf(": ")))) };
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
