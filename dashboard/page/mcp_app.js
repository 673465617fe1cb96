// The MCP App: a minimal MCP Apps view (JSON-RPC 2.0 over postMessage).
// Joined with the other page modules inside one closure by skill/views/page.py (PAGE_MODULES).
const App = {
  ready: false, next: 1, pending: new Map(), args: {},
  send(msg) { window.parent.postMessage({ jsonrpc: "2.0", ...msg }, "*"); },
  request(method, params) {
    const id = this.next++;
    this.send({ id, method, params });
    return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
  },
  async callTool(args) {
    const result = await this.request("tools/call", { name: "view_experiments", arguments: args });
    this.args = args;
    this.onResult(result);
    return result;
  },
  onResult(result) {
    if (result && result.isError) { $("#filter-error").textContent = (result.content || []).map((c) => c.text).join(" "); return; }
    const view = result && result.structuredContent && result.structuredContent.view;
    if (!view) { $("#run").textContent = (result && result.content || []).map((c) => c.text).join("\n"); return; }
    S.bundle = view; S.curves.clear(); S.selection.clear(); S.table = null;
    setTable(view.table);
  },
  applyContext(ctx) {
    const vars = ctx && ctx.styles && ctx.styles.variables;
    if (vars) for (const [k, v] of Object.entries(vars)) if (v) document.documentElement.style.setProperty(k, v);
    if (ctx && ctx.theme) document.documentElement.dataset.theme = ctx.theme;
  },
  async start() {
    window.addEventListener("message", (event) => {
      if (event.source !== window.parent) return;
      const m = event.data;
      if (!m || m.jsonrpc !== "2.0") return;
      if (m.id !== undefined && !m.method && this.pending.has(m.id)) {
        const p = this.pending.get(m.id); this.pending.delete(m.id);
        m.error ? p.reject(new Error(m.error.message || "host error")) : p.resolve(m.result);
      } else if (m.method === "ui/notifications/tool-input") {
        this.args = (m.params && m.params.arguments) || {};
      } else if (m.method === "ui/notifications/tool-result") {
        this.onResult(m.params);
      } else if (m.method === "ui/notifications/host-context-changed") {
        this.applyContext(m.params);
      } else if (m.method === "ui/resource-teardown") {
        this.send({ id: m.id, result: {} });
      } else if (m.id !== undefined && m.method === "ping") {
        this.send({ id: m.id, result: {} });
      }
    });
    const init = await this.request("ui/initialize", { protocolVersion: "2026-01-26",
      appInfo: { name: "specweave-ml views", version: "1" }, appCapabilities: { availableDisplayModes: ["inline", "fullscreen"] } });
    this.applyContext(init && init.hostContext);
    this.ready = true;
    this.send({ method: "ui/notifications/initialized", params: {} });
    let lastH = 0;
    new ResizeObserver(() => {
      const h = Math.ceil(document.documentElement.scrollHeight);
      if (Math.abs(h - lastH) > 2) { lastH = h; this.send({ method: "ui/notifications/size-changed", params: { width: document.documentElement.scrollWidth, height: h } }); }
    }).observe(document.body);
  },
};
window.swApp = App;
