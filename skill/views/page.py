"""The one page, built from its sources: live (`sw-ml ui`: data from the server's API, pushed changes),
report (`sw-ml report`: the data inside one self-contained file) and app (the MCP App: the data from the
tool result). The faces ask Project for it (`page_html`, `page_asset`, `write_report`).

The sources are data, not code of ours to import: `dashboard/` in a checkout, `skill/_data/dashboard` in
the wheel (found by skill.resources_path). `page.html` is the frame, `app.css` the style, and `page/*.js`
the script as one module per view (runs, curves, parallel, scatter, compare, run) beside its state, data,
event-stream and MCP Apps protocol modules. They are joined here in PAGE_MODULES' fixed order inside one
closure, so the page carries one script of ours (served as `app.js`, or inlined), nothing from a CDN.

Charts are BokehJS, read from the installed `bokeh` package (its `server/static/js`), never copied into
this repository. Why BokehJS: it ships inside a Python package (no npm step at build time), is BSD-3
licensed and well kept (NumFOCUS, releases every few months), draws on a canvas (100 runs of 1,000
points in well under a second), streams appended points into a plot without redrawing the rest, and is
1.4 MB of JavaScript: plotly.js alone is 4.8 MB, nearly the whole 5 MB a report may take, and takes
longer to parse than our budget for drawing 100 curves.
"""

from __future__ import annotations

import html
import importlib.util
import json
import os
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ..errors import InvalidInput, NotFound, SpecweaveError
from ..resources_path import data_dir
from ..schemas.pages import Curve, CurveSet, RunsTable
from ..storage.signatures import file_signature

# The functions below take the Project that calls them (typed Any: views sit below the project layer).
Project = Any

# The page script's modules, in the order they are joined (state and helpers first: the views use them).
PAGE_MODULES = ("state", "helpers", "data", "layout", "runs", "curves", "parallel", "scatter", "compare", "run",
                "events", "mcp_app", "main")
BOKEH_FILES = ("bokeh.min.js", "bokeh-api.min.js")
SCRIPT, STYLE = "app.js", "app.css"  # the names the live page fetches our script and style by
ASSET_TYPES = {**dict.fromkeys(BOKEH_FILES, "text/javascript"), SCRIPT: "text/javascript", STYLE: "text/css"}
REPORTS_DIR = "reports"

# What the live page may load: only what its server serves (no other origin, no inline code but ours).
LIVE_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
            "form-action 'none'")
# A report opened from file://: nothing may be fetched from anywhere.
OFFLINE_CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:; "
               "base-uri 'none'; form-action 'none'")
CSP = {"live": LIVE_CSP, "report": OFFLINE_CSP}

SCRIPT_HEAD = """/* specweave-ml views: the runs table, curves, parallel coordinates, scatter, compare and one run.
 *
 * One script for the three ways the views are served (body class and #sw-config say which):
 *   live   - `sw-ml ui`: data from the server's API; changes pushed as server-sent events
 *   report - `sw-ml report`: the data inside the page (#sw-data), no network at all
 *   app    - the MCP App: the data from the tool result the host passes (MCP Apps, postMessage)
 * Charts are BokehJS (from the bokeh Python package). Smoothing is `ema`, the same debiased
 * exponential moving average as skill/views/curves.py:ema (TensorBoard's).
 * Joined from the modules of dashboard/page/ (one per view, plus state, data and protocol) by
 * skill/views/page.py.
 */
(function () {
"use strict";
"""


class DashboardUnavailable(SpecweaveError):
    exit_code = 5


class ReportResult(BaseModel):
    """What `sw-ml report` wrote: where (relative to the working folder where it lies below it), its size,
    the runs and the metrics with curves it holds, and how long it took."""

    path: str
    bytes: int
    runs: int
    metrics: list[str]
    seconds: float


class IncrementEntry(BaseModel):
    """An increment as the page's picker lists it."""

    id: str
    title: str
    experiments: int | None = None
    group: str | None = None


# -- the live page's answers, kept while the store is unchanged ------------------------------------------
class PageMemo:
    """What the live page asks for again (a reload, a filter undone), answered from here while the store
    is unchanged: a table while its signature (a few stats per run) holds, a curve while its log's stat
    does. Bounded; a changed store simply misses. With `keep` false (a Project without `memo`) nothing
    is kept and every call is the core's."""

    MAX_TABLES = 64
    MAX_CURVES = 20_000

    def __init__(self, keep: bool):
        self.keep = keep
        self._tables: dict[tuple[Any, ...], tuple[Any, RunsTable]] = {}
        self._curves: dict[tuple[str, str, int], tuple[Any, Curve | None]] = {}
        self._paths: dict[str, tuple[Path, str]] = {}  # a reference -> (folder, run key)

    def table(self, project: Project, increments: list[str], *, where: str | None, sort: str | None,
              columns: list[str] | None) -> RunsTable:
        if not self.keep:
            return project.runs_table(increments or None, where=where, sort=sort, columns=columns)
        key = (tuple(increments), where or "", sort or "", tuple(columns or ()))
        inc = None if increments else project.default_increment()
        sig = project.store_signature(increments or ([inc.id] if inc else []))
        hit = self._tables.get(key)
        if hit is not None and hit[0] == sig:
            return hit[1]
        table = project.runs_table(increments or None, where=where, sort=sort, columns=columns)
        if len(self._tables) >= self.MAX_TABLES:
            self._tables.clear()
        self._tables[key] = (sig, table)
        return table

    def curves(self, project: Project, runs: list[str], metric: str, max_points: object) -> CurveSet:
        from ..layout import METRICS_LOG_FILE
        from ..schemas.pages import DEFAULT_CURVE_POINTS
        from .curves import validate_curve_points
        from .table import run_key

        limit = validate_curve_points(DEFAULT_CURVE_POINTS if max_points is None else max_points)
        if not self.keep:
            return project.curves(runs, metric, max_points=limit)
        parts: dict[str, Curve | None] = {}
        todo: list[tuple[str, Any]] = []
        fresh = CurveSet(metric=metric, max_points=limit)  # the runs read now: drawn, missing or damaged
        for ref in dict.fromkeys(runs):
            where = self._paths.get(ref)
            if where is None:
                record = project.experiment(ref)
                where = self._paths[ref] = (Path(record.path), run_key(record))
            sig = file_signature(where[0] / METRICS_LOG_FILE)  # an append or a rewrite changes it
            hit = self._curves.get((ref, metric, limit))
            if hit is not None and sig is not None and hit[0] == sig:
                parts[where[1]] = hit[1]
            else:
                todo.append((ref, sig))
        if todo:
            fresh = project.curves([ref for ref, _ in todo], metric, max_points=limit)
            made = {c.run: c for c in fresh.curves}
            if len(self._curves) > self.MAX_CURVES:
                self._curves.clear()
            for ref, sig in todo:
                key = self._paths[ref][1]
                parts[key] = made.get(key)
                if sig is not None:
                    self._curves[(ref, metric, limit)] = (sig, parts[key])
        read_now = {self._paths[ref][1] for ref, _ in todo}  # missing when that answer says so (or damaged)
        return CurveSet(metric=metric, max_points=limit, curves=[c for c in parts.values() if c is not None],
                        missing=[key for key, c in parts.items()
                                 if c is None and (key not in read_now or key in fresh.missing)],
                        damaged=fresh.damaged)


# -- the sources -------------------------------------------------------------------------------------
def source_text(name: str) -> str:
    """A page source (`page.html`, `app.css`, `page/<module>.js`) as text."""
    return (data_dir("dashboard") / name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def page_script() -> str:
    """The page's one script: every module of PAGE_MODULES in order, inside one closure."""
    parts = [SCRIPT_HEAD]
    for module in PAGE_MODULES:
        parts.append(f"\n// ---- {module}.js\n")
        parts.append(source_text(f"page/{module}.js"))
    parts.append("})();\n")
    return "".join(parts)


@lru_cache(maxsize=1)
def bokeh_dir() -> Path:
    """`bokeh/server/static/js` of the installed package, found without importing bokeh (fast)."""
    spec = importlib.util.find_spec("bokeh")
    if spec is None or not spec.origin:
        raise DashboardUnavailable("the dashboard needs the bokeh package (its BokehJS draws the charts): "
                                   "pip install 'specweave-ml[dashboard]'")
    folder = Path(spec.origin).parent / "server" / "static" / "js"
    missing = [name for name in BOKEH_FILES if not (folder / name).is_file()]
    if missing:
        raise DashboardUnavailable(f"the installed bokeh lacks {', '.join(missing)} under {folder}: "
                                   "reinstall it (pip install --force-reinstall bokeh)")
    return folder


@lru_cache(maxsize=1)
def bokeh_version() -> str:
    from importlib.metadata import version

    return version("bokeh")


@lru_cache(maxsize=1)
def bokeh_licence() -> str:
    """Bokeh's licence text, carried in every page that inlines BokehJS."""
    from importlib.metadata import files

    for entry in files("bokeh") or []:
        if entry.name.upper().startswith("LICENSE"):
            return entry.read_text(encoding="utf-8")
    return "BSD 3-Clause License, Copyright (c) Anaconda, Inc., and Bokeh Contributors"


def asset(name: str) -> tuple[bytes, str]:
    """(bytes, media type) of a file the live page loads: BokehJS, our script or our style."""
    if name in BOKEH_FILES:
        return (bokeh_dir() / name).read_bytes(), ASSET_TYPES[name]
    if name == SCRIPT:
        return page_script().encode("utf-8"), ASSET_TYPES[name]
    if name == STYLE:
        return source_text(STYLE).encode("utf-8"), ASSET_TYPES[name]
    raise NotFound("page file", name, sorted(ASSET_TYPES))


def inline_scripts() -> str:
    """BokehJS and our script as inline <script> elements, with Bokeh's licence in a comment."""
    licence = bokeh_licence().replace("*/", "* /")
    parts = [(f"<!-- BokehJS {bokeh_version()}, from the bokeh Python package; BSD-3-Clause -->\n<script>/*!\n"
              f"BokehJS {bokeh_version()}: BSD-3-Clause licence\n{licence}\n*/\n")]
    for name in BOKEH_FILES:
        parts.append(_script_safe((bokeh_dir() / name).read_bytes().decode("utf-8")))
        parts.append("\n")
    parts.append("</script>\n<script>\n" + _script_safe(page_script()) + "\n</script>")
    return "".join(parts)


def _script_safe(text: str) -> str:
    # A literal "</script" inside inline code would end the element early.
    return text.replace("</script", "<\\/script")


def json_for_script(data: Any) -> str:
    """JSON that is safe inside a <script> element (no `</script>`, no `<!--`)."""
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, separators=(",", ":"),
                                                         allow_nan=False)
    return text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


# -- the page ----------------------------------------------------------------------------------------
def render_page(mode: str, *, title: str, config: dict[str, Any], data_json: str | None = None,
                asset_query: str | None = None) -> str:
    """The page in `mode` ("live", "report", "app"). With `asset_query` (the live page's `?token=...`)
    the scripts are fetched from `static/<name><asset_query>`; else they are inlined."""
    csp = CSP.get(mode)
    data = f'<script id="sw-data" type="application/json">{json_for_script(data_json)}</script>\n' if data_json else ""
    if asset_query is not None:
        scripts = "".join(f'<script src="static/{name}{asset_query}"></script>\n' for name in (*BOKEH_FILES, SCRIPT))
    else:
        scripts = inline_scripts()
    return source_text("page.html").format(
        csp=f'<meta http-equiv="Content-Security-Policy" content="{csp}">\n' if csp else "",
        title=html.escape(title), css=source_text(STYLE), mode=mode,
        config=json_for_script({**config, "mode": mode}), data=data, scripts=scripts)


# -- the one-file report -------------------------------------------------------------------------------
def report_html(project: Project, increments: list[str] | None = None, *, where: str | None = None,
                metric: str | None = None, runs: list[str] | None = None) -> tuple[str, Any]:
    """(the page, its bundle): a renderer returns a string; writing it is `write_report`'s step."""
    if not project.exists or not project.increments():  # a page of no runs is no report: nothing is made
        raise InvalidInput("project root", str(project.root), "a folder whose .specweave/ store has experiments: "
                           "log a run with track_experiment() first, or pass --root (nothing was written)")
    bundle = project.view_bundle(increments, where=where, metric=metric, runs=runs)
    page = render_page("report", title=bundle.title, config={"project": project.root.name},
                       data_json=bundle.model_dump_json())
    return page, bundle


def report_path(project: Project, increments: list[str]) -> Path:
    """Where a report of `increments` goes by default: `.specweave/reports/<ids>.html`, a folder that
    ignores itself in git (pages made from the store, rebuilt at will)."""
    from ..layout import SPECWEAVE_DIR
    from ..storage.gitfiles import ignore_folder
    from ..storage.paths import make_dirs_within

    folder = make_dirs_within(project.root, (SPECWEAVE_DIR, REPORTS_DIR), f"{SPECWEAVE_DIR}/{REPORTS_DIR}/")
    ignore_folder(folder, "sw-ml report: pages made from the store, rebuilt at will; never committed")
    name = "-".join(inc.split("-", 1)[0] for inc in increments) or "report"
    return folder / f"{name}.html"


def write_report(project: Project, increments: list[str] | None = None,
                 output: str | os.PathLike[str] | None = None, *, where: str | None = None,
                 metric: str | None = None) -> ReportResult:
    """The views as one self-contained HTML file at `output` (default: `report_path`)."""
    from ..storage.atomic_writes import atomic_write

    started = time.perf_counter()
    page, bundle = report_html(project, increments, where=where, metric=metric)
    target = Path(output) if output is not None else report_path(project, bundle.table.increments)
    data = page.encode("utf-8")
    atomic_write(target, data)
    shown = target
    try:
        shown = target.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        pass
    return ReportResult(path=shown.as_posix(), bytes=len(data), runs=len(bundle.table.rows),
                        metrics=list(bundle.curves), seconds=round(time.perf_counter() - started, 3))


__all__ = ["ASSET_TYPES", "BOKEH_FILES", "CSP", "LIVE_CSP", "OFFLINE_CSP", "PAGE_MODULES", "DashboardUnavailable",
           "IncrementEntry", "PageMemo", "ReportResult", "asset", "bokeh_dir", "inline_scripts", "json_for_script",
           "page_script", "render_page", "report_html", "report_path", "write_report"]
