"""Decisions: which experiment an increment chose and why, kept in `experiments/decisions.jsonl` (read here;
appended by `skill.storage.decision_writer`).

Append-only: a later decision supersedes an earlier one, both stay in the
history, and a union merge of two clones' files keeps every line. The selected
run is derived from this file (`skill.storage.selection`: the latest decision
wins) and shown as the tag `selected`; nothing is written into the run itself.
A line holds what the decision needs: the run, the rationale, the primary
metric and its value (not a copy of every metric the run logged).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from pydantic import ValidationError

from ..errors import DamagedFile
from ..layout import DECISIONS_FILE, EXPERIMENTS_DIR
from ..schemas.records import Increment
from ..schemas.reports import Decision
from .bounded_parsing import parse_jsonl
from .increments import resolve_increment
from .safe_reads import read_bytes_nofollow

# A decision dated later than this after now is not believed: clocks differ by minutes, not days, and a line
# dated 2099 that arrived by a merge would otherwise select its run for good.
FUTURE_SLACK = timedelta(days=1)


def decisions_path(inc: Increment) -> Path:
    return inc.path / EXPERIMENTS_DIR / DECISIONS_FILE


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


__all__ = ["Decision", "decisions_path", "latest_decision", "read_decisions", "read_decisions_checked",
           "read_decisions_file"]
