"""Metrics: the buffered hot path that writes `metrics.jsonl`, and its reader.

`log_metric` only appends a tuple to a list; a background flusher turns the
list into JSON lines at least once a second, so a training loop pays about a
microsecond per call and a killed process loses at most its last second.
"""

from __future__ import annotations

import json
import math
import os
import re
import threading
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import DamagedFile, InvalidInput
from ..layout import METRICS_FILE, METRICS_LOG_FILE
from ..schemas.records import MetricPoint, MetricSummary
from .fileio import (
    MAX_DEPTH,
    TOO_DEEP,
    append_whole,
    atomic_write,
    decode_number,
    dumps_json,
    encode_float,
    open_nofollow,
    open_regular_nofollow,
)
from .notices import warn

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


def format_point(key: str, value: float, step: int, ts: float) -> str:
    """One line of the log, exactly as the writer's flush makes it (kept in step with `flush`)."""
    shown = repr(value) if value - value == 0.0 else json.dumps(encode_float(value))
    return f'{{"key":{json.dumps(key, ensure_ascii=False)},"step":{step},"ts":{ts:.3f},"value":{shown}}}\n'


# Points kept in memory while they cannot be written (a full disk), about 100 bytes each.
MAX_BUFFERED = 1_000_000
# Points formatted and appended in one write: about 5 MB of text.
FLUSH_CHUNK = 50_000


class MetricsBuffer:
    """Points logged but not yet on disk, plus the latest value of each key."""

    __slots__ = ("_jsonl", "_json", "_buf", "_push", "_next_step", "_step_lock", "_latest", "_key_json", "_fd",
                 "_summary_dirty", "dropped")

    def __init__(self, folder: Path):
        self._jsonl = folder / METRICS_LOG_FILE
        self._json = folder / METRICS_FILE
        # A deque: append (training thread) and popleft (flusher) are each atomic, so a point
        # appended while a flush runs is taken by this flush or the next, never dropped.
        self._buf: deque[tuple[str, float, int, float]] = deque()
        self._push = self._buf.append
        self._next_step: dict[str, int] = {}
        self._step_lock = threading.Lock()
        self._latest: dict[str, float] = {}
        self._key_json: dict[str, str] = {}
        self._fd: int | None = None
        self._summary_dirty = False
        self.dropped = 0

    def log(self, key: str, value: Any, step: int | None = None, _now: Any = time.time) -> None:
        """The hot path: validate cheaply, remember, return (`_now` is bound once: a local, not a lookup)."""
        if key not in self._key_json:
            self._key_json[validate_metric_key(key)] = json.dumps(key, ensure_ascii=False)
        if type(value) is not float:
            value = coerce_metric_value(key, value)
        if step is None:
            with self._step_lock:  # two threads logging one key never take the same step
                step = self._next_step.get(key, 0)
                self._next_step[key] = step + 1
        else:
            if type(step) is not int:
                if isinstance(step, bool) or not hasattr(step, "__index__"):
                    raise InvalidInput(f"step for metric {key!r}", step, "an integer")
                step = int(step)
            self._next_step[key] = step + 1
        self._push((key, value, step, _now()))

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
            key_json = self._key_json
            lines = []
            append = lines.append
            for key, value, step, ts in buf:
                if value - value == 0.0:  # finite: repr() is the shortest exact JSON form
                    shown = repr(value)
                else:
                    shown = json.dumps(encode_float(value))
                append(f'{{"key":{key_json[key]},"step":{step},"ts":{ts:.3f},"value":{shown}}}\n')
            if not self._append("".join(lines).encode("utf-8")):
                self._requeue(buf)
                if wrote:
                    self._write_summary()
                return False
            del lines
            latest = self._latest
            for key, value, _step, _ts in buf:
                latest[key] = value
            self._summary_dirty = wrote = True
        return self._write_summary()

    def _append(self, data: bytes) -> bool:
        """One append of whole lines. A short or failed write (a full disk) is rolled back to the last
        whole line, so no record is ever glued to the next one; False then, with a warning once."""
        try:
            if self._fd is None:
                from .run_summary import ensure_log_ignored

                ensure_log_ignored(self._jsonl.parent)  # schema 3: the live log stays out of git
                self._fd = open_nofollow(self._jsonl, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
            start = os.fstat(self._fd).st_size
        except (OSError, DamagedFile) as exc:
            warn(f"could not open {self._jsonl.name} ({getattr(exc, 'strerror', None) or exc}); points kept in memory")
            return False
        try:
            append_whole(self._fd, data, start)  # O_APPEND: whole flushes are never interleaved
        except OSError as exc:
            warn(f"could not append to {self._jsonl} ({exc.strerror or exc}); points kept in memory "
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
            warn(f"could not write {self._json} ({exc.strerror or exc}); trying again every second")
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


def read_metric_points(folder: Path) -> tuple[list[MetricPoint], list[DamagedFile]]:
    """Every point of `metrics.jsonl`, in order; damaged lines are reported, not fatal.

    Builds one object per point: for a summary or a curve of a long run use `summarize_log`
    or `skill.analysis.history.metric_history`, which stream the file in bounded memory.
    """
    points: list[MetricPoint] = []
    problems = CappedProblems(folder / METRICS_LOG_FILE)
    construct = MetricPoint.model_construct
    names: dict[bytes, str] = {}
    for _line, rows in iter_run_rows(folder, problems):
        for key, step, ts, value in rows:
            name = names.get(key)
            if name is None:
                name = names[key] = key.decode("utf-8", "replace")
            points.append(construct(key=name, value=float(value), step=int(step), ts=float(ts)))
    return points, problems.done()


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


# --- Streaming reads of metrics.jsonl ------------------------------------------------------------
# A run may log millions of points (hundreds of MB). Readers go through the file in chunks of whole
# lines, never through a link, and turn lines into rows (key bytes, step, ts, value) without one
# object per point: one regular expression takes every line in the form MetricsBuffer writes, and
# only a line it does not take is parsed (and judged) by json, exactly as before. Memory stays at
# a few chunks whatever the file's size; one line longer than MAX_LOG_LINE is reported and skipped.

LOG_CHUNK_BYTES = 4 << 20
MAX_LOG_LINE = 1 << 20

# Possessive quantifiers (Python 3.11): a line either matches on the first try or is odd, so the
# engine never backtracks; that is most of the cost of a pass over millions of lines.
_NUM = rb"-?\d++(?:\.\d++)?+(?:[eE][-+]?\d++)?+"
# The line MetricsBuffer writes (json.dumps's spaced separators taken too); "NaN" and the
# infinities are unquoted first (see _unquote), so the value group is always a float() literal.
_POINT = (rb'\{"key": ?"([^"\\\n]*+)", ?"step": ?(-?\d++), ?"ts": ?(' + _NUM + rb'), ?"value": ?('
          + _NUM + rb'|NaN|-?Infinity)\}\r?')
_ROWS_RE = re.compile(rb"^" + _POINT + rb"$", re.MULTILINE)
# The same line for a check only: non-finite values still quoted, as written.
_CHECK_POINT = (rb'(?>\{"key": ?"[^"\\\n]*+", ?"step": ?-?\d++, ?"ts": ?' + _NUM + rb', ?"value": ?(?:'
                + _NUM + rb'|"NaN"|"-?Infinity"|NaN|-?Infinity)\}\r?\n)')
_ODD_LINE_RE = re.compile(rb"\n(?!" + _CHECK_POINT + rb")(?!\Z)")
_QUOTED = (b'"NaN"}', b'"Infinity"}', b'"-Infinity"}')
_BAD_TYPE = "a line lacks key/value or has a bad type"
_TRUNCATED = "truncated last line (no newline at the end)"


MAX_REPORTED = 100


class CappedProblems(list):  # type: ignore[type-arg]
    """A list of DamagedFile that keeps the first MAX_REPORTED and counts the rest: a log of
    garbage lines must not turn into millions of problem objects."""

    def __init__(self, path: Path, cap: int = MAX_REPORTED):
        super().__init__()
        self.path, self.cap, self.more = path, cap, 0

    def append(self, item: DamagedFile) -> None:
        if len(self) < self.cap:
            super().append(item)
        else:
            self.more += 1

    def done(self) -> list[DamagedFile]:
        out = list(self)
        if self.more:
            out.append(DamagedFile(str(self.path), f"{self.more} more damaged line{'s' if self.more > 1 else ''}"))
        return out


def _unquote(chunk: bytes) -> bytes:
    """The store writes non-finite values as strings ("NaN"); float() reads them bare."""
    if b'"NaN"}' in chunk or b'Infinity"}' in chunk:
        for quoted in _QUOTED:
            chunk = chunk.replace(quoted, quoted[1:-2] + b"}")
    return chunk


def _judge_line(line: bytes) -> tuple[tuple[bytes, Any, Any, Any] | None, str | None]:
    """One line the fast path did not take, judged as the old reader did: (row, None) or (None, problem)."""
    text = line.decode("utf-8", "replace")
    if not text.strip():
        return None, None
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, exc.msg
    except (RecursionError, ValueError):
        return None, TOO_DEEP if text.count("[") + text.count("{") > MAX_DEPTH else "not a JSON value"
    if not isinstance(record, dict):
        return None, "a line is not a JSON object"
    try:
        point = MetricPoint(key=record["key"], value=decode_number(record["value"]), step=record.get("step", 0),
                            ts=record.get("ts", 0.0))
    except (KeyError, TypeError, ValueError, RecursionError):
        return None, _BAD_TYPE
    return (point.key.encode("utf-8", "surrogatepass"), point.step, point.ts, point.value), None


def _slow_rows(path: Path, first_line: int, chunk: bytes, problems: list[DamagedFile]) -> list[tuple[Any, ...]]:
    rows = []
    lines = chunk.split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    for offset, line in enumerate(lines):
        row, problem = _judge_line(line)
        if row is not None:
            rows.append(row)
        elif problem is not None:
            problems.append(DamagedFile(str(path), problem, first_line + offset))
    return rows


def _log_chunks(handle: Any, path: Path, problems: list[DamagedFile]) -> Iterator[tuple[int, bytes]]:
    """(number of its first line, whole lines) through the file; the last chunk may lack its newline."""
    line, rest, skipping = 1, b"", False
    while True:
        block = handle.read(LOG_CHUNK_BYTES)
        if not block:
            break
        if skipping:
            at = block.find(b"\n")
            if at < 0:
                continue
            block, skipping, line = block[at + 1:], False, line + 1
        data = rest + block if rest else block
        cut = data.rfind(b"\n") + 1
        if cut:
            chunk = data if cut == len(data) else data[:cut]
            yield line, chunk
            line += chunk.count(b"\n")
        rest = data[cut:]
        if len(rest) > MAX_LOG_LINE:
            problems.append(DamagedFile(str(path), f"a line longer than {MAX_LOG_LINE >> 20} MB; skipped", line))
            rest, skipping = b"", True
    if rest:
        yield line, rest


def _open_log(path: Path, problems: list[DamagedFile]) -> Any:
    """The log opened for reading (None when missing or refused: a link, its folder a link, not a file)."""
    if path.parent.is_symlink():  # O_NOFOLLOW guards the last part of the path only
        problems.append(DamagedFile(str(path.parent), "is a symbolic link; refusing to follow it out of the store"))
        return None
    try:
        return os.fdopen(open_regular_nofollow(path), "rb", buffering=0)
    except FileNotFoundError:
        return None
    except DamagedFile as exc:
        problems.append(exc)
        return None
    except OSError as exc:
        problems.append(DamagedFile(str(path), f"cannot be read ({exc.strerror or exc})"))
        return None


def iter_log_rows(path: Path, problems: list[DamagedFile]) -> Iterator[tuple[int, list[tuple[Any, ...]]]]:
    """(first line number, rows) per chunk of `path`; each row is (key as UTF-8 bytes, step, ts, value),
    where step, ts and value are bytes or numbers: take them through int() and float(). Damaged lines
    go to `problems`. A missing file has no rows; a link or a non-file is one problem."""
    handle = _open_log(path, problems)
    if handle is None:
        return
    with handle:
        yield from iter_handle_rows(handle, path, problems)


def iter_handle_rows(handle: Any, path: Path,
                     problems: list[DamagedFile]) -> Iterator[tuple[int, list[tuple[Any, ...]]]]:
    """`iter_log_rows` of an open binary stream (a live log, or a settled log read out of the store)."""
    for line, chunk in _log_chunks(handle, path, problems):
        rows = _ROWS_RE.findall(_unquote(chunk))
        expected = chunk.count(b"\n") + (not chunk.endswith(b"\n"))
        yield line, rows if len(rows) == expected else _slow_rows(path, line, chunk, problems)


def open_run_log(folder: Path, problems: list[DamagedFile]) -> Any:
    """The run's full point log as a binary stream: its live `metrics.jsonl` (schema 1 and 2 in git,
    schema 3 git-ignored while the run lasts), else the settled log in the object store (schema 3);
    None when neither is here (a fresh clone before `sw-ml artifacts pull`: read the summary)."""
    path = folder / METRICS_LOG_FILE
    before = len(problems)
    handle = _open_log(path, problems)
    if handle is not None or len(problems) > before:  # here, or here and refused (a link)
        return handle
    from .run_summary import open_settled_log

    return open_settled_log(folder, problems)


def iter_run_rows(folder: Path, problems: list[DamagedFile]) -> Iterator[tuple[int, list[tuple[Any, ...]]]]:
    """`iter_log_rows` of the run's full log wherever it is (see `open_run_log`)."""
    handle = open_run_log(folder, problems)
    if handle is None:
        return
    with handle:
        yield from iter_handle_rows(handle, folder / METRICS_LOG_FILE, problems)


def summarize_log(folder: Path) -> tuple[dict[str, MetricSummary], list[DamagedFile]]:
    """`summarize(read_metric_points(folder))` in one streaming pass: the same summaries and damaged
    lines (the first MAX_REPORTED, then a count), in memory bounded by a chunk, whatever the log's size."""
    problems = CappedProblems(folder / METRICS_LOG_FILE)
    acc: dict[bytes, list[Any]] = {}  # key -> [count, min, max, last, last step]
    nan, isnan = math.nan, math.isnan
    for _line, rows in iter_run_rows(folder, problems):
        groups: dict[bytes, list[Any]] = {}
        last_step: dict[bytes, Any] = {}
        for key, step, _ts, value in rows:
            group = groups.get(key)
            if group is None:
                group = groups[key] = []
            group.append(value)
            last_step[key] = step
        for key, raw in groups.items():
            values = list(map(float, raw))
            total = sum(values)
            finite = values if not isnan(total) else [v for v in values if not isnan(v)]  # NaN is left out
            lo, hi = (min(finite), max(finite)) if finite else (nan, nan)
            state = acc.get(key)
            if state is None:
                acc[key] = [len(values), lo if finite else values[0], hi if finite else values[0], values[-1],
                            int(last_step[key])]
                continue
            state[0] += len(values)
            if finite:
                state[1] = lo if math.isnan(state[1]) else min(state[1], lo)
                state[2] = hi if math.isnan(state[2]) else max(state[2], hi)
            state[3], state[4] = values[-1], int(last_step[key])
    out = {}
    for key, (count, lo, hi, last, step) in acc.items():
        name = key.decode("utf-8", "replace")
        out[name] = MetricSummary(key=name, last=last, min=lo, max=hi, steps=count, last_step=step)
    return out, problems.done()


def count_log_keys(folder: Path) -> dict[bytes, int]:
    """Points per key (keys as UTF-8 bytes), the cheap first pass of a downsampled history: per chunk,
    one count() per key already seen, and a parse only of a chunk those counts do not explain."""
    counts: dict[bytes, int] = {}
    ignored: list[DamagedFile] = []
    handle = open_run_log(folder, ignored)
    if handle is None:
        return counts
    with handle:
        for line, chunk in _log_chunks(handle, folder / METRICS_LOG_FILE, ignored):
            lines = chunk.count(b"\n") + (not chunk.endswith(b"\n"))
            found = {key: chunk.count(b'{"key":"' + key + b'","step":') for key in counts}
            if counts and sum(found.values()) == lines:
                for key, n in found.items():
                    counts[key] += n
                continue
            rows = _ROWS_RE.findall(_unquote(chunk))
            if len(rows) != lines:
                rows = _slow_rows(folder / METRICS_LOG_FILE, line, chunk, ignored)
            for row in rows:
                counts[row[0]] = counts.get(row[0], 0) + 1
    return counts


def read_log_tail(folder: Path, size: int) -> tuple[list[MetricPoint], list[DamagedFile]]:
    """The points of the last `size` bytes of metrics.jsonl (whole lines only), with damaged lines.

    What a list needs of a running or crashed run with a long log: the summary (metrics.json) is
    at most one flush behind, and that flush is at the end of the file.
    """
    path = folder / METRICS_LOG_FILE
    problems: list[DamagedFile] = []
    handle = _open_log(path, problems)
    if handle is None:
        return [], problems
    with handle:
        end = handle.seek(0, os.SEEK_END)
        start = max(0, end - size)
        handle.seek(start)
        data = handle.read(end - start)
    if start:
        data = data[data.find(b"\n") + 1:] if b"\n" in data else b""
    rows = _ROWS_RE.findall(_unquote(data))
    if len(rows) != data.count(b"\n") + (bool(data) and not data.endswith(b"\n")):
        found: list[DamagedFile] = []
        rows = _slow_rows(path, 1, data, found)
        for bad in found:  # numbered from the file's start only when there is something to report
            problems.append(DamagedFile(str(path), bad.problem, _line_at(path, end - len(data)) + (bad.line or 1) - 1))
    construct = MetricPoint.model_construct
    points = [construct(key=k.decode("utf-8", "replace"), value=float(v), step=int(s), ts=float(t))
              for k, s, t, v in rows]
    return points, problems


def _line_at(path: Path, offset: int) -> int:
    """The number of the line that starts at byte `offset`."""
    problems: list[DamagedFile] = []
    handle = _open_log(path, problems)
    if handle is None:
        return 1
    count, left = 1, offset
    with handle:
        while left > 0:
            block = handle.read(min(LOG_CHUNK_BYTES, left))
            if not block:
                break
            count += block.count(b"\n")
            left -= len(block)
    return count


def check_log(path: Path, *, shown: int = 3) -> list[tuple[int | None, str]]:
    """(line, problem) for damage anywhere in a metrics.jsonl, cheaply: a byte-level pass where one
    regular expression skips every line in the writer's form; only lines it stops at are parsed.

    The scan stops at the `shown`-th damaged line (then one entry says more may follow); a cut last
    line is reported as such. For a finished run, whose numbers are read from metrics.json, this is
    how damage in its point log shows in a list (which caches the answer with the record).
    """
    problems: list[DamagedFile] = []  # a link, an unreadable file, over-long lines
    found: list[tuple[int | None, str]] = []
    handle = _open_log(path, problems)
    if handle is None:
        return [(p.line, p.problem) for p in problems]
    stopped = False
    with handle:
        for line, chunk in _log_chunks(handle, path, problems):
            cut = not chunk.endswith(b"\n")
            whole = chunk.rpartition(b"\n")[0] + b"\n" if cut else chunk
            if whole != b"\n":
                _check_lines(line, whole, found, shown - len(problems))
            if cut:
                found.append((line + chunk.count(b"\n"), _TRUNCATED))
                break
            if len(found) + len(problems) >= shown:
                stopped = True
                end = handle.seek(0, os.SEEK_END)
                handle.seek(end - 1)
                if handle.read(1) != b"\n":
                    found.append((None, _TRUNCATED))
                break
    found.extend((bad.line, bad.problem) for bad in problems)
    found.sort(key=lambda item: item[0] or 1 << 62)
    if stopped:
        found.append((None, f"more damaged lines may follow (the first {shown} are named)"))
    return found


def _check_lines(first_line: int, chunk: bytes, found: list[tuple[int | None, str]], shown: int) -> None:
    """Add the damaged lines of a chunk of whole lines to `found`, until it holds `shown`."""
    data = b"\n" + chunk
    search = _ODD_LINE_RE.search
    match = search(data)
    line, counted_to = first_line, 1
    while match is not None and len(found) < shown:
        start = match.start() + 1
        end = data.index(b"\n", start)
        line += data.count(b"\n", counted_to, start)
        counted_to = start
        _row, problem = _judge_line(data[start:end])
        if problem is not None:
            found.append((line, problem))
        match = search(data, end)


# --- The same answers for a long log, from its digest ------------------------------------------


def _through_digest(folder: Path, root: Path | None, compute: Any, decode: Any, encode: Any) -> Any:
    """`compute()` for a short log. For a long one, `decode(digest)` when the cache's digest of the log
    holds the answer (a KeyError, TypeError or ValueError there means it does not), else `compute()`,
    kept in the digest as `encode(result)` beside what it already held."""
    from pydantic import ValidationError

    from .index import LOG_DIGEST_MIN_BYTES, log_signature, read_log_digest, write_log_digest

    sig = log_signature(folder / METRICS_LOG_FILE)
    if sig is None or sig[0] < LOG_DIGEST_MIN_BYTES:
        return compute()
    digest = read_log_digest(root, folder, sig)
    if digest is not None:
        try:
            return decode(digest)
        except (ValidationError, TypeError, ValueError, KeyError, AttributeError):
            pass
    result = compute()
    write_log_digest(root, folder, sig, {**(digest or {}), **encode(result)})
    return result


def _listed(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError("not a list")
    return value


def log_problems(folder: Path, root: Path | None = None) -> list[tuple[int | None, str]]:
    """`check_log` of the folder's metrics.jsonl; for a long log, kept in the cache's digest of it."""
    return _through_digest(
        folder, root, lambda: check_log(folder / METRICS_LOG_FILE),
        lambda digest: [(line, str(problem)) for line, problem in _listed(digest["check"])],
        lambda found: {"check": [list(item) for item in found]})


def log_summaries(folder: Path, root: Path | None = None) -> tuple[dict[str, MetricSummary], list[DamagedFile]]:
    """`summarize_log(folder)`; for a long log, kept in the cache's digest of it (next to its check)."""
    path = folder / METRICS_LOG_FILE

    def decode(digest: dict[str, Any]) -> tuple[dict[str, MetricSummary], list[DamagedFile]]:
        summaries = {key: MetricSummary.model_validate({k: decode_number(v) for k, v in value.items()})
                     for key, value in digest["summaries"].items()}
        return summaries, [DamagedFile(str(path), str(problem), line) for line, problem in digest["problems"]]

    def encode(result: tuple[dict[str, MetricSummary], list[DamagedFile]]) -> dict[str, Any]:
        summaries, problems = result
        return {"summaries": {key: {k: encode_float(v) if isinstance(v, float) else v
                                    for k, v in summary.model_dump().items()}
                              for key, summary in summaries.items()},
                "problems": [[bad.line, bad.problem] for bad in problems]}

    return _through_digest(folder, root, lambda: summarize_log(folder), decode, encode)


def log_key_counts(folder: Path, root: Path | None = None) -> dict[bytes, int]:
    """Points per key (UTF-8 bytes): from the digest's summaries when it holds them, else `count_log_keys`."""
    from .index import LOG_DIGEST_MIN_BYTES, log_signature, read_log_digest

    sig = log_signature(folder / METRICS_LOG_FILE)
    if sig is None:  # schema 3, settled (or no log at all): the summary counts every point
        from .run_summary import summary_counts

        counted = summary_counts(folder)
        if counted:
            return {key.encode("utf-8", "surrogatepass"): n for key, n in counted.items()}
    if sig is not None and sig[0] >= LOG_DIGEST_MIN_BYTES:
        digest = read_log_digest(root, folder, sig)
        summaries = digest.get("summaries") if digest else None
        if isinstance(summaries, dict):
            try:
                return {str(key).encode("utf-8", "surrogatepass"): int(value["steps"])
                        for key, value in summaries.items()}
            except (TypeError, ValueError, KeyError):
                pass
    return count_log_keys(folder)
