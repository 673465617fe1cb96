"""Parameter importance of a sweep: each parameter's share of the score's variance.

For each parameter the combinations are grouped by its value; the
between-group sum of squares over the total sum of squares is the parameter's
eta squared (one-way ANOVA effect size). The shares are these values
normalised to sum to 1, so a parameter the score does not depend on gets a
share near 0 and the one that drives it ranks first. Interactions are not
separated: on a full grid each main effect is measured against the others
averaged out, which is what a person tuning one knob at a time wants to know.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

TABLE_FILE = "param_importance.md"
CHART_FILE = "param_importance.png"


@dataclass
class ParamImportance:
    """One parameter's effect on the score."""

    param: str
    importance: float  # share of the explained variance, all params sum to 1 (0 when nothing varies)
    eta_squared: float  # between-value sum of squares / total sum of squares
    levels: int  # distinct values tried
    best_value: Any = None
    mean_by_value: dict[str, float] = field(default_factory=dict)


def _level(value: Any) -> str:
    try:
        return json.dumps(value, sort_keys=True)
    except (TypeError, ValueError):
        return repr(value)


def param_importance(
    combos: list[dict[str, Any]], scores: list[float], *, greater_is_better: bool = True
) -> list[ParamImportance]:
    """Rank parameters by their share of the score variance; NaN scores (failed fits) are left out."""
    rows = [(c, float(s)) for c, s in zip(combos, scores) if s is not None and not math.isnan(float(s))]
    names = sorted({key for combo in combos for key in combo})
    if not rows:
        return [ParamImportance(name, 0.0, 0.0, 0) for name in names]
    mean = sum(s for _, s in rows) / len(rows)
    total = sum((s - mean) ** 2 for _, s in rows)
    found = []
    for name in names:
        groups: dict[str, list[float]] = {}
        values: dict[str, Any] = {}
        for combo, score in rows:
            key = _level(combo.get(name))
            groups.setdefault(key, []).append(score)
            values.setdefault(key, combo.get(name))
        means = {key: sum(v) / len(v) for key, v in groups.items()}
        between = sum(len(groups[key]) * (m - mean) ** 2 for key, m in means.items())
        eta = between / total if total > 0 else 0.0
        pick = max if greater_is_better else min
        best_key = pick(means, key=lambda k: means[k])
        shown = {(key if not isinstance(values[key], str) else values[key]): round(m, 6) for key, m in means.items()}
        found.append(ParamImportance(name, 0.0, min(max(eta, 0.0), 1.0), len(groups), values[best_key], shown))
    explained = sum(p.eta_squared for p in found)
    for p in found:
        p.importance = p.eta_squared / explained if explained > 0 else 0.0
    found.sort(key=lambda p: (-p.importance, p.param))
    return found


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def render_table(ranking: list[ParamImportance], *, title: str, metric: str, n_runs: int) -> str:
    """The markdown written beside the sweep as param_importance.md."""
    lines = [
        f"# Parameter importance: {title}",
        "",
        f"Share of the variance of `{metric}` over {n_runs} combinations that each parameter explains",
        "(one-way ANOVA: variance between the mean scores of its values over the total variance,",
        "normalised so the shares sum to 1).",
        "",
        "| Rank | Parameter | Importance | η² | Values | Best value | Mean score by value |",
        "|---:|---|---:|---:|---:|---|---|",
    ]
    for rank, p in enumerate(ranking, 1):
        by_value = ", ".join(f"{k}: {_fmt(v)}" for k, v in p.mean_by_value.items())
        best = json.dumps(p.best_value) if not isinstance(p.best_value, str) else p.best_value
        lines.append(
            f"| {rank} | {p.param} | {p.importance:.1%} | {_fmt(p.eta_squared)} | {p.levels} | "
            f"{best} | {by_value.replace('|', '/')} |"
        )
    return "\n".join(lines) + "\n"


def render_chart(ranking: list[ParamImportance], *, title: str) -> Any | None:
    """A horizontal bar chart (a matplotlib Figure), or None when matplotlib is not installed."""
    try:
        from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend
    except ImportError:
        return None
    shown = list(reversed(ranking))
    figure = Figure(figsize=(6, 0.5 * len(shown) + 1.2))
    axes = figure.subplots()
    axes.barh([p.param for p in shown], [p.importance for p in shown], color="#4c72b0")
    axes.set_xlim(0, 1)
    axes.set_xlabel("share of score variance")
    axes.set_title(f"Parameter importance: {title}", fontsize=10)
    for index, p in enumerate(shown):
        if p.importance > 0.85:  # no room right of the bar: write inside its end
            axes.text(p.importance - 0.01, index, f"{p.importance:.0%}", va="center", ha="right", color="white")
        else:
            axes.text(p.importance + 0.01, index, f"{p.importance:.0%}", va="center")
    figure.tight_layout()
    return figure


def write_importance(exp: Any, ranking: list[ParamImportance], *, title: str, metric: str, n_runs: int) -> None:
    """Save the table (and the chart where matplotlib is installed) into the sweep's parent experiment."""
    exp.save_artifact(TABLE_FILE, render_table(ranking, title=title, metric=metric, n_runs=n_runs))
    figure = render_chart(ranking, title=title)
    if figure is not None:
        exp.save_artifact(CHART_FILE, figure)
