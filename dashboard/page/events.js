// The live page's event stream (server-sent events): rows and points pushed as they change.
// Joined with the other page modules inside one closure by skill/views/page.py (PAGE_MODULES).
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
