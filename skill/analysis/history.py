"""A metric's history, downsampled for a reader that cannot take every point.

Training logs can hold millions of points; an agent needs the shape of the
curve. Downsampling keeps the first and the last point and, in each bucket
between them, the lowest and the highest value, so spikes, the best value and
the worst value all survive, in step order.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import InvalidInput, NotFound
from ..schemas.records import ExperimentRecord, MetricPoint
from ..schemas.reports import DEFAULT_MAX_POINTS, MAX_MAX_POINTS, MetricHistory, MetricSeries
from ..storage.downsample import minmax_indices


def validate_max_points(max_points: object) -> int:
    if isinstance(max_points, bool) or not isinstance(max_points, int) or not 2 <= max_points <= MAX_MAX_POINTS:
        raise InvalidInput("max_points", max_points, f"an integer from 2 to {MAX_MAX_POINTS}")
    return max_points


def downsample(points: list[MetricPoint], max_points: int) -> list[MetricPoint]:
    """At most `max_points` points: first, last, and each bucket's min and max in order (the one
    downsampler, `storage.downsample.minmax_indices`)."""
    max_points = validate_max_points(max_points)
    return [points[i] for i in minmax_indices([p.value for p in points], max_points)]


def _native_history(record: ExperimentRecord, key: str | None, max_points: int,
                    root: Path | None) -> MetricHistory:
    """One streaming pass over the run's full log (the one point reader, `analysis.points`), each wanted
    metric kept as packed arrays, then downsampled; without the log (a fresh clone of
    a schema-3 run), the summary git keeps, saying so (`source`)."""
    from ..layout import METRICS_LOG_FILE
    from ..storage.metrics_log import CappedProblems
    from ..storage.run_summary import SUMMARY_POINTS, read_summary, summary_or_damage
    from .points import open_log, read_log_points

    experiment = record.id
    problems = CappedProblems(record.path / METRICS_LOG_FILE)
    summary = None if os.path.lexists(record.path / METRICS_LOG_FILE) else read_summary(record.path)
    if summary is not None:
        digests = [summary.metrics[key]] if key in summary.metrics else list(summary.metrics.values())
        if max_points == SUMMARY_POINTS or all(d.complete for d in digests):
            # exactly the answer the full log gives (the summary is that downsample): no need to read it
            return _summary_history(record, summary, key, max_points, "full")
    handle = open_log(record, problems)
    if handle is None:
        damage = None
        if summary is None:
            summary, damage = summary_or_damage(record.path)
        if summary is not None:
            return _summary_history(record, summary, key, max_points, "summary")
        if damage is not None and key is not None:
            raise damage  # the run's only history is a summary that cannot be read: say so, not "no metric"
        if key is not None:
            _missing(record, key, [])
        return MetricHistory(experiment=experiment, increment=record.increment, series=[],
                             problems=[str(problem) for problem in problems.done()]
                             + ([str(damage)] if damage is not None else []), source="summary" if damage else "full")
    log = read_log_points(record, None if key is None else {key}, handle, problems)
    if key is not None and key not in log.columns:
        _missing(record, key, log.seen)
    series = []
    for name in sorted(log.columns):
        steps_a, _ts, values_a = log.columns[name]
        keep = minmax_indices(values_a, max_points)
        series.append(MetricSeries(key=name, total_points=len(values_a), downsampled=len(keep) < len(values_a),
                                   steps=[steps_a[i] for i in keep], values=[values_a[i] for i in keep]))
    return MetricHistory(experiment=experiment, increment=record.increment, series=series,
                         problems=log.problems, source="full")


def _missing(record: ExperimentRecord, key: str, seen: list[str]) -> None:
    raise NotFound(f"metric of {record.id}", key, sorted(seen))


def _summary_history(record: ExperimentRecord, summary: Any, key: str | None, max_points: int,
                     source: str) -> MetricHistory:
    from ..storage.encoding import decode_number

    names = sorted(summary.metrics)
    if key is not None and key not in summary.metrics:
        raise NotFound(f"metric of {record.id}", key, names)
    series = []
    for name in names if key is None else [key]:
        digest = summary.metrics[name]
        values = [float(decode_number(v)) for v in digest.values]
        keep = minmax_indices(values, max_points)
        steps = digest.kept_steps()
        series.append(MetricSeries(key=name, total_points=digest.count, downsampled=len(keep) < digest.count,
                                   steps=[steps[i] for i in keep], values=[values[i] for i in keep]))
    damaged = [f"{record.path / 'metrics.jsonl'}:{line}: {problem}" for line, problem in summary.problems]
    return MetricHistory(experiment=record.id, increment=record.increment, series=series, problems=damaged,
                         source=source)  # type: ignore[arg-type]


def metric_history(
    record: ExperimentRecord, key: str | None = None, max_points: int = DEFAULT_MAX_POINTS,
    root: Path | None = None,
) -> MetricHistory:
    """The history of one metric (or of every metric when `key` is None) of an experiment,
    from its metrics.jsonl or, for a run kept by another tracker, from that tracker's store.

    A native log is streamed (see `_native_history`): a run of millions of points answers in
    seconds and a few MB. `root` lets a long log's point counts come from the cache's digest.
    """
    from ..storage.external import metric_history as outside_points

    max_points = validate_max_points(max_points)
    experiment, increment = record.id, record.increment
    points = outside_points(record)
    if points is None:
        return _native_history(record, key, max_points, root)
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
    return MetricHistory(experiment=experiment, increment=increment, series=series, problems=[])


__all__ = ["DEFAULT_MAX_POINTS", "MetricHistory", "MetricSeries", "downsample", "metric_history",
           "validate_max_points"]
