"""Rendering markdown from the Jinja templates in `templates/`.

Renderers return strings; writing them is a separate atomic step. The
environment is built once, on first use (jinja2 is imported lazily).
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Any

from ..resources_path import data_dir


def short_number(value: Any) -> str:
    """A compact form for tables: 0.87, 0.8734, 1234, 1.23e+06, NaN, inf; ints stay ints."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        if value == int(value) and abs(value) < 1e6:
            return str(int(value))
        return format(value, ".4g")
    return str(value)


def column_numbers(values: list[Any]) -> list[str]:
    """Numbers of one table column with the same decimals (0.65, 0.60, 0.84), as people write them: for
    tables printed in a terminal (committed tables use `cell_number`, which never looks at other rows).

    Up to 4 decimals, as few as the column needs; a column holding very large or
    tiny values falls back to short_number per cell.
    """
    floats = [v for v in values if isinstance(v, float) and math.isfinite(v)]
    if any(abs(v) >= 1e6 or 0 < abs(v) < 1e-3 for v in floats):
        return [short_number(v) for v in values]
    decimals = 0
    for v in floats:
        for d in range(5):
            if abs(round(v, d) - v) <= 1e-9 * max(1.0, abs(v)):
                break
        decimals = max(decimals, d)
    out = []
    for v in values:
        if isinstance(v, float) and math.isfinite(v):
            out.append(f"{v:.{decimals}f}")
        else:
            out.append(short_number(v))
    return out


def cell_number(value: Any) -> str:
    """A metric in a committed table: up to 4 decimals, at least 2 (0.65, 0.60, 0.8734), decided by the
    value alone: a column-wide choice of decimals would rewrite every row when one run adds a digit."""
    if isinstance(value, float) and not isinstance(value, bool) and math.isfinite(value) \
            and (value == 0 or 1e-3 <= abs(value) < 1e6):
        text = f"{value:.4f}".rstrip("0")
        whole, _, decimals = text.partition(".")
        return f"{whole}.{decimals.ljust(2, '0')}"
    return short_number(value)


def short_duration(seconds: Any) -> str:
    """Seconds as people read them in a table: 850µs, 42ms, 2.5s, 45s, 320s (a unit that keeps the
    figure meaningful: never "<0.01s")."""
    if seconds is None or not isinstance(seconds, (int, float)) or isinstance(seconds, bool):
        return "—"
    if math.isnan(seconds):
        return "—"
    if seconds <= 0:  # a run's duration is kept to the millisecond: 0 is a run under one, not "0µs"
        return "<1ms"
    if seconds < 0.001:
        return f"{max(seconds, 0) * 1e6:.0f}µs"
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 10:
        return f"{float(seconds):.2g}s"
    return f"{seconds:.0f}s"


_PIPE = re.compile(r"(\\*)\|")
# A markdown link or image whose target is not http(s) (`[x](javascript:...)`, `![](data:...)`) and a link
# reference definition (`[x]: javascript:...`): the bracket or parenthesis is escaped, so no link is made.
_INLINE_LINK = re.compile(r"\]\((?!\s*<?\s*https?://)", re.IGNORECASE)
_REFERENCE_LINK = re.compile(r"^( {0,3})\[(?=[^\]\n]*\]:(?!\s*<?\s*https?://))", re.IGNORECASE | re.MULTILINE)


def _inert(text: str) -> str:
    """User text that can add no HTML and no link other than http(s) to the markdown the tracker commits
    (GitHub, GitLab and editors render comparison.md and the living docs): `&`, `<`, `>` become entities
    (which also keeps our `<!-- -->` markers intact), and a link to any other scheme loses its syntax."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _INLINE_LINK.sub("]\\(", text)
    return _REFERENCE_LINK.sub(r"\1\\[", text)


def md_cell(value: Any) -> str:
    """Text made safe for one markdown table cell or list line (no pipes, newlines, HTML or non-http links).

    Every `|` comes out escaped as `\\|`, and the backslashes already before one are
    doubled first: GitHub's table parser reads `\\\\|` as a backslash and then a cell
    break, so escaping the pipe alone would let `a\\|b` split the row.
    """
    text = str(value) if value is not None else ""
    text = text.replace("\r\n", " ").replace("\r", " ").replace("\n", " ")
    text = _PIPE.sub(lambda m: m.group(1) * 2 + "\\|", text)
    return _inert(text)


def md_table(headers: list[Any], rows: list[list[Any]]) -> list[str]:
    """The lines of a markdown table, one row per line and never padded.

    Not aligned on purpose: padding every cell to the widest one would rewrite every row of a
    committed table when one run with a longer name or value is added; unpadded, a row that did
    not change stays byte-identical and a diff (or a merge) shows only the rows that did.
    The one place tables are made: every header and cell goes through md_cell here, so callers
    pass plain text (a metric named `acc|x` stays one column).
    """
    head = [md_cell(h) for h in headers]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in rows]
    return lines


def md_text(value: Any) -> str:
    """Multi-line text kept as is, except that it holds no HTML (so never our comment markers either) and no
    link other than http(s)."""
    text = str(value) if value is not None else ""
    return _inert(text.replace("\r\n", "\n"))


@lru_cache(maxsize=1)
def environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(data_dir("templates"))),
        autoescape=False,  # markdown, not HTML; user text goes through md_cell / md_text
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(num=short_number, duration=short_duration, cell=md_cell, text=md_text)
    return env


def render(template: str, **context: Any) -> str:
    """Render `templates/<template>` with the context; always ends with exactly one newline."""
    text = environment().get_template(template).render(**context)
    return text.rstrip("\n") + "\n"


def template_module(template: str, **context: Any) -> Any:
    """A template's macros, for templates that render pieces (e.g. one living-docs section)."""
    return environment().get_template(template).make_module(context)


__all__ = ["cell_number", "column_numbers", "environment", "md_cell", "md_table", "md_text", "render", "short_duration",
           "short_number", "template_module"]
