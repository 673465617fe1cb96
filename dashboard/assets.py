"""The page's files: our script and style (package data here) and BokehJS, read from the installed
`bokeh` package (its `server/static/js`), never from a CDN and never copied into this repository.

Why BokehJS: it ships inside a Python package (no npm step at build time), is BSD-3 licensed and
well kept (NumFOCUS, releases every few months), draws on a canvas (100 runs of 1,000 points in
well under a second), streams appended points into a plot without redrawing the rest, and is
1.4 MB of JavaScript: plotly.js alone is 4.8 MB, nearly the whole 5 MB a report may take, and
takes longer to parse than our budget for drawing 100 curves.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

from skill.errors import SpecweaveError

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
BOKEH_FILES = ("bokeh.min.js", "bokeh-api.min.js")


class DashboardUnavailable(SpecweaveError):
    exit_code = 5


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


def bokeh_js(name: str) -> bytes:
    if name not in BOKEH_FILES:
        raise KeyError(name)
    return (bokeh_dir() / name).read_bytes()


def static_text(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")


def inline_scripts() -> str:
    """BokehJS and our script as inline <script> elements, with Bokeh's licence in a comment."""
    licence = bokeh_licence().replace("*/", "* /")
    parts = [f"<!-- BokehJS {bokeh_version()}, from the bokeh Python package; BSD-3-Clause -->\n<script>/*!\n"
             f"BokehJS {bokeh_version()}: BSD-3-Clause licence\n{licence}\n*/\n"]
    for name in BOKEH_FILES:
        parts.append(_script_safe(bokeh_js(name).decode("utf-8")))
        parts.append("\n")
    parts.append("</script>\n<script>\n" + _script_safe(static_text("app.js")) + "\n</script>")
    return "".join(parts)


def _script_safe(text: str) -> str:
    # A literal "</script" inside inline code would end the element early.
    return text.replace("</script", "<\\/script")


__all__ = ["BOKEH_FILES", "DashboardUnavailable", "bokeh_dir", "bokeh_js", "bokeh_licence", "bokeh_version",
           "inline_scripts", "static_text"]
