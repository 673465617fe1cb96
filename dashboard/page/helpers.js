// Small helpers: DOM building, number and time formatting, log spacing, smoothing (ema).
// Joined with the other page modules inside one closure by skill/views/page.py (PAGE_MODULES).
const $ = (sel, root) => (root || document).querySelector(sel);
function el(tag, attrs, ...kids) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const kid of kids.flat()) {
    if (kid === null || kid === undefined || kid === false) continue;
    node.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return node;
}
function num(v) {
  if (v === null || v === undefined) return "–";
  if (typeof v === "string") return v;
  if (typeof v !== "number") return JSON.stringify(v);
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(3).replace(/\.?0+e/, "e");
  return String(Number(v.toPrecision(5)));
}
function val(v) { return typeof v === "object" && v !== null ? JSON.stringify(v) : v === undefined ? "–" : String(v); }
/** A value for a cell: numbers rounded (num), the rest as text; the full value goes in the title. */
function cell(v) { return typeof v === "number" ? num(v) : val(v); }
/** A time in the browser's zone, with seconds: 2026-12-04 11:05:09. */
function when(iso) {
  if (!iso) return null;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const p = (n) => String(n).padStart(2, "0");
  return d.getFullYear() + "-" + p(d.getMonth() + 1) + "-" + p(d.getDate()) + " " + p(d.getHours()) + ":" + p(d.getMinutes()) + ":" + p(d.getSeconds());
}
/** skill/analysis/importance.py:log_spaced, for metrics (params come marked by the server). */
function logSpaced(values) {
  const xs = values.filter((v) => v !== null && v !== undefined);
  if (!xs.length || xs.some((v) => !finite(v) || v <= 0)) return false;
  const d = [...new Set(xs)];
  return d.length >= 3 && Math.max(...d) / Math.min(...d) >= 100;
}
function dur(s) {
  if (s === null || s === undefined) return "–";
  if (s < 0.001) return Math.round(s * 1e6) + "µs";
  if (s < 1) return Math.round(s * 1000) + "ms";
  if (s < 10) return s.toFixed(1) + "s";
  if (s < 90) return Math.round(s) + "s";
  if (s < 5400) return Math.round(s / 60) + "m";
  return (s / 3600).toFixed(1) + "h";
}
function finite(v) { return typeof v === "number" && Number.isFinite(v); }

/** TensorBoard's smoothing, as skill/views/curves.py:ema: debiased EMA, gaps stay gaps. */
function ema(values, weight) {
  const out = new Array(values.length);
  let last = 0, count = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || !Number.isFinite(v)) { out[i] = NaN; continue; }
    last = last * weight + (1 - weight) * v;
    count += 1;
    const debias = 1 - Math.pow(weight, count);
    out[i] = debias > 0 ? last / debias : v;
  }
  return out;
}
window.swEma = ema;
