"""Schema 3: what git keeps of a run's points (a bounded summary) and where the full log goes.

    exp-001-baseline.k3f9qa/
      .gitignore            `metrics.jsonl`: the live log never enters git
      metrics.jsonl         every point, appended live (crash-safe, as in schema 1 and 2), until settled
      metrics.summary.json  per metric: count, first, last, min, max (each with its step) and at most
                            SUMMARY_POINTS points kept by the one downsampler (`storage.downsample`):
                            their values, their steps (or `stride` for a regular run) and their times
                            (`dt`: milliseconds since the one before, exact to what the log keeps)

When the run ends (or, for a crashed run, when it is next read) the live log is *settled*: gzipped
into the object store (`objects/sha256/..`, pushed and pulled with the models), named in the summary by
its sha256, and removed from the folder. A run whose every metric has at most SUMMARY_POINTS points is
kept whole in the summary (`complete`: steps, values and times exact, as the log has them), so a fresh
clone has every point of a short run at once. Such a run gets no object (`log`: null) unless some line
of its log was damaged: the summary is its full log, less only the order in which its metrics
interleaved, which no reader uses (`open_settled_log` reads it back as log lines, metric by metric).
That keeps a short run to the files git lists: no gzip, no object, no push.

Readers take the full log when it is here (live, or in the object store) and the summary when it is
not, and say which (`source`: "full" or "summary"). Why 500 points: a chart 500 to 1,000 pixels wide
draws each bucket's min and max in one pixel column, so the curve of a fresh clone looks as the full
one does; at about 30 bytes a point (step, value to 17 digits, time delta) a metric costs at most
about 15 KB of git whatever the run's length. Why this encoding: one metric per line, so two metrics'
changes never touch, and plain JSON numbers (exact, and zlib, as git stores them, halves them). A metric
whose values are all float32s (a deep-learning loop's `loss.item()`) is written in the fewest digits that
give each float32 back (`f32`, `storage.float32`): 7 to 9 digits instead of 17, read back bit for bit.
"""

from __future__ import annotations

import errno
import gzip
import io
import os
from array import array
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from ..errors import DamagedFile, schema_problem
from ..layout import LOG_MARKER, METRICS_LOG_FILE, METRICS_SUMMARY_FILE
from ..schemas.records import MetricPoint, MetricSummary
from .atomic_writes import atomic_write, temp_file_for
from .bounded_parsing import read_json
from .downsample import minmax_indices
from .encoding import decode_number, encode_float
from .float32 import is_f32, short_f32, widen_f32
from .metrics_log import LOG_CHUNK_BYTES, CappedProblems, iter_handle_rows, open_log, point_lines

SUMMARY_POINTS = 500
SHOWN_PROBLEMS = 3
SUMMARY_FORMAT = 1
SUMMARY_FORMAT_F32 = 2  # a summary with an `f32` metric: a reader that predates it would read its values to 7-9 digits
LOG_IGNORE = f"{METRICS_LOG_FILE}\n"  # the live log; settled into the object store when the run ends
GZIP_LEVEL = 1  # 7% larger than level 6, half the time; the log is settled once, as the run ends
SPOOL_BYTES = 4 << 20  # gzipped log bytes held in memory before they go to a temp file


class LogObject(BaseModel):
    """The settled full log: gzipped JSON lines in the object store."""

    sha256: str
    size: int = Field(description="bytes of the gzipped object")
    points: int
    encoding: str = "gzip"


# A value as JSON holds it: a number, or one of the strings NaN and the infinities are stored as.
Stored = float | Literal["NaN", "Infinity", "-Infinity"]


def _shape(problem: str) -> PydanticCustomError:
    """A summary whose lists disagree, in pydantic's own error (its message as written)."""
    return PydanticCustomError("summary_shape", problem)


class MetricDigest(BaseModel):
    """One metric's history as git keeps it. Pairs are [step, value]."""

    count: int
    first: tuple[int, Stored]
    last: tuple[int, Stored]
    min: tuple[int, Stored] | None = None  # None: every value is NaN
    max: tuple[int, Stored] | None = None
    complete: bool = Field(description="True when every point is kept below")
    steps: list[int] = Field(default_factory=list, description="the kept points' steps (empty when `stride` says)")
    stride: int | None = Field(None, description="kept steps are first's step + i * stride (a regular run)")
    values: list[Stored]
    dt: list[int] = Field(description="milliseconds since the previous kept point (the first: since t0)")
    f32: bool = Field(False, description="every kept value is a float32 (as from a float32 tensor), written in the "
                                         "fewest digits that give that float32 back; read back exactly")

    @model_validator(mode="after")
    def _exact_values(self) -> MetricDigest:
        kept = len(self.values)  # a hand-edited or hostile summary must not be read short (zip would)
        if len(self.dt) != kept:
            raise _shape(f"{kept} values but {len(self.dt)} times (dt): one per kept point")
        if self.stride is None and len(self.steps) != kept:
            raise _shape(f"{kept} values but {len(self.steps)} steps: one per kept point, or a stride")
        if self.stride is not None and self.steps:
            raise _shape("both steps and a stride: a summary has one of them")
        if self.count < max(kept, 1) or (self.complete and self.count != kept):
            raise _shape(f"count {self.count} with {kept} kept points"
                         f"{' (complete: every point kept)' if self.complete else ''}")
        if self.f32:
            self.values = [widen_f32(v) if type(v) is float else v for v in self.values]
            for name in ("first", "last", "min", "max"):
                pair = getattr(self, name)
                if pair is not None and type(pair[1]) is float:
                    setattr(self, name, (pair[0], widen_f32(pair[1])))
        return self

    def kept_steps(self) -> list[int]:
        if self.stride is not None:
            return [self.first[0] + i * self.stride for i in range(len(self.values))]
        return self.steps

    def kept_times(self, t0: float) -> list[float]:
        """Each kept point's time (seconds since the epoch, to the millisecond, as the log has it)."""
        out, at = [], round(t0 * 1000)
        for delta in self.dt:
            at += delta
            out.append(at / 1000)
        return out


class RunSummary(BaseModel):
    format: int = SUMMARY_FORMAT
    points: int
    t0: float = 0.0
    complete: bool
    damaged: int = Field(0, description="lines of the log that could not be read (kept in the object)")
    problems: list[tuple[int | None, str]] = Field(default_factory=list,
                                                   description="the first [line, problem] of those")
    log: LogObject | None = None
    live: str | None = Field(None, description="sha256 (first 16 hex digits) of the live log's bytes this summary "
                                               "took in: a settle killed before it removed that log does not "
                                               "take them twice")
    metrics: dict[str, MetricDigest]


def summary_path(folder: Path) -> Path:
    return folder / METRICS_SUMMARY_FILE


def read_summary(folder: Path) -> RunSummary | None:
    """The folder's summary, or None (absent, or damaged: a reader then has no summary to offer)."""
    return summary_or_damage(folder)[0]


def summary_or_damage(folder: Path) -> tuple[RunSummary | None, DamagedFile | None]:
    """The folder's summary; or, when there is a file but it cannot be read, why (one line): a reader
    whose only history of a run is its summary says so, not that the run logged nothing."""
    path = summary_path(folder)
    try:
        return RunSummary.model_validate(read_json(path)), None
    except (FileNotFoundError, NotADirectoryError):
        return None, None
    except DamagedFile as exc:
        return None, exc
    except OSError as exc:
        return None, DamagedFile(str(path), exc.strerror or str(exc))
    except ValidationError as exc:
        return None, DamagedFile(str(path), schema_problem(exc))


def summary_damage(folder: Path) -> list[str]:
    """Problem lines for the damaged lines a settled log had, cheaply: the summary's first line says
    whether there were any (`"damaged": 0`), and only then is the file parsed."""
    from .safe_reads import open_regular_nofollow as _open

    try:
        fd = _open(summary_path(folder))
    except (OSError, DamagedFile):
        return []
    try:
        head = os.read(fd, 256)
    finally:
        os.close(fd)
    if b'"damaged": 0,' in head or not head:
        return []
    summary = read_summary(folder)
    if summary is None or not summary.damaged:
        return []
    log = folder / METRICS_LOG_FILE
    lines = [f"{log}:{line}: {problem}" if line else f"{log}: {problem}" for line, problem in summary.problems]
    if summary.damaged > len(lines):
        lines.append(f"{log}: {summary.damaged - len(lines)} more damaged lines (kept in the settled log)")
    return lines


def ensure_log_ignored(folder: Path) -> None:
    """Make git ignore the folder's live log (a `.gitignore` in the run folder: only schema-3 runs get
    one, so an older run's committed log is never silently dropped from git)."""
    from .safe_reads import open_nofollow

    try:  # created whole in one write, or already there: no temp file and rename on a run's start
        fd = open_nofollow(folder / LOG_MARKER, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    except FileExistsError:
        return
    try:
        os.write(fd, LOG_IGNORE.encode("utf-8"))
    except OSError:
        os.unlink(folder / LOG_MARKER)  # never an empty marker: the log would not be ignored
        raise
    finally:
        os.close(fd)


# --- Reading the settled log ----------------------------------------------------------------------


class _Unzipped(io.RawIOBase):
    """A gzip stream over an object's descriptor that closes the descriptor with it."""

    def __init__(self, fd: int):
        self._raw = os.fdopen(fd, "rb")
        self._gz = gzip.GzipFile(fileobj=self._raw, mode="rb")

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        return self._gz.read(size)

    def close(self) -> None:
        try:
            self._gz.close()
        finally:
            self._raw.close()
            super().close()


class _Joined(io.RawIOBase):
    """Two streams read one after the other (the settled log, then points logged after it was settled)."""

    def __init__(self, first: Any, second: Any):
        self._parts = [first, second]

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        if size is None or size < 0:
            return b"".join(part.read() for part in self._parts)
        while self._parts:
            data = self._parts[0].read(size)
            if data or size == 0:
                return data
            self._parts.pop(0).close()
        return b""

    def close(self) -> None:
        for part in self._parts:
            part.close()
        self._parts = []
        super().close()


def store_of(folder: Path) -> Path | None:
    from .store_dirs import store_dir_of

    return store_dir_of(folder)


_UNREAD: Any = object()


def open_settled_log(folder: Path, problems: list[DamagedFile], exact: bool = False,
                     summary: RunSummary | None = _UNREAD) -> Any:
    """The settled log of a schema-3 run as a stream of JSON lines: the object's bytes when this clone has
    it, else (unless `exact`) a complete summary's points as log lines; None when neither (a fresh clone
    of a long run before `sw-ml artifacts pull`: the summary's downsample is all there is). `summary`:
    the run's summary when the caller has just read it."""
    if summary is _UNREAD:
        summary = read_summary(folder)
    if summary is None:
        return None
    if summary.log is not None:
        store = store_of(folder)
        from ..errors import InvalidInput, UnsafePath
        from .objects import object_state, open_object

        try:
            if store is not None and object_state(store, summary.log.sha256, summary.log.size) == "present":
                return _Unzipped(open_object(store, summary.log.sha256))
        except (InvalidInput, UnsafePath, DamagedFile, OSError) as exc:
            problems.append(DamagedFile(str(folder / METRICS_SUMMARY_FILE),
                                        f"its log object cannot be read ({exc})"))
            return None
    if exact or not summary.complete or summary.damaged:
        return None
    return io.BytesIO(summary_log_lines(summary))


def summary_log_lines(summary: RunSummary) -> bytes:
    """A complete summary's points as the log's own lines, in time order (metric by metric within a
    millisecond): what the settled log holds, but for how metrics logged in one millisecond interleaved."""
    import json

    points = [(key, float(decode_number(value)), step, ts) for key, digest in summary.metrics.items()
              for step, value, ts in zip(digest.kept_steps(), digest.values, digest.kept_times(summary.t0))]
    points.sort(key=lambda point: point[3])  # stable: metric by metric within a millisecond
    return point_lines(points, {key: json.dumps(key, ensure_ascii=False) for key in summary.metrics}).encode("utf-8")


def summary_points(summary: RunSummary, keys: set[str] | None = None) -> list[MetricPoint]:
    """The points the summary keeps, metric by metric (every point when it is complete)."""
    construct = MetricPoint.model_construct
    out = []
    for key, digest in summary.metrics.items():
        if keys is not None and key not in keys:
            continue
        for step, value, ts in zip(digest.kept_steps(), digest.values, digest.kept_times(summary.t0)):
            out.append(construct(key=key, value=float(decode_number(value)), step=int(step), ts=ts))
    return out


def open_run_log(folder: Path, problems: list[DamagedFile]) -> Any:
    """The run's full point log as a binary stream: its live `metrics.jsonl` (schema 1 and 2 in git,
    schema 3 git-ignored while the run lasts), else the settled log in the object store (schema 3);
    None when neither is here (a fresh clone before `sw-ml artifacts pull`: read the summary)."""
    path = folder / METRICS_LOG_FILE
    before = len(problems)
    handle = open_log(path, problems)
    if len(problems) > before:  # here and refused (a link)
        return handle
    if handle is not None:
        # a run not settled yet: the live log is all of it; else these are points logged after the settle
        # (a metric after `end()`, a late rank): the settled log first, as the next settle joins them
        settled = open_settled_log(folder, problems)
        return handle if settled is None else _Joined(settled, handle)
    return open_settled_log(folder, problems)


def iter_run_rows(folder: Path, problems: list[DamagedFile]) -> Iterator[tuple[int, list[tuple[Any, ...]]]]:
    """`iter_log_rows` of the run's full log wherever it is (see `open_run_log`)."""
    handle = open_run_log(folder, problems)
    if handle is None:
        return
    with handle:
        yield from iter_handle_rows(handle, folder / METRICS_LOG_FILE, problems)


def full_log_bytes(folder: Path) -> bytes:
    """The run's whole point log as JSON lines (live, or out of the object store); empty when absent."""
    handle = open_run_log(folder, [])
    if handle is None:
        return b""
    with handle:
        return handle.read()


def summary_counts(folder: Path) -> dict[str, int]:
    """Points logged per metric, from the folder's summary (empty without one)."""
    summary = read_summary(folder)
    return {key: d.count for key, d in summary.metrics.items()} if summary is not None else {}


def summary_metric_summaries(summary: RunSummary) -> dict[str, MetricSummary]:
    """min, max, last and count per metric, exact, from the summary alone."""
    out = {}
    nan = float("nan")
    for key, d in summary.metrics.items():
        last = float(decode_number(d.last[1]))
        out[key] = MetricSummary(key=key, last=last, min=float(decode_number(d.min[1])) if d.min else nan,
                                 max=float(decode_number(d.max[1])) if d.max else nan, steps=d.count,
                                 last_step=int(d.last[0]))
    return out


# --- Building the summary and settling the log ----------------------------------------------------


class _Series:
    __slots__ = ("steps", "ts", "values")

    def __init__(self) -> None:
        self.steps, self.ts, self.values = array("q"), array("d"), array("d")


class WrittenLog(NamedTuple):
    """The points a run's own buffer appended to its live log, as it appended them, and the bytes that
    made: when the log has exactly that size, the settle takes these instead of parsing the log back."""

    chunks: list[list[tuple[str, float, int, float]]]  # (key, value, step, ts) as logged
    size: int


def _add_written(series: dict[Any, _Series], chunks: list[list[tuple[str, float, int, float]]]) -> None:
    """The points as a read of the log gives them, but for ts: the log keeps it to the millisecond
    (`point_lines`'s `:.3f`, which `round(ts, 3)` equals), and `_digest` and t0 round what they use."""
    for chunk in chunks:
        for key, value, step, ts in chunk:
            s = series.get(key)
            if s is None:
                s = series[key] = _Series()
            s.steps.append(step)
            s.ts.append(ts)
            s.values.append(value)


def _copy_log(handle: Any, size: int, spool: Any | None) -> str:
    """Read the live log's `size` bytes: their hash (the summary's `live`), gzipped into `spool` if given."""
    import hashlib

    taken, left = hashlib.sha256(), size
    with handle, _gzip_into(spool) if spool is not None else nullcontext() as gz:
        while left:
            block = handle.read(min(left, LOG_CHUNK_BYTES))
            if not block:
                raise OSError(errno.EIO, f"the live log ended {left} bytes short of the points its run wrote")
            taken.update(block)
            if gz is not None:
                gz.write(block)
            left -= len(block)
    return taken.hexdigest()[:16]


def _pair(step: int, value: float) -> tuple[int, Any]:
    return (step, encode_float(value))


def _digest(series: _Series, t0: float) -> MetricDigest:
    values, steps, ts = series.values, series.steps, series.ts
    n = len(values)
    keep = minmax_indices(values, SUMMARY_POINTS)
    lo = hi = None
    total = sum(values)
    if total == total:
        lo_at, hi_at = values.index(min(values)), values.index(max(values))
    else:
        numbers = [(v, i) for i, v in enumerate(values) if v == v]
        lo_at = min(numbers, key=lambda item: (item[0], item[1]))[1] if numbers else None
        hi_at = min(numbers, key=lambda item: (-item[0], item[1]))[1] if numbers else None
    if lo_at is not None and hi_at is not None:
        lo, hi = _pair(steps[lo_at], values[lo_at]), _pair(steps[hi_at], values[hi_at])
    whole = len(keep) == n  # every point kept (keep is 0..n-1): taken whole, not index by index
    kept = steps.tolist() if whole else [steps[i] for i in keep]
    stride = kept[1] - kept[0] if len(kept) > 2 else None
    if stride is not None and any(b - a != stride for a, b in zip(kept, kept[1:])):
        stride = None
    # deltas: a few digits a point, and exact to the millisecond the log keeps (a time read from the log
    # is rounded already; one from memory not)
    at = [round(t0 * 1000), *(round(round(t, 3) * 1000) for t in (ts if whole else (ts[i] for i in keep)))]
    millis = [now - before for before, now in zip(at, at[1:])]
    kept_values = values.tolist() if whole else [values[i] for i in keep]
    # built from this module's own numbers, exact already: the model's validation (a union check of
    # every kept value, and the float32 widening a reader needs) is skipped
    return MetricDigest.model_construct(
        count=n, first=_pair(steps[0], values[0]), last=_pair(steps[-1], values[-1]), min=lo, max=hi,
        complete=whole, steps=[] if stride is not None else kept, stride=stride,
        values=kept_values if total - total == 0.0 else [encode_float(v) for v in kept_values], dt=millis,
        f32=is_f32(kept_values))  # first, last, min and max are among the kept


def _num(value: Any) -> str:
    """A JSON number (or NaN/infinity string) in its shortest exact form."""
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value)


def render_summary(summary: RunSummary) -> str:
    """The summary's text: one metric per line, compact, keys sorted (a re-settle of the same log gives
    the same bytes, and two metrics' lines never touch)."""
    import json

    fmt = SUMMARY_FORMAT_F32 if any(d.f32 for d in summary.metrics.values()) else summary.format
    head = {"complete": summary.complete, "damaged": summary.damaged, "format": fmt,
            "log": summary.log.model_dump() if summary.log else None, "points": summary.points,
            "problems": summary.problems, "t0": summary.t0}
    if summary.live is not None:
        head["live"] = summary.live
    lines = ["{"]
    for key in sorted(head):
        lines.append(f"  {json.dumps(key)}: {json.dumps(head[key], sort_keys=True, separators=(',', ':'))},")
    lines.append('  "metrics": {')
    names = sorted(summary.metrics)
    for i, name in enumerate(names):
        d = summary.metrics[name]
        num = short_f32 if d.f32 else _num
        pairs = {"count": str(d.count), "complete": "true" if d.complete else "false",
                 "first": f"[{d.first[0]},{num(d.first[1])}]", "last": f"[{d.last[0]},{num(d.last[1])}]",
                 "max": f"[{d.max[0]},{num(d.max[1])}]" if d.max else "null",
                 "min": f"[{d.min[0]},{num(d.min[1])}]" if d.min else "null",
                 "dt": "[" + ",".join(map(str, d.dt)) + "]",
                 "values": "[" + ",".join(map(num, d.values)) + "]"}
        if d.f32:
            pairs["f32"] = "true"
        if d.stride is not None:
            pairs["stride"] = str(d.stride)
        else:
            pairs["steps"] = "[" + ",".join(map(str, d.steps)) + "]"
        body = ",".join(f'"{k}":{pairs[k]}' for k in sorted(pairs))
        lines.append(f"    {json.dumps(name, ensure_ascii=False)}: {{{body}}}{',' if i < len(names) - 1 else ''}")
    lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


class _Spool(io.RawIOBase):
    """Where the gzipped log is written while it is read: memory up to SPOOL_BYTES, then a temp file
    beside the summary. A short run whose summary is complete needs no object, so nothing touches
    the disk; the object's name (sha256) and size are counted as the bytes pass."""

    def __init__(self, near: Path):
        import hashlib

        self.near, self.digest, self.size = near, hashlib.sha256(), 0
        self.memory: io.BytesIO | None = io.BytesIO()
        self.fd, self.tmp = -1, ""

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:  # type: ignore[override]
        self.digest.update(data)
        self.size += len(data)
        if self.memory is None:
            self._put(data)
        else:
            self.memory.write(data)
            if self.memory.tell() > SPOOL_BYTES:
                self._spill()
        return len(data)

    def _spill(self) -> None:
        """From memory to a temp file, which takes every later byte."""
        data, self.memory = self.memory.getvalue(), None  # type: ignore[union-attr]
        self.fd, self.tmp = temp_file_for(self.near)
        self._put(data)

    def _put(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view):]

    def to_file(self) -> str:
        """The closed temp file holding every byte written (made now if they are still in memory)."""
        if self.memory is not None:
            self._spill()
        os.close(self.fd)
        self.fd = -1
        return self.tmp

    def drop(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        if self.tmp:
            try:
                os.unlink(self.tmp)
            except OSError:
                pass
            self.tmp = ""


class _Tee(io.RawIOBase):
    """Reads from `source` and writes what it read to `sink` (the gzip of the settled log), hashing it
    into `digest` when given (the live log's bytes, named in the summary)."""

    def __init__(self, source: Any, sink: Any, digest: Any = None):
        self.source, self.sink, self.digest = source, sink, digest

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        data = self.source.read(size)
        if data:
            self.sink.write(data)
            if self.digest is not None:
                self.digest.update(data)
        return data


class _AlreadyIn(Exception):
    """The live log is the one the summary already took in (a settle killed before it removed it)."""


def _gzip_into(spool: Any) -> gzip.GzipFile:
    """The object's gzip stream: no name or time in its header, so equal logs give equal bytes (one hash)."""
    return gzip.GzipFile(fileobj=spool, mode="wb", mtime=0, compresslevel=GZIP_LEVEL)


def build_and_store(folder: Path, store: Path | None, unwritten: bytes | None = None,
                    written: WrittenLog | None = None, alone: bool = False) -> RunSummary | None:
    """Read the run's points (an earlier settled log first, then the live log, then `unwritten` lines a
    run ending before its first flush hands over), gzip them into the object store unless the summary
    keeps every point whole, and return the summary (not yet written). `written`: the live log's points as
    its run's buffer wrote them, taken instead of the log's lines when the log is exactly that long.
    `alone`: `settle`'s, with no live log: the run's first settle, so there is no summary or log to look for."""
    import hashlib

    from .objects import place_object

    live = folder / METRICS_LOG_FILE
    problems = CappedProblems(live)
    previous = None if alone else read_summary(folder)
    sources: list[Any] = []
    if previous is not None and previous.points:  # points logged after a settle (a late rank, after end())
        earlier = open_settled_log(folder, problems, summary=previous)
        if earlier is None:
            raise DamagedFile(str(summary_path(folder)), "names a settled log this clone does not have; "
                              "sw-ml artifacts pull, then read the run again")
        sources.append(earlier)
    handle = None if alone else open_log(live, problems)
    if handle is None and unwritten is None:
        for source in sources:
            source.close()
        return None
    if handle is not None:
        sources.append(handle)
    if unwritten is not None:
        sources.append(io.BytesIO(unwritten))
    series: dict[bytes, _Series] = {}
    spool = _Spool(summary_path(folder))
    taken = hashlib.sha256()
    t0 = None
    damaged_before = len(problems) + problems.more
    # Only the lines a short run handed over: read as they are, gzipped below only if an object is needed
    # (the gzip stream's set-up alone costs more than a few points' summary).
    direct = unwritten is not None and len(sources) == 1
    # The run's own points, as it wrote the whole log alone: the log is read for its hash (and gzipped
    # when an object is needed), never parsed back.
    known = (written is not None and handle is not None and sources == [handle]
             and os.fstat(handle.fileno()).st_size == written.size)

    def take(readable: Any) -> None:
        for _line, rows in iter_handle_rows(readable, live, problems):
            for key, step, ts, value in rows:
                s = series.get(key)
                if s is None:
                    s = series[key] = _Series()
                s.steps.append(int(step))
                s.ts.append(float(ts))
                s.values.append(float(value))

    try:
        if known:
            _add_written(series, written.chunks)
        elif direct:
            take(sources[0])
        else:
            with _gzip_into(spool) as gz:
                for source in sources:
                    with source:
                        take(_Tee(source, gz, taken if source is handle else None))
        live_sha = taken.hexdigest()[:16] if handle is not None and not known else None
        if live_sha is not None and previous is not None and live_sha == previous.live:
            raise _AlreadyIn  # read once for both: the common case (points after a settle) has new bytes
        for s in series.values():
            if t0 is None or (len(s.ts) and s.ts[0] < t0):
                t0 = s.ts[0]
        t0 = round(t0, 3) if t0 else 0.0  # the log's ms (a no-op on times read from it: see _add_written)
        metrics = {key if known else key.decode("utf-8", "replace"): _digest(s, t0)
                   for key, s in series.items() if len(s.values)}
        damaged = len(problems) + problems.more - damaged_before
        points = sum(d.count for d in metrics.values())
        complete = all(d.complete for d in metrics.values())
        log = None
        if known:
            live_sha = _copy_log(handle, written.size, spool if points and not complete else None)
            if previous is not None and live_sha == previous.live:
                raise _AlreadyIn
        if damaged or (points and not complete):  # the exact bytes, in logged order, with times
            if store is None:
                raise DamagedFile(str(folder), "is outside a .specweave store; its log cannot be settled")
            if direct:
                with _gzip_into(spool) as gz:
                    gz.write(unwritten)
            size, sha = spool.size, spool.digest.hexdigest()
            place_object(spool.to_file(), store, sha)
            spool.tmp = ""
            log = LogObject(sha256=sha, size=size, points=points)
        shown = [[bad.line, bad.problem] for bad in list(problems)[:SHOWN_PROBLEMS]]
        return RunSummary.model_construct(points=points, t0=t0, complete=complete, damaged=damaged, problems=shown,
                                          log=log, live=live_sha, metrics=metrics)
    finally:
        spool.drop()
        if known:
            handle.close()  # read (and closed) by _copy_log, unless something before it raised


def settle(folder: Path, unwritten: bytes | None = None, alone: bool = False,
           written: WrittenLog | None = None) -> RunSummary | None:
    """Settle a run's live log (see the module's docstring): idempotent, under the log's lock, in an
    order that loses nothing if it is killed at any point (the object, then the summary, then the live
    log goes) and takes nothing twice (the summary names the live bytes it took in: a log still there
    with those bytes is only removed). Returns the summary, or None when there was nothing to settle and no summary.

    `alone`: the run's own process, before the run ends, with no other rank writing into it: nobody else can
    append to or settle its log (readers settle only runs that ended or whose process died), so `unwritten`
    is settled without the log's lock or the marker it is held on (a file fewer for a short run), and as
    its first settle: its run ends before its first flush, so it has no summary or log yet to read.
    `written`: what the run's own buffer appended to the live log (see `build_and_store`)."""
    from .locks import file_lock

    live = folder / METRICS_LOG_FILE
    if live.is_symlink():
        return read_summary(folder)
    alone = alone and unwritten is not None and not os.path.lexists(live)
    if unwritten is not None and not alone:
        ensure_log_ignored(folder)  # the marker: schema 3's sign, and what the log's lock is held on
    with nullcontext() if alone else file_lock(live):
        there = not alone and live.exists()
        if not there and unwritten is None:
            return read_summary(folder)
        try:
            summary = build_and_store(folder, store_of(folder), unwritten, written, alone)
        except _AlreadyIn:  # killed between writing the summary and removing the log: finish that
            live.unlink()
            return settle(folder, unwritten) if unwritten is not None else read_summary(folder)
        if summary is None:
            return read_summary(folder)
        atomic_write(summary_path(folder), render_summary(summary))
        if there:
            live.unlink()
        return summary


class MigrateResult(BaseModel):
    """What `sw-ml migrate` did: the version 1 and 2 runs whose point log moved from git to the store."""

    migrated: list[str] = Field(default_factory=list, description="increment/exp-id of each run moved")
    log_bytes: int = Field(0, description="bytes of metrics.jsonl taken out of the folders (out of git once committed)")
    skipped: list[str] = Field(default_factory=list, description="runs left as they were, with why")
    dry_run: bool = False

    def summary(self) -> str:
        verb = "would move" if self.dry_run else "moved"
        lines = [f"{verb} the point logs of {len(self.migrated)} run(s) ({self.log_bytes:,} bytes of metrics.jsonl) "
                 "into the object store; each keeps metrics.summary.json in git"]
        lines += [f"  {name}" for name in self.migrated]
        lines += [f"skipped: {why}" for why in self.skipped]
        if self.migrated and not self.dry_run:
            lines.append("commit the change (git add -A .specweave), then sw-ml artifacts push to share the logs")
        return "\n".join(lines)


def migrate_runs(records: list[Any], dry_run: bool = False) -> MigrateResult:
    """Move the committed point log of each version 1 or 2 run that is over into the object store, with a
    summary beside it (exactly what a schema-3 run keeps). Nothing else changes: metadata.yaml keeps its
    schema_version, metrics.json and params.json are untouched. Only ever on request (`sw-ml migrate`)."""
    from .safe_reads import open_regular_nofollow

    result = MigrateResult(dry_run=dry_run)
    for rec in records:
        name = f"{rec.increment}/{rec.id}"
        live = Path(rec.path) / METRICS_LOG_FILE
        if not os.path.lexists(live) or os.path.lexists(Path(rec.path) / LOG_MARKER):
            continue  # nothing in git to move (schema 3 settles its own)
        if rec.meta is None or rec.status in ("running",):
            result.skipped.append(f"{name}: {'running' if rec.meta else 'no readable metadata.yaml'}")
            continue
        try:  # a link out of the store, a FIFO, a file shared by hard links: refused here, as every reader does
            fd = open_regular_nofollow(live)
            size = os.fstat(fd).st_size
            os.close(fd)
        except (OSError, DamagedFile) as exc:
            result.skipped.append(f"{name}: {METRICS_LOG_FILE} {getattr(exc, 'problem', None) or exc.strerror or exc}")
            continue
        if not dry_run:
            try:
                settle(Path(rec.path))
            except (OSError, DamagedFile) as exc:
                result.skipped.append(f"{name}: {getattr(exc, 'strerror', None) or exc}")
                continue
            if os.path.lexists(live):  # settle leaves a log it could not read whole: never count it moved
                result.skipped.append(f"{name}: {METRICS_LOG_FILE} not moved (it changed, or could not be read)")
                continue
        result.migrated.append(name)
        result.log_bytes += size
    return result


__all__ = ["SUMMARY_POINTS", "LogObject", "MetricDigest", "MigrateResult", "RunSummary",
           "ensure_log_ignored", "full_log_bytes", "iter_run_rows", "migrate_runs", "open_run_log", "open_settled_log",
           "read_summary", "summary_or_damage", "render_summary", "settle", "WrittenLog", "summary_counts", "summary_damage", "summary_metric_summaries",
           "summary_path", "summary_points"]
