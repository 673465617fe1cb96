"""comparison.md: a Comparison rendered as the report every clone keeps beside its runs."""

from __future__ import annotations

from ..schemas.reports import Comparison
from .metric_names import metric_title
from .render import cell_number, md_table, render, short_duration, short_number

MAX_PARAM_COLUMNS = 8


def render_comparison(c: Comparison) -> str:
    headers = ["Experiment", *(metric_title(m) for m in c.metrics), "Training Time"]
    # each cell formatted on its own (no column-wide decimals): adding a run never rewrites another's row
    body = []
    for row in c.rows:
        label = ("└ " * row.depth) + row.id
        if row.stage:
            label += f" [{row.stage}]"
        if row.marks:
            label += " (" + ", ".join(row.marks) + ")"
        if row.selected:
            label += " ✅"
        body.append([label, *(cell_number(row.metrics[m]) if m in row.metrics else "—" for m in c.metrics),
                     short_duration(row.training_time_s)])
    # the report shows the params most experiments set (the dataframe has them all)
    # first those whose set values differ (max_depth 2 vs 4), then those set by most experiments
    def rank(p: str) -> tuple[int, int, str]:
        values = [row.params.get(p) for row in c.rows if row.params.get(p) is not None]
        return (0 if len({repr(v) for v in values}) > 1 else 1, -len(values), p)

    shown = sorted(c.differing_params, key=rank)[:MAX_PARAM_COLUMNS]
    param_rows = [[row.id, *(short_number(row.params.get(p)) for p in shown)]
                  for row in c.rows]
    damaged = [(row.id, p) for row in c.rows for p in row.problems]
    return render(
        "comparison.md.j2", c=c, table=md_table(headers, body),
        params_table=md_table(["Experiment", *shown], param_rows)
        if shown and len(c.rows) > 1 else [],
        params_hidden=len(c.differing_params) - len(shown),
        damaged=damaged,
    )


__all__ = ["MAX_PARAM_COLUMNS", "render_comparison"]
