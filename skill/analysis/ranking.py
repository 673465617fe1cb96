"""A comparison ranked: the computed best and why, a decision that overrides it, and the rows ranked and
paged (the one projection every face answers with)."""

from __future__ import annotations

from ..errors import InvalidInput
from ..schemas.records import full_ref
from ..schemas.reports import DEFAULT_TOP, Comparison, ComparisonPage, ComparisonRow
from .metric_names import finite, infer_goal, is_helper
from .paging import paginate, query_fingerprint
from .render import short_duration, short_number


def _pct(delta: float, base: float) -> str:
    return f", {delta / abs(base) * 100:+.1f}%" if base else ""



def explain_decision(c: Comparison, row: ComparisonRow) -> None:
    """`reasons` about the decision's run; `override` when the metric ranks another run first."""
    decision = c.decision
    assert decision is not None
    rationale = " ".join(decision.rationale.split())
    if len(rationale) > 160:
        rationale = rationale[:157] + "..."
    selected = f"Selected by the logged decision of {decision.ts:%Y-%m-%d}" + (f": {rationale}" if rationale else "")
    metric, computed = c.primary_metric, c.computed_best
    if computed is None or computed == row.id or not metric:
        c.reasons = [selected, *c.computed_reasons]
        return
    top = next(r for r in c.rows if r.id == computed)
    best_value, mine = top.metrics[metric], finite(row.metrics.get(metric))
    candidates = sorted((r for r in c.rows if r.candidate), key=lambda r: (-1.0 if c.goal == "max" else 1.0)
                        * r.metrics[metric])
    if mine is None:
        standing = f"{row.id} has no {metric} value" + (f" ({', '.join(row.marks)})" if row.marks else "")
    else:
        margin = abs(best_value - mine)
        rank = next((i for i, r in enumerate(candidates, 1) if r.id == row.id), None)
        place = f"ranked {rank} of {len(candidates)}" if rank else "not ranked: " + (", ".join(row.marks)
                                                                                      or "represented by its parent")
        standing = (f"{row.id} has {metric} {short_number(mine)}, {place}; {computed} ranks first with "
                    f"{short_number(best_value)} (margin {short_number(margin)}{_pct(mine - best_value, best_value)})")
    c.override = f"The decision selects {row.id} over the computed best {computed}: {standing}"
    c.reasons = [selected, c.override]


def rank(c: Comparison) -> None:
    """Pick the computed best among candidates and explain it (`reasons` and `computed_reasons` alike:
    a decision read afterwards rewrites `reasons` about its own run)."""
    _rank_computed(c)
    c.computed_reasons = list(c.reasons)


def _rank_computed(c: Comparison) -> None:
    metric, goal = c.primary_metric, c.goal
    candidates = [r for r in c.rows if r.candidate]
    if not metric or not candidates:
        if c.rows:
            c.reasons.append("No experiment can be ranked: none is completed, undamaged and has "
                             + (f"a {metric} value" if metric else "metrics") + ".")
        return
    sign = -1.0 if goal == "max" else 1.0
    candidates.sort(key=lambda r: sign * r.metrics[metric])
    best = candidates[0]
    best.best = True
    c.best = c.computed_best = best.id
    word = "Highest" if goal == "max" else "Lowest"
    value = best.metrics[metric]
    if len(candidates) == 1:
        c.reasons.append(f"{word} {metric} ({short_number(value)}): the only experiment that can be ranked")
    else:
        runner = candidates[1]
        c.runner_up = runner.id
        other = runner.metrics[metric]
        margin = abs(value - other)
        c.reasons.append(f"{word} {metric} ({short_number(value)} vs {short_number(other)} for {runner.id}: "
                         f"margin {short_number(margin)}{_pct(value - other, other)})")
        stds = [s for s in (best.cv_std, runner.cv_std) if s is not None]
        if stds and margin < max(stds):
            c.warnings.append(f"⚠️ The margin over {runner.id} ({short_number(margin)}) is within the "
                              f"cross-validation std ({short_number(max(stds))}): the difference may be noise")
        elif stds:
            c.reasons.append(f"Margin larger than the cross-validation std ({short_number(max(stds))})")
    kids = [r for r in c.rows if r.parent == best.id and finite(r.metrics.get(metric)) is not None]
    if kids:
        top = min(kids, key=lambda r: sign * r.metrics[metric])
        c.reasons.append(f"Its best {'stage' if top.stage else 'child'}: {top.id} ({metric} "
                         f"{short_number(top.metrics[metric])})")
    also = []
    for other_metric in c.metrics:
        if other_metric == metric or is_helper(other_metric):
            continue
        direction = infer_goal(other_metric)
        values = [r.metrics[other_metric] for r in candidates if finite(r.metrics.get(other_metric)) is not None]
        mine = finite(best.metrics.get(other_metric))
        if direction is None or mine is None or len(values) < 2:
            continue
        top = max(values) if direction == "max" else min(values)
        if mine == top:
            also.append(other_metric)
    if also:
        c.reasons.append(f"Also best on {', '.join(also)}")
    times = [r.training_time_s for r in candidates if r.training_time_s is not None]
    if best.training_time_s is not None and len(times) > 1:
        c.reasons.append(f"Training time {short_duration(best.training_time_s)} (candidates: "
                         f"{short_duration(min(times))} to {short_duration(max(times))})")
    elif best.training_time_s is not None:
        c.reasons.append(f"Training time {short_duration(best.training_time_s)}")


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


__all__ = ["comparison_page", "explain_decision", "rank", "rank_rows"]
