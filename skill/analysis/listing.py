"""Listing experiments: storage's records of one increment or of all, filtered and sorted by the query language."""

from __future__ import annotations

from pathlib import Path

from ..layout import STATUSES
from ..schemas.records import ExperimentRecord
from ..storage.increments import resolve_increment
from ..storage.run_records import all_records, increment_records
from ..storage.validate import validate_status
from .query import filter_records, parse_where, sort_records


def list_experiments(
    root: Path,
    increment: str | None = None,
    *,
    status: str | None = None,
    tag: str | None = None,
    where: str | None = None,
    sort: str | None = None,
) -> list[ExperimentRecord]:
    """Experiments of one increment (None: the active one, then the newest), filtered and sorted.

    `where` is the safe filter grammar of skill.analysis.query (`metrics.auc > 0.8`);
    `sort` is like `metrics.auc desc` or `-metrics.auc`.
    """
    flt = parse_where(where) if where else None  # validated before any file is read
    if status:
        validate_status(status, STATUSES)  # crashed included: it is a state to filter by
    inc = resolve_increment(root, increment)
    records = filter_records(increment_records(root, inc), flt, status=status, tag=tag)
    return sort_records(records, sort)


def list_all_experiments(
    root: Path,
    *,
    status: str | None = None,
    tag: str | None = None,
    where: str | None = None,
    sort: str | None = None,
) -> list[ExperimentRecord]:
    """Experiments of every increment, oldest increment first."""
    flt = parse_where(where) if where else None
    if status:
        validate_status(status, STATUSES)  # crashed included: it is a state to filter by
    return sort_records(filter_records(all_records(root), flt, status=status, tag=tag), sort)


__all__ = ["list_all_experiments", "list_experiments"]
