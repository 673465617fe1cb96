"""Appending a decision to `experiments/decisions.jsonl`: checked whole, then one line under the lock.

The history's format and its readers are in `skill.storage.decisions`; the selected run is derived from it
(`skill.storage.selection`).
"""

from __future__ import annotations

import os
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import DamagedFile, InvalidInput, UnsafePath
from ..layout import METADATA_FILE
from ..schemas.records import ExperimentRecord
from ..schemas.reports import Decision
from .atomic_writes import append_whole
from .decisions import decisions_path, read_decisions_file
from .edits import check_writable
from .encoding import dumps_jsonl_record, to_jsonable
from .gitfiles import ensure_merge_rules
from .increments import resolve_increment
from .locks import file_lock
from .run_records import find_experiment
from .safe_reads import open_nofollow
from .validate import (
    MAX_ALTERNATIVES,
    MAX_AUTHOR,
    MAX_DECISION_METRICS,
    MAX_RATIONALE,
    check_depth,
    is_utf8,
    validate_text,
)


def _default_author(root: Path) -> str | None:
    env = os.environ.get("SPECWEAVE_AUTHOR")
    if env:
        return env
    try:
        done = subprocess.run(["git", "-C", str(root), "config", "user.email"], capture_output=True, text=True,
                              timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


def _bounded_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    """A decision's metrics: a few named numbers, bounded like the rationale."""
    if not isinstance(metrics, dict):
        raise InvalidInput("metrics", metrics, "a dict of metric name -> value")
    if len(metrics) > MAX_DECISION_METRICS:
        raise InvalidInput("metrics", f"<{len(metrics)} entries>", f"at most {MAX_DECISION_METRICS} metrics")
    check_depth("metrics", metrics, 4)
    try:
        safe = to_jsonable(metrics)
        text = dumps_jsonl_record(safe)
    except (TypeError, ValueError) as exc:
        raise InvalidInput("metrics", metrics, f"JSON-safe values ({exc})") from None
    if len(text) > MAX_RATIONALE or not is_utf8(text):
        raise InvalidInput("metrics", metrics, f"valid UTF-8 of at most {MAX_RATIONALE} characters as JSON")
    return safe


def _first_numeric(chosen: ExperimentRecord) -> str | None:
    numeric = [k for k, v in chosen.metrics.items() if isinstance(v, (int, float))]
    return numeric[0] if numeric else None


def _append_line(path: Path, line: str) -> int:
    """Append one line (after a newline if a killed writer left a cut one); returns the size before.
    Never follows a link planted in place of the file."""
    fd = open_nofollow(path, os.O_RDWR | os.O_CREAT | os.O_APPEND)
    try:
        size = os.fstat(fd).st_size
        if size:  # a previous writer killed mid-line must not glue its fragment to this line
            os.lseek(fd, size - 1, os.SEEK_SET)
            if os.read(fd, 1) != b"\n":
                line = "\n" + line
        append_whole(fd, line.encode("utf-8"), size)  # a short write (a full disk) leaves no half line
    finally:
        os.close(fd)
    return size


def log_decision(
    root: Path,
    increment: str | None,
    selected: str,
    rationale: str,
    alternatives: list[str] | None = None,
    metrics: dict[str, Any] | None = None,
    author: str | None = None,
    primary_metric: str | None = None,
) -> Decision:
    """Record that `selected` was chosen for the increment, and why; from then on it reads as `selected`.

    All or nothing: every argument is checked before anything is written, and the one line is
    appended whole under the increment's decisions lock (a short write is cut back, never left half).
    `primary_metric` is the metric the increment is ranked by (the caller asks the comparison, above
    storage); without one, the selected run's first numeric metric stands in.
    """
    rationale = validate_text("rationale", rationale, MAX_RATIONALE).strip()
    if author is not None:
        author = validate_text("author", author, MAX_AUTHOR, single_line=True)
    if alternatives is not None and (not isinstance(alternatives, list) or len(alternatives) > MAX_ALTERNATIVES):
        raise InvalidInput("alternatives", alternatives, f"a list of at most {MAX_ALTERNATIVES} experiment references")
    inc = resolve_increment(root, increment)
    chosen = find_experiment(root, selected, inc.id)
    alts: list[str] = []
    for ref in alternatives or []:
        alt = find_experiment(root, ref, inc.id)
        if alt.dir == chosen.dir:
            raise InvalidInput("alternative", ref, f"an experiment other than the selected {chosen.id}")
        if alt.id not in alts:
            alts.append(alt.id)
    primary = primary_metric if primary_metric is not None else _first_numeric(chosen)
    if metrics is None:  # the number the choice was made on; the run's folder keeps the rest
        value = chosen.metrics.get(primary) if primary else None
        metrics = {primary: value} if primary and isinstance(value, (int, float)) else {}
    safe_metrics = _bounded_metrics(metrics)
    check_writable(chosen)
    if chosen.meta is None:  # a run that cannot be read cannot be vouched for
        raise DamagedFile(str(chosen.path / METADATA_FILE), "is missing or unreadable; repair it before selecting "
                          f"{chosen.id}")
    decision = Decision(
        ts=datetime.now(timezone.utc), increment=inc.id, selected=chosen.id, selected_dir=chosen.dir,
        rationale=rationale, alternatives=alts, primary_metric=primary, metrics=safe_metrics,
        author=author if author is not None else _default_author(root),
    )
    line = dumps_jsonl_record(decision.model_dump(mode="json", exclude={"selected_now"}))
    path = decisions_path(inc)
    if path.parent.is_symlink() or path.is_symlink():
        raise UnsafePath(str(path.relative_to(root)), "the store (a symbolic link was planted there)")
    ensure_merge_rules(root)
    with file_lock(path):
        _append_line(path, line)
        # what the decisions select now, read back: a decision dated later than this one (up to a day ahead)
        # still holds, and every message about the selection must say so
        latest = read_decisions_file(path, path)[0]
    now = latest[-1] if latest else None
    return decision.model_copy(update={"selected_now": now.selected if now else None})


__all__ = ["log_decision"]
