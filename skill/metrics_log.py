"""Metrics: the buffered hot path that writes `metrics.jsonl`, and its reader.

`log_metric` only appends a tuple to a list; a background flusher turns the
list into JSON lines at least once a second, so a training loop pays about a
microsecond per call and a killed process loses at most its last second.
"""

from __future__ import annotations

import json
import math
from collections import deque
import os
import time
from pathlib import Path
from typing import Any

from .errors import DamagedFile, InvalidInput
from .fileio import atomic_write, decode_number, dumps_json, encode_float, parse_jsonl
from .layout import METRICS_FILE, METRICS_LOG_FILE
from .models import MetricPoint, MetricSummary

_MAX_KEY_LEN = 250


def validate_metric_key(key: object) -> str:
    if not isinstance(key, str) or not key.strip() or len(key) > _MAX_KEY_LEN or "\n" in key:
        raise InvalidInput("metric name", key, f"a non-empty single-line string of at most {_MAX_KEY_LEN} characters")
    return key


def coerce_metric_value(key: str, value: object) -> float:
    """A metric value as a float: ints, bools, numpy and torch scalars accepted."""
    if isinstance(value, (int, float)):
        return float(value)
    if not isinstance(value, (str, bytes)):
        item = getattr(value, "item", None)  # numpy / torch / jax scalars and 1-element arrays
        try:
            return float(item() if callable(item) else value)  # type: ignore[arg-type]
        except (TypeError, ValueError, RuntimeError):
            pass
    raise InvalidInput(f"value for metric {key!r}", value, "a number (int, float, numpy scalar)")


class MetricsBuffer:
    """Points logged but not yet on disk, plus the latest value of each key."""

    __slots__ = ("_jsonl", "_json", "_buf", "_next_step", "_latest", "_key_json", "_fd")

    def __init__(self, folder: Path):
        self._jsonl = folder / METRICS_LOG_FILE
        self._json = folder / METRICS_FILE
        # A deque: append (training thread) and popleft (flusher) are each atomic, so a point
        # appended while a flush runs is taken by this flush or the next, never dropped.
        self._buf: deque[tuple[str, float, int, float]] = deque()
        self._next_step: dict[str, int] = {}
        self._latest: dict[str, float] = {}
        self._key_json: dict[str, str] = {}
        self._fd: int | None = None

    def log(self, key: str, value: Any, step: int | None = None) -> None:
        """The hot path: validate cheaply, remember, return."""
        if key not in self._key_json:
            self._key_json[validate_metric_key(key)] = json.dumps(key, ensure_ascii=False)
        if type(value) is not float:
            value = coerce_metric_value(key, value)
        if step is None:
            step = self._next_step.get(key, 0)
        elif type(step) is not int:
            if isinstance(step, bool) or not hasattr(step, "__index__"):
                raise InvalidInput(f"step for metric {key!r}", step, "an integer")
            step = int(step)
        self._next_step[key] = step + 1
        self._buf.append((key, value, step, time.time()))

    def flush(self) -> None:
        """Append buffered points as JSON lines (one write) and rewrite the summary."""
        popleft = self._buf.popleft
        buf = [popleft() for _ in range(len(self._buf))]
        if not buf:
            return
        key_json = self._key_json
        latest = self._latest
        lines = []
        append = lines.append
        for key, value, step, ts in buf:
            if value - value == 0.0:  # finite: repr() is the shortest exact JSON form
                shown = repr(value)
            else:
                shown = json.dumps(encode_float(value))
            append(f'{{"key":{key_json[key]},"step":{step},"ts":{ts:.3f},"value":{shown}}}\n')
            latest[key] = value
        data = "".join(lines).encode("utf-8")
        if self._fd is None:
            self._fd = os.open(self._jsonl, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.write(self._fd, data)  # one append per flush: lines are never interleaved
        atomic_write(self._json, dumps_json({k: encode_float(v) for k, v in latest.items()}))

    def close(self) -> None:
        self.flush()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        elif not self._json.exists():
            atomic_write(self._json, dumps_json({}))
            self._jsonl.touch()


def read_metric_points(folder: Path) -> tuple[list[MetricPoint], list[DamagedFile]]:
    """Every point of `metrics.jsonl`, in order; damaged lines are reported, not fatal."""
    path = folder / METRICS_LOG_FILE
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return [], []
    records, problems = parse_jsonl(path, text)
    points = []
    for record in records:
        try:
            value = decode_number(record["value"])
            points.append(MetricPoint(key=record["key"], value=value, step=record.get("step", 0),
                                      ts=record.get("ts", 0.0)))
        except (KeyError, TypeError, ValueError):
            problems.append(DamagedFile(str(path), "a line lacks key/value or has a bad type"))
    return points, problems


def summarize(points: list[MetricPoint]) -> dict[str, MetricSummary]:
    """min, max, last and count per key."""
    out: dict[str, MetricSummary] = {}
    for p in points:
        s = out.get(p.key)
        if s is None:
            out[p.key] = MetricSummary(key=p.key, last=p.value, min=p.value, max=p.value, steps=1, last_step=p.step)
            continue
        s.last, s.last_step, s.steps = p.value, p.step, s.steps + 1
        if not math.isnan(p.value):
            s.min = p.value if math.isnan(s.min) else min(s.min, p.value)
            s.max = p.value if math.isnan(s.max) else max(s.max, p.value)
    return out
