"""A diff of two runs as text: what `sw-ml diff` prints and the MCP tool `diff_experiments` answers with.

One formatter for every face that shows a diff as text; the diff itself is `skill.repro.diff`.
"""

from __future__ import annotations

from typing import Any

from ..analysis.render import short_number
from ..schemas.reproduction import ExperimentDiff


def _value(value: Any) -> str:
    return short_number(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def _changes(title: str, changes: Any, out: list[str]) -> None:
    if changes.empty:
        return
    out.append(f"{title}:")
    out += [f"  + {k}: {_value(v)}" for k, v in changes.added.items()]
    out += [f"  - {k}: {_value(v)}" for k, v in changes.removed.items()]
    out += [f"  ~ {k}: {_value(a)} -> {_value(b)}" for k, (a, b) in changes.changed.items()]


def diff_text(diff: ExperimentDiff) -> str:
    """Params, metrics with their deltas, code, data, environment and packages, then the unified code diff."""
    out = [f"diff {diff.a} -> {diff.b}"]
    _changes("params", diff.params, out)
    if diff.metrics:
        out.append("metrics:")
        width = max(len(k) for k in diff.metrics)
        for key, m in diff.metrics.items():
            line = f"  {key.ljust(width)}  {_value(m.a) if m.a is not None else '-'} -> " \
                   f"{_value(m.b) if m.b is not None else '-'}"
            if m.delta is not None and m.delta != 0:
                line += f"  ({m.delta:+.6g}" + (f", {m.rel * 100:+.2f}%" if m.rel is not None else "") + ")"
            elif m.delta == 0:
                line += "  (same)"
            out.append(line)
    code = diff.code
    if code.same is True:
        out.append(f"code: same ({code.a} and {code.b})")
    elif code.same is False:
        out.append(f"code: {code.a} -> {code.b}, {len(code.files)} file(s) differ")
        for f in code.files:
            counts = f" (+{f.added} -{f.removed})" if f.added is not None else " (binary)"
            out.append(f"  {f.status} {f.path}{counts}")
    else:
        out.append(f"code: {code.a or '?'} -> {code.b or '?'}")
    out += [f"  ! {p}" for p in code.problems]
    _changes("data", diff.data, out)
    _changes("environment", diff.environment, out)
    _changes("packages", diff.packages, out)
    if diff.params.empty and diff.data.empty and diff.environment.empty and diff.packages.empty and code.same:
        out.append("(same params, code, data and environment)")
    text = "\n".join(out) + "\n"
    if code.diff:
        text += "\n" + code.diff + ("" if code.diff.endswith("\n") else "\n")
        if code.truncated:
            text += "... (diff truncated: --max-code-bytes shows more)\n"
    return text


__all__ = ["diff_text"]
