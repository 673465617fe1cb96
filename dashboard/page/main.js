// Start: lay out the page and load its data by mode.
// Joined with the other page modules inside one closure by skill/views/page.py (PAGE_MODULES).
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
