"""A comparison ranked and paged: the one projection every face answers with."""

from __future__ import annotations

from ..errors import InvalidInput
from ..schemas.records import full_ref
from ..schemas.reports import DEFAULT_TOP, Comparison, ComparisonPage, ComparisonRow
from .paging import paginate, query_fingerprint


def rank_rows(c: Comparison) -> list[ComparisonRow]:
    """The rows best first: the best, the other candidates by the primary metric (goal-wise), then
    every row that cannot be ranked, in table order."""
    metric, sign = c.primary_metric, (-1.0 if c.goal == "max" else 1.0)
    ranked = [r for r in c.rows if r.candidate and metric and isinstance(r.metrics.get(metric), (int, float))]
    ranked.sort(key=lambda r: (r.id != c.best, sign * float(r.metrics[metric])))  # type: ignore[index]
    chosen = {id(r) for r in ranked}
    best = [r for r in c.rows if r.id == c.best and id(r) not in chosen]  # a decision's choice that is no candidate
    return [*best, *ranked, *(r for r in c.rows if id(r) not in chosen and r.id != c.best)]


def comparison_page(c: Comparison, *, limit: int = DEFAULT_TOP, cursor: str | None = None,
                    fields: list[str] | None = None) -> ComparisonPage:
    """`c` ranked and paged (see ComparisonPage); the same projection on every face."""
    rows = rank_rows(c)
    if fields:
        known = [*c.metrics, *c.differing_params, *(f"params.{p}" for p in c.differing_params),
                 *(f"metrics.{m}" for m in c.metrics)]
        unknown = [f for f in fields if f not in known]
        if unknown:
            raise InvalidInput("fields", unknown[0], "metric or param columns of this comparison: "
                               + ", ".join([*c.metrics, *c.differing_params][:20]))
        wanted = {f.split(".", 1)[1] if f.startswith(("params.", "metrics.")) else f for f in fields}
        rows = [r.model_copy(update={"metrics": {k: v for k, v in r.metrics.items() if k in wanted},
                                     "params": {k: v for k, v in r.params.items() if k in wanted}})
                for r in rows]
    else:  # the table's columns only: per-fold and helper metrics stay in comparison.md's source runs
        columns = set(c.metrics)
        rows = [r.model_copy(update={"metrics": {k: v for k, v in r.metrics.items() if k in columns}})
                for r in rows]
    fingerprint = query_fingerprint(increment=c.increment, rows=[r.dir for r in c.rows], fields=fields or None,
                                    metric=c.primary_metric, goal=c.goal)
    page, next_cursor = paginate(rows, cursor=cursor, limit=limit, fingerprint=fingerprint)
    return ComparisonPage(
        increment=c.increment, title=c.title, primary_metric=c.primary_metric, goal=c.goal,
        goal_source=c.goal_source, metrics=c.metrics, best=c.best,
        best_ref=full_ref(c.increment, c.best) if c.best else None, computed_best=c.computed_best,
        runner_up=c.runner_up, reasons=c.reasons, override=c.override,
        warnings=c.warnings, decision=c.decision,
        differing_params=c.differing_params, total=len(c.rows), rows=page, next_cursor=next_cursor,
        report_path=c.report_path)
