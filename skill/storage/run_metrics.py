"""A run's metrics answered from wherever its points are (the live log, the settled log in the object
store, the summary), the costly answers of a long log kept in the cache's digest of it."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ..errors import DamagedFile
from ..layout import METRICS_LOG_FILE
from ..schemas.records import MetricPoint, MetricSummary
from .encoding import decode_number, encode_float
from .index import LOG_DIGEST_MIN_BYTES, read_log_digest, write_log_digest
from .metrics_log import CappedProblems, check_log, count_keys
from .run_summary import iter_run_rows, open_run_log, summary_counts
from .signatures import file_signature


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
    """Points per key (keys as UTF-8 bytes) of the run's full log, the cheap first pass of a downsampled
    history (see `metrics_log.count_keys`); {} when the log is not here."""
    ignored: list[DamagedFile] = []
    handle = open_run_log(folder, ignored)
    if handle is None:
        return {}
    with handle:
        return count_keys(handle, folder / METRICS_LOG_FILE, ignored)


def _through_digest(folder: Path, root: Path | None, compute: Any, decode: Any, encode: Any) -> Any:
    """`compute()` for a short log. For a long one, `decode(digest)` when the cache's digest of the log
    holds the answer (a KeyError, TypeError or ValueError there means it does not), else `compute()`,
    kept in the digest as `encode(result)` beside what it already held."""
    from pydantic import ValidationError

    sig = file_signature(folder / METRICS_LOG_FILE, regular=True)
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
    sig = file_signature(folder / METRICS_LOG_FILE, regular=True)
    if sig is None:  # schema 3, settled (or no log at all): the summary counts every point
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
