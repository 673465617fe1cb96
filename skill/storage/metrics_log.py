"""`metrics.jsonl` read: its lines parsed fast (one regular expression per chunk, a careful path for odd
lines), bounded, and every damaged line reported with its number. The writer is `metrics_writer`; a
run's log wherever it lives (live or settled) is `run_summary.open_run_log`; cached answers per run are
`run_metrics`.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from ..errors import DamagedFile
from ..layout import METRICS_LOG_FILE
from ..schemas.records import MetricPoint, MetricSummary
from .bounded_parsing import MAX_DEPTH, TOO_DEEP
from .encoding import decode_number, encode_float
from .safe_reads import open_regular_nofollow


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


# --- The line of a point -------------------------------------------------------------------------

def point_lines(points: Iterable[tuple[str, float, int, float]], key_json: Mapping[str, str]) -> str:
    """(key, value, step, ts) points as the log's lines, the one form every writer of a log uses and
    `_POINT` below reads first: `key_json[key]` is the key as JSON (made once per key by the caller),
    a finite value in its shortest exact form (repr), NaN and the infinities quoted, ts to the ms."""
    lines = []
    append = lines.append
    for key, value, step, ts in points:
        shown = repr(value) if value - value == 0.0 else json.dumps(encode_float(value))
        append(f'{{"key":{key_json[key]},"step":{step},"ts":{ts:.3f},"value":{shown}}}\n')
    return "".join(lines)


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


def open_log(path: Path, problems: list[DamagedFile]) -> Any:
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
    handle = open_log(path, problems)
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


def read_log_tail(folder: Path, size: int) -> tuple[list[MetricPoint], list[DamagedFile]]:
    """The points of the last `size` bytes of metrics.jsonl (whole lines only), with damaged lines.

    What a list needs of a running or crashed run with a long log: the summary (metrics.json) is
    at most one flush behind, and that flush is at the end of the file.
    """
    path = folder / METRICS_LOG_FILE
    problems: list[DamagedFile] = []
    handle = open_log(path, problems)
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
    handle = open_log(path, problems)
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
    handle = open_log(path, problems)
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


def count_keys(handle: Any, path: Path, problems: list[DamagedFile]) -> dict[bytes, int]:
    """Points per key (keys as UTF-8 bytes) in an open log: per chunk, one count() per key already seen,
    and a parse only of a chunk those counts do not explain."""
    counts: dict[bytes, int] = {}
    for line, chunk in _log_chunks(handle, path, problems):
        lines = chunk.count(b"\n") + (not chunk.endswith(b"\n"))
        found = {key: chunk.count(b'{"key":"' + key + b'","step":') for key in counts}
        if counts and sum(found.values()) == lines:
            for key, n in found.items():
                counts[key] += n
            continue
        rows = _ROWS_RE.findall(_unquote(chunk))
        if len(rows) != lines:
            rows = _slow_rows(path, line, chunk, problems)
        for row in rows:
            counts[row[0]] = counts.get(row[0], 0) + 1
    return counts
