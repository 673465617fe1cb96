"""A metric's history, downsampled for a reader that cannot take every point.

Training logs can hold millions of points; an agent needs the shape of the
curve. Downsampling keeps the first and the last point and, in each bucket
between them, the lowest and the highest value, so spikes, the best value and
the worst value all survive, in step order.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, Field

from .errors import InvalidInput, NotFound

from .models import ExperimentRecord, JsonFloat, MetricPoint

DEFAULT_MAX_POINTS = 500
MAX_MAX_POINTS = 10_000


class MetricSeries(BaseModel):
    """One metric's points, possibly downsampled, as parallel lists (compact for a model to read)."""

    key: str
    total_points: int = Field(description="points logged for this metric")
    downsampled: bool = Field(description="True when some points were left out")
    steps: list[int]
    values: list[JsonFloat]


class MetricHistory(BaseModel):
    experiment: str
    increment: str
    series: list[MetricSeries]
    problems: list[str] = Field(default_factory=list, description="damaged lines of metrics.jsonl that were skipped")


def validate_max_points(max_points: object) -> int:
    if isinstance(max_points, bool) or not isinstance(max_points, int) or not 2 <= max_points <= MAX_MAX_POINTS:
        raise InvalidInput("max_points", max_points, f"an integer from 2 to {MAX_MAX_POINTS}")
    return max_points


def downsample(points: list[MetricPoint], max_points: int) -> list[MetricPoint]:
    """At most `max_points` points: first, last, and each bucket's min and max in order."""
    max_points = validate_max_points(max_points)
    n = len(points)
    if n <= max_points:
        return list(points)
    middle = points[1:-1]
    buckets = max(1, (max_points - 2) // 2)
    size = len(middle) / buckets
    kept: list[MetricPoint] = [points[0]]
    for b in range(buckets):
        chunk = middle[int(b * size) : int((b + 1) * size)]
        finite = [(i, p) for i, p in enumerate(chunk) if not math.isnan(p.value)]
        if not finite:
            if chunk:
                kept.append(chunk[0])
            continue
        lo = min(finite, key=lambda item: item[1].value)
        hi = max(finite, key=lambda item: item[1].value)
        for _, point in sorted({lo[0]: lo, hi[0]: hi}.values(), key=lambda item: item[0]):
            kept.append(point)
    kept.append(points[-1])
    return kept


def metric_history(
    record: ExperimentRecord, key: str | None = None, max_points: int = DEFAULT_MAX_POINTS
) -> MetricHistory:
    """The history of one metric (or of every metric when `key` is None) of an experiment,
    from its metrics.jsonl or, for a run kept by another tracker, from that tracker's store."""
    from .store import metric_points

    max_points = validate_max_points(max_points)
    experiment, increment = record.id, record.increment
    points, damaged = metric_points(record)
    by_key: dict[str, list[MetricPoint]] = {}
    for point in points:
        by_key.setdefault(point.key, []).append(point)
    if key is not None:
        if key not in by_key:
            raise NotFound(f"metric of {experiment}", key, sorted(by_key))
        by_key = {key: by_key[key]}
    series = []
    for name in sorted(by_key):
        everything = by_key[name]
        kept = downsample(everything, max_points)
        series.append(MetricSeries(key=name, total_points=len(everything), downsampled=len(kept) < len(everything),
                                   steps=[p.step for p in kept], values=[p.value for p in kept]))
    return MetricHistory(experiment=experiment, increment=increment, series=series,
                         problems=[str(problem) for problem in damaged])


__all__ = ["DEFAULT_MAX_POINTS", "MetricHistory", "MetricSeries", "downsample", "metric_history",
           "validate_max_points"]
