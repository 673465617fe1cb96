"""What "best" is measured by, decided once for every face: the primary metric, its direction, and
the params that differ between runs.

- Primary metric: the one given; else `primary_metric` of `.specweave/ml.yaml` (when a run logged it);
  else the first metric, in column order, that every unit has (a unit: a usable run that no usable
  compared parent represents); else the one most units have. Helpers (`*_std`, folds, time) only when
  nothing else was logged.
- Direction (`metric_goal`): the goal given; else ml.yaml's `goal` when it configures that metric;
  else what the name says (`infer_goal`); else unknown. A ranking needs a direction, so compare
  takes an unknown one as higher-is-better and says so (source "assumed"); a view that only shows
  a "best" value shows none for an unknown direction (`known_goal`).
- Params that differ (`differing_params`): among the runs that logged any params (a run that crashed
  before logging its params would otherwise make every param look different), those whose values
  differ, a param one run lacks counting as a different value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from ..errors import InvalidInput
from ..schemas.records import ExperimentRecord
from ..schemas.reports import Goal
from .metric_names import finite, infer_goal, is_helper, metric_order

PrimarySource = Literal["given", "config", "shared", "most"]
GoalSource = Literal["given", "config", "inferred", "assumed"]


def read_config(root: Path) -> dict[str, Any]:
    """`.specweave/ml.yaml` settings (`primary_metric`, `goal`) as a dict; {} when there is no file."""
    from ..config import load_config

    return load_config(root).model_dump()


def validate_goal(goal: object, what: str = "goal") -> Goal | None:
    if goal is None:
        return None
    if goal not in ("max", "min"):
        raise InvalidInput(what, goal, "'max' (higher is better) or 'min' (lower is better)")
    return goal  # type: ignore[return-value]


def usable(record: ExperimentRecord) -> bool:
    """A run that can be ranked at all: completed, undamaged, with a finite metric."""
    return record.status == "completed" and not record.problems and any(
        finite(v) is not None for v in record.metrics.values())


def parent_in(record: ExperimentRecord, by_id: dict[str, ExperimentRecord]) -> ExperimentRecord | None:
    """The run's parent (a stage's pipeline, a sweep child's sweep) when it is among `by_id`."""
    parent = record.meta.parent if record.meta else None
    return by_id.get(parent) if parent and parent != record.id else None


def numeric_metrics(records: list[ExperimentRecord]) -> set[str]:
    """Every metric name some run logged a number for."""
    return {k for r in records for k, v in r.metrics.items() if isinstance(v, (int, float))}


def choose_primary(records: list[ExperimentRecord], config: dict[str, Any],
                   given: str | None = None) -> tuple[str | None, PrimarySource | None]:
    """(the primary metric, where it came from) for these runs, by the rule of the module doc; a
    `given` metric no run logged is refused with the ones that were."""
    present = numeric_metrics(records)
    if given is not None:
        if not isinstance(given, str) or given not in present:
            raise InvalidInput("primary metric", given,
                               "one of " + (", ".join(metric_order(present)) or "the metrics logged"))
        return given, "given"
    configured = config.get("primary_metric")
    if isinstance(configured, str) and configured in present:
        return configured, "config"
    by_id = {r.id: r for r in records}
    base = [r for r in records if usable(r)]
    # children of a compared parent are judged through the parent, unless it has no metrics
    units = [r for r in base if not ((parent := parent_in(r, by_id)) and usable(parent))]
    pool = [m for m in metric_order(present) if not is_helper(m)] or metric_order(present)
    shared = [m for m in pool if units and all(finite(r.metrics.get(m)) is not None for r in units)]
    if shared:
        return shared[0], "shared"
    if pool and units:
        counts = {m: sum(finite(r.metrics.get(m)) is not None for r in units) for m in pool}
        return max(pool, key=lambda m: counts[m]), "most"
    return None, None


def metric_goal(metric: str, config: dict[str, Any], given: object = None) -> tuple[Goal, GoalSource]:
    """(the direction of `metric`, where it came from): given, ml.yaml's (for its primary metric, a bad
    value refused), the name's, else "max" assumed (a ranking needs one; the report says so)."""
    goal = validate_goal(given)
    if goal is not None:
        return goal, "given"
    config_goal = validate_goal(config.get("goal"), "goal in .specweave/ml.yaml")
    if config_goal and config.get("primary_metric") == metric:
        return config_goal, "config"
    inferred = infer_goal(metric)
    return (inferred, "inferred") if inferred else ("max", "assumed")


def known_goal(metric: str, config: dict[str, Any]) -> Goal | None:
    """`metric_goal` without the assumption, for a view that shows a best value only when the
    direction is known: None for a name that says nothing (and for a bad goal in ml.yaml)."""
    try:
        goal, source = metric_goal(metric, config)
    except InvalidInput:
        return infer_goal(metric)
    return None if source == "assumed" else goal


def differing_params(records: list[ExperimentRecord]) -> list[str]:
    """Params whose values differ among the runs that logged any (see the module doc), sorted."""
    records = [r for r in records if r.params]
    keys = sorted({k for r in records for k in r.params})
    return [key for key in keys if len({repr(r.params.get(key, "<unset>")) for r in records}) > 1]


__all__ = ["choose_primary", "differing_params", "known_goal", "metric_goal", "numeric_metrics", "parent_in",
           "read_config", "usable", "validate_goal"]
