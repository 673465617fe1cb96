"""The runs table, the parallel-coordinates and scatter data, and the compare view.

The table uses the rules every face uses: `Project` hands it the runs `Project.experiments` listed (the
`--where` filter language and sort keys) and each increment's `Project.compare` (primary metric, goal,
best run and decision), so a run the CLI calls best is the run the page marks best.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ..analysis.importance import is_seed, log_spaced, param_importance
from ..analysis.metric_names import metric_columns
from ..analysis.primary import differing_params
from ..errors import InvalidInput
from ..schemas.pages import CompareView, DecisionMark, Importance, ParallelView, ParamAxis, RunRow, RunsTable
from ..schemas.records import ExperimentRecord, _json_float, full_ref
from ..schemas.reports import Comparison


def run_key(record: ExperimentRecord) -> str:
    """`<increment>/<folder>`: unique across clones, and `Project.experiment` resolves it."""
    return f"{record.increment}/{record.dir}"


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def run_row(record: ExperimentRecord, primary: str | None, best: set[str], chosen: set[str]) -> RunRow:
    meta = record.meta
    key = run_key(record)
    return RunRow(key=key, ref=full_ref(record.increment, record.id), id=record.id, increment=record.increment,
                  name=record.name, status=record.status, tags=list(record.tags),
                  started=meta.started if meta else None, duration_s=meta.duration_s if meta else None,
                  parent=meta.parent if meta else None, stage=meta.stage if meta else None,
                  params=dict(record.params),
                  metrics={k: _json_float(v) if isinstance(v, float) else v for k, v in record.metrics.items()},
                  primary=_finite(record.metrics.get(primary)) if primary else None,
                  selected=key in chosen, best=key in best, damaged=bool(record.problems))


def runs_table(root: Path, ids: list[str], records: list[ExperimentRecord], comparisons: list[Comparison], *,
               where: str | None = None, sort: str | None = None, columns: list[str] | None = None,
               primary_metric: str | None = None) -> RunsTable:
    """The runs table of `records` (the runs of increments `ids` that the filter kept), marked with the
    primary metric, goal, best run and decision of each increment's comparison (`comparisons`)."""
    primary, goal = primary_metric, None
    best: set[str] = set()
    chosen: set[str] = set()
    decisions: list[DecisionMark] = []
    for c in comparisons:  # the same primary metric, goal, best run and decision as compare-experiments
        inc = c.increment
        primary, goal = primary or c.primary_metric, goal or c.goal
        by_id = {row.id: row.dir for row in c.rows}
        if c.computed_best in by_id:
            best.add(f"{inc}/{by_id[c.computed_best]}")
        if c.decision is not None:
            folder = c.decision.selected_dir or by_id.get(c.decision.selected)
            if folder:
                chosen.add(f"{inc}/{folder}")
            decisions.append(DecisionMark(increment=inc, selected=c.decision.selected,
                                          rationale=c.decision.rationale, ts=c.decision.ts))
    present = {k for r in records for k, v in r.metrics.items() if isinstance(v, (int, float))}
    if columns:
        unknown = [c for c in columns if c not in present]
        if unknown:
            raise InvalidInput("column", unknown[0], "a metric some listed run logged: "
                               + (", ".join(metric_columns(present)[:8]) or "none logged yet"))
        shown = list(dict.fromkeys(columns))
    else:
        ordered = metric_columns(present)
        shown = ([primary] if primary in present else []) + [m for m in ordered if m != primary]
    history = _history_keys(root, records)
    curve_metrics = [*history, *sorted({k for r in records for k in _logged_keys(r)} - set(history))]
    differing = differing_params(records)
    return RunsTable(increments=ids, primary_metric=primary, goal=goal, columns=shown, param_columns=differing,
                     seed_params=[p for p in differing if is_seed(p)],
                     log_params=[p for p in differing if log_spaced([r.params.get(p) for r in records])],
                     curve_metrics=curve_metrics, history_metrics=history,
                     rows=[run_row(r, primary, best, chosen) for r in records], decisions=decisions,
                     where=where or None, sort=sort or None)


SAMPLED = 20  # runs whose logs are counted to tell a metric with a history from one logged once


def _history_keys(root: Path, records: list[ExperimentRecord]) -> list[str]:
    """Metrics with more than one point in one of the first SAMPLED runs (a count of keys per log, cheap)."""
    from ..storage.run_metrics import log_key_counts

    found: set[str] = set()
    for record in records[:SAMPLED]:
        if record.meta is None or record.meta.source != "specweave":
            continue
        try:
            counts = log_key_counts(Path(record.path), root)
        except OSError:
            continue
        found.update(k.decode("utf-8", "replace") for k, n in counts.items() if n > 1)
    return sorted(found)


def _logged_keys(record: ExperimentRecord) -> list[str]:
    """The metrics a run has points of: its summary's keys (metrics.json holds each logged key)."""
    return [k for k, v in record.metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]


def parallel_view(table: RunsTable, runs: list[str] | None = None, metric: str | None = None) -> ParallelView:
    """Params against `metric` (default: the table's primary metric) over `runs` (default: every row)."""
    rows = [r for r in table.rows if runs is None or r.key in set(runs)]
    metric = metric or table.primary_metric
    if metric is not None and not any(metric in r.metrics for r in rows):
        raise InvalidInput("metric", metric, "a metric of the runs shown: " + (", ".join(table.columns[:8]) or "none"))
    names = [p for p in (table.param_columns or sorted({k for r in rows for k in r.params}))
             if any(_axis_value(r.params.get(p)) is not None for r in rows)][:24]
    axes = []
    for name in names:
        values = [_axis_value(r.params.get(name)) for r in rows]
        numeric = all(v is None or isinstance(v, (int, float)) for v in values)
        if numeric:
            axes.append(ParamAxis(name=name, kind="number", values=values, log_scale=log_spaced(values)))
        else:
            cats = sorted({str(v) for v in values if v is not None})
            axes.append(ParamAxis(name=name, kind="category", values=[None if v is None else str(v) for v in values],
                                  categories=cats))
    goal = table.goal
    importance: list[Importance] = []
    if metric:
        scores = [_finite(r.metrics.get(metric)) for r in rows]
        axes.append(ParamAxis(name=metric, kind="number", values=scores, log_scale=log_spaced(scores)))
        pairs = [({n: r.params.get(n) for n in names}, s) for r, s in zip(rows, scores) if s is not None]
        if len(pairs) >= 3 and names:
            ranking = param_importance([c for c, _ in pairs], [s for _, s in pairs], greater_is_better=goal != "min")
            importance = [Importance(param=p.param, importance=round(p.importance, 6), levels=p.levels,
                                     best_value=_axis_value(p.best_value), correlation=p.correlation,
                                     effect=p.effect, excluded=p.excluded) for p in ranking]
    return ParallelView(metric=metric, goal=goal, runs=[r.key for r in rows], labels=[r.ref for r in rows],
                        axes=axes, importance=importance)


def _axis_value(value: Any) -> Any:
    """A param as an axis shows it: finite numbers stay numbers, bools and the rest become text."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return value if math.isfinite(value) else None
    if isinstance(value, (list, dict)):
        import json

        return json.dumps(value, sort_keys=True)[:60]
    return str(value)[:60]


def compare_view(c: Comparison, records: list[ExperimentRecord]) -> CompareView:
    """`records` (runs of one increment) side by side, by their comparison `c` (its ranking and reasons)."""
    inc = c.increment
    by_dir = {r.dir: r for r in records}
    # the best (the decision's run when there is one) first, then the ranked candidates, each
    # reproduction right after its original, then the rest
    sign = -1.0 if c.goal == "max" else 1.0
    metric = c.primary_metric
    score = {row.dir: sign * row.metrics[metric] if row.candidate and metric else 0.0 for row in c.rows}
    rows_of = {row.id: row for row in c.rows}

    def rank(row: Any) -> tuple[Any, ...]:
        head = rows_of.get(row.reproduces) if row.reproduces else None
        lead = head or row
        return (0 if lead.id == c.best else 1 if lead.candidate else 2, score.get(lead.dir, 0.0),
                c.rows.index(lead), head is not None)
    order = [row.dir for row in sorted((r for r in c.rows if r.dir in by_dir), key=rank)]
    return CompareView(
        increment=inc, primary_metric=c.primary_metric, goal=c.goal,
        runs=[run_key(by_dir[d]) for d in order], labels=[full_ref(inc, by_dir[d].id) for d in order],
        metrics=list(c.metrics), differing_params=list(c.differing_params),
        params=[dict(by_dir[d].params) for d in order],
        values=[{m: _json_float(v) if isinstance(v := by_dir[d].metrics.get(m), float) else v for m in c.metrics}
                for d in order],
        best=c.best, computed_best=c.computed_best, reasons=list(c.reasons),
        computed_reasons=list(c.computed_reasons), override=c.override,
        reproductions={run_key(by_dir[row.dir]): row.reproduces for row in c.rows
                       if row.reproduces and row.dir in by_dir},
        warnings=list(c.warnings))


__all__ = ["compare_view", "parallel_view", "run_key", "run_row", "runs_table"]
