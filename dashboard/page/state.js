// The page's configuration (#sw-config), its mode and palettes, and the one state object S every view reads and writes.
// Joined with the other page modules inside one closure by skill/views/page.py (PAGE_MODULES).
const CFG = JSON.parse(document.getElementById("sw-config").textContent);
const MODE = CFG.mode;
const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
  "#bcbd22", "#17becf", "#393b79", "#e6550d", "#31a354", "#756bb1", "#636363", "#ad494a", "#3182bd",
  "#8ca252", "#bd9e39", "#a55194"];
const RAMP = ["#440154", "#482878", "#3e4a89", "#31688e", "#26828e", "#1f9e89", "#35b779", "#6ece58",
  "#b5de2b", "#fde725"];
const S = {
  table: null, rows: [], filter: "", sortKey: null, sortDir: -1, selection: new Set(), auto: true,
  metric: null, x: "step", smoothing: 0, logY: false, tab: "curves", curves: new Map(), colors: new Map(),
  bundle: null, run: null, where: "", live: false, scatterX: null, scatterY: null, logAxes: true, groupBy: "",
};
window.swState = S;
window.swCharts = {};
