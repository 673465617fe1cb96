"""Decisions: which experiment an increment chose and why, kept in `experiments/decisions.jsonl`.

Append-only: a later decision supersedes an earlier one, both stay in the
history. The selected experiment carries the tag `selected` (moved from the
previously selected one), so every list shows it.
"""

from __future__ import annotations

import os
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from .edits import set_tags
from .errors import DamagedFile, InvalidInput
from .fileio import dumps_jsonl_record, parse_jsonl, to_jsonable
from .gitfiles import ensure_union_merge
from .increments import resolve_increment
from .layout import DECISIONS_FILE, EXPERIMENTS_DIR, SCHEMA_VERSION
from .models import Increment
from .store import find_experiment, increment_records

SELECTED_TAG = "selected"
_MAX_RATIONALE = 20_000


class Decision(BaseModel):
    """One line of decisions.jsonl."""

    schema_version: int = SCHEMA_VERSION
    ts: datetime
    increment: str
    selected: str = Field(description="readable id of the chosen experiment, exp-NNN-slug")
    selected_dir: str | None = Field(None, description="its folder name, unique across clones")
    rationale: str
    alternatives: list[str] = Field(default_factory=list)
    metrics: dict[str, Any] = Field(default_factory=dict)
    author: str | None = None


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
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return [], []
    shown = path.relative_to(root) if root and path.is_relative_to(root) else path
    records, bad = parse_jsonl(shown, text)
    problems = [f"{b.path}:{b.line}: {b.problem}" for b in bad]
    decisions = []
    for record in records:
        try:
            decisions.append(Decision.model_validate(record))
        except ValidationError as exc:
            problems.append(f"{shown}: a decision does not match the schema ({exc.errors()[0]['msg']})")
    # by time, not by line: after two clones' histories merge, lines need not be in order
    decisions.sort(key=lambda d: d.ts if d.ts.tzinfo else d.ts.replace(tzinfo=timezone.utc))
    return decisions, problems


def read_decisions(root: Path, increment: str | None) -> list[Decision]:
    """The increment's decisions, oldest first (damaged lines skipped; compare reports them)."""
    return read_decisions_checked(resolve_increment(root, increment), root)[0]


def latest_decision(root: Path, inc: Increment) -> Decision | None:
    decisions = read_decisions_checked(inc, root)[0]
    return decisions[-1] if decisions else None


def log_decision(
    root: Path,
    increment: str | None,
    selected: str,
    rationale: str,
    alternatives: list[str] | None = None,
    metrics: dict[str, Any] | None = None,
    author: str | None = None,
) -> Decision:
    """Record that `selected` was chosen for the increment, and why; tag it `selected`."""
    if not isinstance(rationale, str) or not rationale.strip():
        raise InvalidInput("rationale", rationale, "non-empty text saying why this experiment was chosen")
    if len(rationale) > _MAX_RATIONALE:
        raise InvalidInput("rationale", rationale, f"at most {_MAX_RATIONALE} characters")
    inc = resolve_increment(root, increment)
    chosen = find_experiment(root, selected, inc.id)
    alts: list[str] = []
    for ref in alternatives or []:
        alt = find_experiment(root, ref, inc.id)
        if alt.dir == chosen.dir:
            raise InvalidInput("alternative", ref, f"an experiment other than the selected {chosen.id}")
        if alt.id not in alts:
            alts.append(alt.id)
    if metrics is None:
        metrics = {k: v for k, v in chosen.metrics.items() if isinstance(v, (int, float))}
    if not isinstance(metrics, dict):
        raise InvalidInput("metrics", metrics, "a dict of metric name -> value")
    try:
        safe_metrics = to_jsonable(metrics)
    except TypeError as exc:
        raise InvalidInput("metrics", metrics, f"JSON-safe values ({exc})") from None
    decision = Decision(
        ts=datetime.now(timezone.utc), increment=inc.id, selected=chosen.id, selected_dir=chosen.dir,
        rationale=rationale.strip(), alternatives=alts, metrics=safe_metrics,
        author=author if author is not None else _default_author(root),
    )
    set_tags(chosen, add=[SELECTED_TAG])  # first: a damaged selected experiment stops here, nothing written
    ensure_union_merge(root)
    path = decisions_path(inc)
    line = dumps_jsonl_record(decision.model_dump(mode="json"))
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        size = os.fstat(fd).st_size
        if size:  # a previous writer killed mid-line must not glue its fragment to this line
            last = os.pread(fd, 1, size - 1)
            if last != b"\n":
                line = "\n" + line
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)
    for record in increment_records(root, inc):
        native = record.meta is not None and record.meta.source == "specweave"
        if record.dir != chosen.dir and SELECTED_TAG in record.tags and native:
            try:
                set_tags(record, remove=[SELECTED_TAG])
            except DamagedFile:
                pass  # its metadata is damaged; list shows that, and the decision file is the truth
    return decision


__all__ = ["Decision", "SELECTED_TAG", "latest_decision", "log_decision", "read_decisions"]
