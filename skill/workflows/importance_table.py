"""Parameter importance written beside a sweep: param_importance.md and a bar chart (the method itself is
`skill.analysis.importance`)."""

from __future__ import annotations

import json
from typing import Any

from ..analysis.importance import ParamImportance

TABLE_FILE = "param_importance.md"
CHART_FILE = "param_importance.png"


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def render_table(ranking: list[ParamImportance], *, title: str, metric: str, n_runs: int) -> str:
    """The markdown written beside the sweep as param_importance.md."""
    lines = [
        f"# Parameter importance: {title}",
        "",
        f"Share of the variance of `{metric}` over {n_runs} runs that each parameter explains beyond chance",
        "(epsilon squared of a one-way ANOVA over its values, numbers with many values in equal-count bins,",
        "on log10 when log-spaced; normalised so the shares sum to 1). Direction: Spearman's rho.",
        "Seeds and constant parameters are not ranked.",
        "",
        "| Rank | Parameter | Importance | ε² | Values | Best run's value | Direction (ρ) | Mean score by value |",
        "|---:|---|---:|---:|---:|---|---|---|",
    ]
    for rank, p in enumerate(ranking, 1):
        by_value = ", ".join(f"{k}: {_fmt(v)}" for k, v in p.mean_by_value.items())
        direction = "" if p.correlation is None else f"{p.effect} ({p.correlation:+.2f})"
        share = f"{p.importance:.1%}" if p.excluded is None else f"not ranked ({p.excluded})"
        lines.append(
            f"| {rank} | {p.param} | {share} | {_fmt(p.effect_size)} | {p.levels} | "
            f"{_shown(p.best_value)} | {direction} | {by_value.replace('|', '/')} |"
        )
    return "\n".join(lines) + "\n"


def render_chart(ranking: list[ParamImportance], *, title: str) -> Any | None:
    """A horizontal bar chart (a matplotlib Figure), or None when matplotlib is not installed."""
    try:
        from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend
    except ImportError:
        return None
    shown = list(reversed([p for p in ranking if p.excluded is None]))
    figure = Figure(figsize=(6, 0.5 * len(shown) + 1.2))
    axes = figure.subplots()
    axes.barh([p.param for p in shown], [p.importance for p in shown], color="#4c72b0")
    axes.set_xlim(0, 1)
    axes.set_xlabel("share of score variance explained (epsilon squared, normalised)")
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
