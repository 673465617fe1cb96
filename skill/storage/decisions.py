"""Decisions: which experiment an increment chose and why, kept in `experiments/decisions.jsonl`.

Append-only: a later decision supersedes an earlier one, both stay in the
history, and a union merge of two clones' files keeps every line. The selected
run is derived from this file (`skill.storage.selection`: the latest decision
wins) and shown as the tag `selected`; nothing is written into the run itself.
A line holds what the decision needs: the run, the rationale, the primary
metric and its value (not a copy of every metric the run logged).
"""

from __future__ import annotations

import os
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..schemas.reports import Decision
from ..errors import DamagedFile, InvalidInput, UnsafePath
from ..layout import DECISIONS_FILE, EXPERIMENTS_DIR, METADATA_FILE
from ..schemas.records import Increment
from .edits import check_writable
from .fileio import append_whole, dumps_jsonl_record, open_nofollow, parse_jsonl, read_bytes_nofollow, to_jsonable
from .gitfiles import ensure_merge_rules
from .increments import resolve_increment
from .locks import file_lock
from .selection import SELECTED_TAG
from .run_records import find_experiment
from .validate import (
    MAX_ALTERNATIVES,
    MAX_AUTHOR,
    MAX_DECISION_METRICS,
    MAX_RATIONALE,
    check_depth,
    is_utf8,
    validate_text,
)


# A decision dated later than this after now is not believed: clocks differ by minutes, not days, and a line
# dated 2099 that arrived by a merge would otherwise select its run for good.
FUTURE_SLACK = timedelta(days=1)


def decisions_path(inc: Increment) -> Path:
    return inc.path / EXPERIMENTS_DIR / DECISIONS_FILE


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


def read_decisions_checked(inc: Increment, root: Path | None = None) -> tuple[list[Decision], list[str]]:
    """Every readable decision, oldest first, and a problem line per damaged line."""
    path = decisions_path(inc)
    return read_decisions_file(path, path.relative_to(root) if root and path.is_relative_to(root) else path)


def read_decisions_file(path: Path, shown: Path) -> tuple[list[Decision], list[str]]:
    """The decisions in `path` (named `shown` in problems), oldest first; ties keep their line order."""
    try:
        text = read_bytes_nofollow(path).decode("utf-8", errors="replace")
    except FileNotFoundError:
        return [], []
    except DamagedFile as exc:  # a planted link, a folder, or a file too large to be decisions
        return [], [f"{shown}: {exc.problem}"]
    records, bad = parse_jsonl(shown, text)
    problems = [f"{b.path}:{b.line}: {b.problem}" for b in bad]
    decisions = []
    latest_allowed = datetime.now(timezone.utc) + FUTURE_SLACK
    for record in records:
        try:
            decision = Decision.model_validate(record)
        except ValidationError as exc:
            problems.append(f"{shown}: a decision does not match the schema ({exc.errors()[0]['msg']})")
            continue
        ts = decision.ts if decision.ts.tzinfo else decision.ts.replace(tzinfo=timezone.utc)
        if ts > latest_allowed:  # it would stay "the latest" for ever, whatever anyone decides later
            problems.append(f"{shown}: a decision for {decision.selected} is dated {ts.isoformat()}, more than a "
                            "day in the future; it is ignored (the selection is the latest decision up to now)")
            continue
        decisions.append(decision.model_copy(update={"selected_now": None}))
    # by time, not by line: after two clones' histories merge, lines need not be in order
    decisions.sort(key=lambda d: d.ts if d.ts.tzinfo else d.ts.replace(tzinfo=timezone.utc))
    return decisions, problems


def read_decisions(root: Path, increment: str | None) -> list[Decision]:
    """The increment's decisions, oldest first (damaged lines skipped; compare reports them)."""
    return read_decisions_checked(resolve_increment(root, increment), root)[0]


def latest_decision(root: Path, inc: Increment) -> Decision | None:
    decisions = read_decisions_checked(inc, root)[0]
    return decisions[-1] if decisions else None


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


def _primary_metric(root: Path, inc: Increment, chosen: Any) -> str | None:
    """The metric the increment's comparison ranks by (ml.yaml's, else the one compare infers)."""
    from ..analysis.compare import compare_experiments

    try:
        return compare_experiments(root, inc.id, write_report=False).primary_metric
    except Exception:  # a decision never fails for want of a ranking: the run's first metric then
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
) -> Decision:
    """Record that `selected` was chosen for the increment, and why; from then on it reads as `selected`.

    All or nothing: every argument is checked before anything is written, and the one line is
    appended whole under the increment's decisions lock (a short write is cut back, never left half).
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
    primary = _primary_metric(root, inc, chosen)
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


__all__ = ["Decision", "SELECTED_TAG", "latest_decision", "log_decision", "read_decisions"]
