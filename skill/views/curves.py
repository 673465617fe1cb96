"""Curves: a metric's points per run, downsampled on the server, smoothed like TensorBoard, summarised.

Downsampling keeps the first and the last point and, in each of `max_points / 2` buckets between
them, the lowest and the highest value, in step order: spikes, the best and the worst value all
survive, so 100 runs of 100,000 points each draw as 100 lines of at most `max_points` points and
look as the full data would. Smoothing is an exponential moving average with TensorBoard's
debiasing (the first points are not dragged towards 0); the page applies it as the slider moves,
with the same formula as `ema` here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from ..errors import InvalidInput
from ..schemas.pages import MAX_CURVE_POINTS, Curve, Goal, MetricStats
from ..schemas.records import ExperimentRecord
from ..storage.downsample import minmax_indices  # the one downsampler (re-exported here)

SPARK = "▁▂▃▄▅▆▇█"

Points = tuple[Sequence[int], Sequence[float], Sequence[float]]  # steps, ts, values (lists or packed arrays)


class History(NamedTuple):
    """A run's points as a reader got them (`read_points_with_source`)."""

    points: dict[str, Points]
    t0: float | None  # the run's first timestamp
    source: str  # "full" (every point) or "summary" (the downsample git keeps; this clone lacks the log)
    logged: dict[str, int]  # points the run logged per metric: the summary's counts when `points` are its downsample


def validate_curve_points(max_points: object) -> int:
    if isinstance(max_points, bool) or not isinstance(max_points, int) or not 4 <= max_points <= MAX_CURVE_POINTS:
        raise InvalidInput("max_points", max_points, f"a whole number from 4 to {MAX_CURVE_POINTS}")
    return max_points


def validate_smoothing(weight: object) -> float:
    """An EMA weight: 0 (raw) up to 0.999 (TensorBoard's slider goes to 0.999)."""
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0.0 <= float(weight) < 1.0:
        raise InvalidInput("smoothing", weight, "a number from 0 (none) up to, not including, 1 (e.g. 0.6)")
    return float(weight)


def read_points(record: ExperimentRecord, keys: set[str] | None = None) -> tuple[dict[str, Points], float | None]:
    """Every point of the metrics `keys` (None: all) of a run, by metric, and the run's first timestamp
    (see `read_points_with_source`)."""
    history = read_points_with_source(record, keys)
    return history.points, history.t0


def read_points_with_source(record: ExperimentRecord, keys: set[str] | None = None) -> History:
    """`read_points`, where they came from: "full" (the whole log: live, or settled in the object
    store, or a complete summary) or "summary" (a schema-3 run whose log object this clone lacks: the
    summary's downsample, exact at the points it keeps), and how many points the run logged of each
    metric (from the one read of the summary, when the points are its downsample).

    Streams the log (damaged lines are skipped: `show-experiment` reports them); a run kept by
    another tracker is read from that tracker's store."""
    from ..analysis.points import open_log, read_log_points
    from ..storage.external import metric_history as outside_points
    from ..storage.metrics_log import CappedProblems
    from ..storage.run_summary import read_summary, summary_points

    found: dict[str, Points] = {}
    outside = outside_points(record)
    source = "full"
    handle = None
    logged: dict[str, int] | None = None
    if outside is None:
        problems = CappedProblems(Path(record.path) / "metrics.jsonl")
        handle = open_log(record, problems)
        if handle is None:
            summary = read_summary(Path(record.path))
            if summary is not None:
                outside = summary_points(summary, keys)
                source = "summary"
                logged = {key: digest.count for key, digest in summary.metrics.items()}
    if outside is not None:
        for p in outside:
            if keys is None or p.key in keys:
                steps, ts, values = found.setdefault(p.key, ([], [], []))
                steps.append(int(p.step))
                ts.append(float(p.ts))
                values.append(float(p.value))
        first = min((p.ts for p in outside), default=None)
        return History(found, first, source, logged if logged is not None else _counts(found))
    if handle is None:
        return History(found, None, source, {})
    log = read_log_points(record, keys, handle, problems)
    columns: dict[str, Points] = dict(log.columns)  # type: ignore[arg-type]
    return History(columns, log.first_ts, source, _counts(columns))


def _counts(points: dict[str, Points]) -> dict[str, int]:
    return {key: len(steps) for key, (steps, _ts, _values) in points.items()}


def history_damage(record: ExperimentRecord, points: dict[str, Points]) -> str | None:
    """Why a run that gave no points at all has no history to draw, when the reason is damage: its only
    history is a summary that cannot be read. None when it simply never logged (or logged other metrics).
    One rule for every curve view: a damaged run is named with why, never shown as "no metric"."""
    if points:
        return None
    from ..storage.run_summary import summary_or_damage

    damage = summary_or_damage(Path(record.path))[1]
    if damage is None:
        return None
    where = Path(damage.path).name + (f":{damage.line}" if damage.line else "")  # in the run's folder
    return f"{where}: {damage.problem}"


def _finite_or_none(value: float) -> float | None:
    return value if value - value == 0.0 else None


def make_curve(run: str, label: str, metric: str, points: Points, t0: float | None, max_points: int,
               logged: int | None = None, source: str = "full") -> Curve:
    """At most `max_points` of `points`, each bucket's min and max kept. `logged`: how many points the run
    logged, when `points` are the summary's downsample of them (`source` "summary": a clone without the full
    log); the curve counts those, says it is downsampled and where its points came from."""
    steps, ts, values = points
    keep = minmax_indices(values, max_points)
    base = t0 if t0 is not None else (ts[0] if ts else 0.0)
    total = max(len(values), logged or 0)
    return Curve(run=run, label=label, metric=metric, steps=[steps[i] for i in keep],
                 t=[round(ts[i] - base, 3) for i in keep], values=[_finite_or_none(values[i]) for i in keep],
                 total_points=total, downsampled=len(keep) < total, source=source)


def ema(values: list[float | None], weight: float) -> list[float | None]:
    """TensorBoard's smoothing: a debiased exponential moving average; gaps (None, NaN) stay gaps and
    do not move the average. The page's `ema` in app.js is this function, line for line."""
    weight = validate_smoothing(weight)
    out: list[float | None] = []
    last, count = 0.0, 0
    for value in values:
        if value is None or not math.isfinite(value):
            out.append(None)
            continue
        last = last * weight + (1 - weight) * value
        count += 1
        debias = 1.0 - weight ** count
        out.append(last / debias if debias > 0 else value)
    return out


def sparkline(values: list[float], width: int = 40) -> str:
    """One line of block characters: the curve's shape in a terminal (bucket means, NaN left out)."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return ""
    if len(values) > width:
        size = len(values) / width
        means = []
        for b in range(width):
            chunk = [v for v in values[int(b * size):int((b + 1) * size)] if math.isfinite(v)]
            means.append(sum(chunk) / len(chunk) if chunk else math.nan)
        values = means
    lo, hi = min(finite), max(finite)
    span = hi - lo
    out = []
    for v in values:
        if not math.isfinite(v):
            out.append(" ")
        else:
            out.append(SPARK[0 if span == 0 else min(len(SPARK) - 1, int((v - lo) / span * len(SPARK)))])
    return "".join(out)


def metric_stats(key: str, points: Points, goal: Goal | None) -> MetricStats:
    """min, max (first step reaching each), the best by `goal`, last, and a sparkline."""
    steps, _ts, values = points
    finite = [(v, i) for i, v in enumerate(values) if math.isfinite(v)]
    stats = MetricStats(key=key, count=len(values), goal=goal, sparkline=sparkline(values))
    if values:
        stats.last, stats.last_step = _finite_or_none(values[-1]), steps[-1]
    if finite:
        lo = min(finite, key=lambda item: item[0])
        hi = max(finite, key=lambda item: item[0])
        stats.min, stats.min_step = lo[0], steps[lo[1]]
        stats.max, stats.max_step = hi[0], steps[hi[1]]
        if goal is not None:
            stats.best, stats.best_step = (stats.max, stats.max_step) if goal == "max" else (stats.min, stats.min_step)
    return stats


__all__ = ["History", "ema", "make_curve", "metric_stats", "minmax_indices",
           "read_points", "read_points_with_source", "sparkline", "validate_curve_points", "validate_smoothing"]
