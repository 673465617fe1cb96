"""Metrics: the buffered hot path that writes `metrics.jsonl`.

`log_metric` only appends a tuple to a list; a background flusher turns the
list into JSON lines at least once a second, so a training loop pays about a
microsecond per call and a killed process loses at most its last second.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from ..errors import DamagedFile, InvalidInput
from ..layout import METRICS_FILE, METRICS_LOG_FILE
from .atomic_writes import append_whole, atomic_write
from .encoding import dumps_json, encode_float
from .metrics_log import point_lines
from .notices import warn
from .run_summary import WrittenLog, ensure_log_ignored
from .safe_reads import open_nofollow

_MAX_KEY_LEN = 250


def validate_metric_key(key: object) -> str:
    if not isinstance(key, str) or not key.strip() or len(key) > _MAX_KEY_LEN or "\n" in key:
        raise InvalidInput("metric name", key, f"a non-empty single-line string of at most {_MAX_KEY_LEN} characters")
    return key


def coerce_metric_value(key: str, value: object) -> float:
    """A metric value as a float: ints, bools, numpy and torch scalars accepted."""
    expected = "a number (int, float, numpy scalar) within a float's range"
    if isinstance(value, (int, float)):
        try:
            return float(value)
        except OverflowError:  # an int beyond a float's range, such as 10**400
            raise InvalidInput(f"value for metric {key!r}", f"<int of {len(str(value))} digits>", expected) from None
    if not isinstance(value, (str, bytes)):
        item = getattr(value, "item", None)  # numpy / torch / jax scalars and 1-element arrays
        try:
            return float(item() if callable(item) else value)  # type: ignore[arg-type]
        except (TypeError, ValueError, RuntimeError, OverflowError):
            pass
    raise InvalidInput(f"value for metric {key!r}", value, expected)


# Points kept in memory while they cannot be written (a full disk), about 100 bytes each.
MAX_BUFFERED = 1_000_000
# Points formatted and appended in one write: about 5 MB of text.
FLUSH_CHUNK = 50_000
# Points a run keeps in memory after writing them, for its own settle to take without parsing its log back
# (about 2 us a point): the flushed lists themselves, about 150 bytes a point (15 MB). A longer run is read back.
KEEP_WRITTEN = 100_000


def _hot_path(buf: MetricsBuffer, _now: Any = time.time) -> Any:
    """`buf.log(key, value, step=None)`: validate cheaply, remember, return. A closure over the buffer's
    parts rather than a method: its names are the closure's cells, not attribute lookups on `self`, and
    the lock is taken without a `with` (nothing between acquire and release can raise), which together
    take about a fifth off each call (the whole call is some 300 to 450 ns)."""
    key_json, next_step, push = buf._key_json, buf._next_step, buf._buf.append
    acquire, release, get = buf._step_lock.acquire, buf._step_lock.release, buf._next_step.get

    def log(key: str, value: Any, step: int | None = None) -> None:
        if key not in key_json:
            key_json[validate_metric_key(key)] = json.dumps(key, ensure_ascii=False)
        if type(value) is not float:
            value = coerce_metric_value(key, value)
        if step is None:
            acquire()  # two threads logging one key never take the same step
            step = get(key, 0)
            next_step[key] = step + 1
            release()
        else:
            if type(step) is not int:
                if isinstance(step, bool) or not hasattr(step, "__index__"):
                    raise InvalidInput(f"step for metric {key!r}", step, "an integer")
                step = int(step)
            next_step[key] = step + 1
        push((key, value, step, _now()))

    return log


class MetricsBuffer:
    """Points logged but not yet on disk, plus the latest value of each key."""

    __slots__ = ("_jsonl", "_json", "_buf", "_next_step", "_step_lock", "_latest", "_key_json", "_fd",
                 "_summary_dirty", "dropped", "log", "_written", "_written_bytes", "_written_count", "_warn", "failure")

    def __init__(self, folder: Path, keep_written: bool = True, warn_failures: bool = True):
        """`warn_failures=False`: a failed write is not warned about on stderr, only kept in `failure` for a
        caller that reports it itself (an import, which stops)."""
        self._jsonl = folder / METRICS_LOG_FILE
        self._warn = warn if warn_failures else (lambda _message: None)
        self.failure: OSError | None = None  # the last write that failed
        self._json = folder / METRICS_FILE
        # A deque: append (training thread) and popleft (flusher) are each atomic, so a point
        # appended while a flush runs is taken by this flush or the next, never dropped.
        self._buf: deque[tuple[str, float, int, float]] = deque()
        self._next_step: dict[str, int] = {}
        self._step_lock = threading.Lock()
        self._latest: dict[str, float] = {}
        self._key_json: dict[str, str] = {}
        self._fd: int | None = None
        self._summary_dirty = False
        self.dropped = 0
        # What this buffer appended to the log, while it is the log's only writer since the log began
        # (None once not, or past KEEP_WRITTEN points): `written_log` hands it to the run's settle.
        self._written: list[list[tuple[str, float, int, float]]] | None = [] if keep_written else None
        self._written_bytes = self._written_count = 0
        self.log = _hot_path(self)  # log(key, value, step=None): see _hot_path

    def log_at(self, key: str, value: Any, step: int, ts: float) -> None:
        """A point with its own step and time (seconds since the epoch): what an import carries over from
        another tracker, written in the same form as `log`'s points."""
        if key not in self._key_json:
            self._key_json[validate_metric_key(key)] = json.dumps(key, ensure_ascii=False)
        if type(value) is not float:
            value = coerce_metric_value(key, value)
        if type(step) is not int:
            if isinstance(step, bool) or not hasattr(step, "__index__"):
                raise InvalidInput(f"step for metric {key!r}", step, "an integer")
            step = int(step)
        self._buf.append((key, value, step, float(ts)))

    def pending(self) -> int:
        """Points logged and not yet written."""
        return len(self._buf)

    def flush(self) -> bool:
        """Append buffered points as JSON lines and rewrite the summary; True when all is on disk. Never
        raises for a full disk: see `_append`. Written FLUSH_CHUNK points at a time, so a loop that logged
        a million points between two flushes does not need their text all at once in memory as well."""
        popleft = self._buf.popleft
        wrote = False
        while self._buf:
            buf = [popleft() for _ in range(min(len(self._buf), FLUSH_CHUNK))]
            data = point_lines(buf, self._key_json).encode("utf-8")
            if not self._append(data):
                self._requeue(buf)
                if wrote:
                    self._write_summary()
                return False
            if self._written is not None:
                self._written_count += len(buf)
                self._written_bytes += len(data)
                if self._written_count <= KEEP_WRITTEN:
                    self._written.append(buf)
                else:
                    self._written = None
            latest = self._latest
            for key, value, _step, _ts in buf:
                latest[key] = value
            self._summary_dirty = wrote = True
        return self._write_summary()

    def unwritten_lines(self) -> tuple[bytes, int] | None:
        """A run ending before its first flush: its buffered points as the log's lines (and how many),
        for the settle to take in directly (no live log made only to be removed); None once a log was
        opened or is on disk (its points go there first). `written(count)` when they are in the summary."""
        if self._fd is not None or len(self._buf) > FLUSH_CHUNK or os.path.lexists(self._jsonl):
            return None  # more than one flush's worth: through the log, a chunk at a time, as memory allows
        points = list(self._buf)
        return point_lines(points, self._key_json).encode("utf-8"), len(points)

    def take_written(self) -> WrittenLog | None:
        """The points this buffer appended to the log, when it wrote the whole log alone (see `settle`);
        handed over once (the memory goes with them), None after that or when not kept."""
        written, self._written = self._written, None
        if not written or self._buf:
            return None
        return WrittenLog(chunks=written, size=self._written_bytes)

    def written(self, count: int) -> None:
        """The first `count` buffered points are in the summary: keep their last values, drop them."""
        popleft, latest = self._buf.popleft, self._latest
        for _ in range(count):
            key, value, _step, _ts = popleft()
            latest[key] = value
        self._summary_dirty = True

    def _append(self, data: bytes) -> bool:
        """One append of whole lines. A short or failed write (a full disk) is rolled back to the last
        whole line, so no record is ever glued to the next one; False then, with a warning once."""
        try:
            if self._fd is None:

                ensure_log_ignored(self._jsonl.parent)  # schema 3: the live log stays out of git
                self._fd = open_nofollow(self._jsonl, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
            start = os.fstat(self._fd).st_size
            if start != self._written_bytes:  # a log begun before (a resumed run) or written by another
                self._written = None
        except (OSError, DamagedFile) as exc:
            self.failure = exc if isinstance(exc, OSError) else OSError(None, str(exc), str(self._jsonl))
            self._warn(f"could not open {self._jsonl.name} ({getattr(exc, 'strerror', None) or exc}); points kept "
                       "in memory")
            return False
        try:
            append_whole(self._fd, data, start)  # O_APPEND: whole flushes are never interleaved
        except OSError as exc:
            self.failure = exc
            self._warn(f"could not append to {self._jsonl} ({exc.strerror or exc}); points kept in memory "
                       f"(at most {MAX_BUFFERED:,}) and written when space returns")
            return False
        return True

    def _requeue(self, points: list[tuple[str, float, int, float]]) -> None:
        """Put unwritten points back in front of newer ones, within MAX_BUFFERED (the oldest go first)."""
        room = MAX_BUFFERED - len(self._buf)
        if room < len(points):
            lost = len(points) - max(room, 0)
            self.dropped += lost
            warn(f"{self._jsonl}: memory bound reached while the disk is full; dropping the oldest points")
            points = points[lost:]
        self._buf.extendleft(reversed(points))

    def _write_summary(self) -> bool:
        if not self._summary_dirty:
            return True
        try:
            atomic_write(self._json, dumps_json({k: encode_float(v) for k, v in self._latest.items()}))
        except OSError as exc:
            self.failure = exc
            self._warn(f"could not write {self._json} ({exc.strerror or exc}); trying again every second")
            return False
        self._summary_dirty = False
        return True

    def size(self) -> int | None:
        """The log's size now (None: no log)."""
        try:
            return os.lstat(self._jsonl).st_size
        except OSError:
            return None

    def close(self) -> bool:
        """Flush and close; True when everything is on disk (else call `close` again later)."""
        done = self.flush()
        if not done:
            return False
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        elif not self._json.exists():
            try:
                atomic_write(self._json, dumps_json({}))
            except OSError:
                return False
        return True
