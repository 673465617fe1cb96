"""A metric's history, downsampled for a reader that cannot take every point.

Training logs can hold millions of points; an agent needs the shape of the
curve. Downsampling keeps the first and the last point and, in each bucket
between them, the lowest and the highest value, so spikes, the best value and
the worst value all survive, in step order.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ..errors import InvalidInput, NotFound
from ..models import ExperimentRecord, MetricPoint
from .results import DEFAULT_MAX_POINTS, MAX_MAX_POINTS, MetricHistory, MetricSeries


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


class _Stream:
    """`downsample` of one metric fed in order, a piece at a time, in memory bounded by max_points.

    `total` (the points the metric has, from a first pass) fixes the buckets exactly as `downsample`
    cuts them, so both give the same points; min and max of a piece are taken in C (min(), index()).
    """

    def __init__(self, total: int, max_points: int):
        self.total, self.seen = total, 0
        self.everything = total <= max_points
        self.steps: list[int] = []
        self.values: list[float] = []
        self.head: tuple[int, float] | None = None
        self.tail: tuple[int, float] | None = None
        self.latest: tuple[int, int, float] | None = None  # (index, step, value) of the last point fed
        self.emitted_to = -1  # global index of the last middle point kept
        if not self.everything:
            buckets = max(1, (max_points - 2) // 2)
            size = (total - 2) / buckets
            self.bounds = [int(b * size) for b in range(buckets + 1)]
            self.bucket = 0
            self.first: tuple[int, Any, float] | None = None  # (middle index, step, value)
            self.lo: tuple[int, Any, float] | None = None
            self.hi: tuple[int, Any, float] | None = None

    def feed(self, steps: list[Any], values: list[float]) -> None:
        start = self.seen
        take = min(len(values), self.total - start)
        if take <= 0:
            return
        self.seen += take
        self.latest = (start + take - 1, steps[take - 1], values[take - 1])
        if self.everything:
            self.steps.extend(map(int, steps[:take]))
            self.values.extend(values[:take])
            return
        pos = 0
        if start == 0:
            self.head, pos = (int(steps[0]), values[0]), 1
        middle_end = min(take, self.total - 1 - start)  # positions before the last point
        bounds, count = self.bounds, len(self.bounds) - 1
        while pos < middle_end:
            j = start + pos - 1
            while self.bucket < count and j >= bounds[self.bucket + 1]:
                self._close()
                self.bucket += 1
            if self.bucket >= count:
                break  # past the last bound (float rounding): `downsample` leaves these out too
            end = min(middle_end, pos + bounds[self.bucket + 1] - j)
            self._merge(steps, values, pos, end, j)
            pos = end
        if start + take == self.total:
            self.tail = (int(steps[take - 1]), values[take - 1])

    def _merge(self, steps: list[Any], values: list[float], a: int, e: int, j: int) -> None:
        piece = values[a:e]
        if self.first is None:
            self.first = (j, steps[a], piece[0])
        if not math.isnan(sum(piece)):  # no NaN in it (NaN is never a bucket's min or max)
            lo = min(piece)
            lo_at = piece.index(lo)
            hi = max(piece)
            hi_at = piece.index(hi)
        else:
            finite = [(v, i) for i, v in enumerate(piece) if not math.isnan(v)]
            if not finite:
                return
            lo, lo_at = min(finite, key=_first)
            hi, hi_at = max(finite, key=_first)
        if self.lo is None or lo < self.lo[2]:
            self.lo = (j + lo_at, steps[a + lo_at], lo)
        if self.hi is None or hi > self.hi[2]:
            self.hi = (j + hi_at, steps[a + hi_at], hi)

    def _close(self) -> None:
        if self.first is not None:
            picked = [self.first] if self.lo is None or self.hi is None else sorted({self.lo[0]: self.lo,
                                                                                      self.hi[0]: self.hi}.values())
            for j, step, value in picked:
                self.steps.append(int(step))
                self.values.append(value)
                self.emitted_to = j + 1
        self.first = self.lo = self.hi = None

    def series(self, key: str) -> MetricSeries:
        if self.everything:
            steps, values = self.steps, self.values
        else:
            if self.bucket < len(self.bounds) - 1:
                self._close()
            steps, values = list(self.steps), list(self.values)
            tail = self.tail
            if tail is None and self.latest is not None and self.latest[0] not in (0, self.emitted_to):
                tail = (int(self.latest[1]), self.latest[2])  # fewer points than counted: end at the last
            if self.head is not None:
                steps.insert(0, self.head[0])
                values.insert(0, self.head[1])
            if tail is not None:
                steps.append(tail[0])
                values.append(tail[1])
        return MetricSeries(key=key, total_points=self.seen, downsampled=len(values) < self.seen,
                            steps=steps, values=values)


def _first(item: tuple[float, int]) -> float:
    return item[0]


def _native_history(record: ExperimentRecord, key: str | None, max_points: int,
                    root: Path | None) -> MetricHistory:
    """Two streaming passes over metrics.jsonl: points per metric (cheap: counts), then each metric
    downsampled as it goes by. Memory is a chunk of the file plus max_points per metric."""
    from ..layout import METRICS_LOG_FILE
    from ..storage.metrics_log import CappedProblems, iter_log_rows, log_key_counts

    experiment = record.id
    counts = log_key_counts(record.path, root)
    names = {k: k.decode("utf-8", "replace") for k in counts}
    if key is not None:
        wanted = [k for k, name in names.items() if name == key]
        if not wanted:
            raise NotFound(f"metric of {experiment}", key, sorted(names.values()))
    else:
        wanted = list(counts)
    streams = {k: _Stream(counts[k], max_points) for k in wanted}
    problems = CappedProblems(record.path / METRICS_LOG_FILE)
    for _line, rows in iter_log_rows(record.path / METRICS_LOG_FILE, problems):
        groups: dict[bytes, tuple[list[Any], list[Any]]] = {}
        for k, step, _ts, value in rows:
            group = groups.get(k)
            if group is None:
                group = groups[k] = ([], [])
            group[0].append(step)
            group[1].append(value)
        for k, (steps, values) in groups.items():
            stream = streams.get(k)
            if stream is not None:
                stream.feed(steps, list(map(float, values)))
    series = [streams[k].series(names[k]) for k in sorted(streams, key=names.__getitem__)]
    return MetricHistory(experiment=experiment, increment=record.increment, series=series,
                         problems=[str(problem) for problem in problems.done()])


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
