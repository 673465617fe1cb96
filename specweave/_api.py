"""Read functions of the Python API: resolve the root, call the core."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Literal

from skill.increments import list_increments as _list_increments
from skill.models import ExperimentRecord, Increment
from skill.paths import find_root
from skill.store import find_experiment, list_experiments as _list_experiments

if TYPE_CHECKING:
    from skill.compare import Comparison
    from skill.decisions import Decision
    from skill.export import ExportResult
    from skill.living_docs import SyncResult

PathArg = str | os.PathLike[str] | None


def list_increments(*, root: PathArg = None) -> list[Increment]:
    """Every increment of the project, archived ones included."""
    return _list_increments(find_root(root))


def list_experiments(
    increment: str | None = None,
    *,
    status: str | None = None,
    tag: str | None = None,
    where: str | None = None,
    sort: str | None = None,
    root: PathArg = None,
) -> list[ExperimentRecord]:
    """The experiments of an increment (default: active, then newest).

    `where` filters with the safe grammar (`"metrics.auc > 0.8 and params.max_depth <= 6"`),
    `sort` orders (`"-metrics.auc"` or `"metrics.auc desc"`).
    """
    return _list_experiments(find_root(root), increment, status=status, tag=tag, where=where, sort=sort)


def get_experiment(ref: str, increment: str | None = None, *, root: PathArg = None) -> ExperimentRecord:
    """One experiment by `exp-003`, slug, readable id or folder name."""
    return find_experiment(find_root(root), ref, increment)


def compare_experiments(
    increment: str | None = None,
    experiments: list[str] | None = None,
    metrics: list[str] | None = None,
    primary_metric: str | None = None,
    goal: Literal["max", "min"] | None = None,
    *,
    write_report: bool = True,
    root: PathArg = None,
) -> Comparison:
    """Compare an increment's experiments; writes `experiments/comparison.md`.

    `comparison.best` names the best model (a logged decision overrides the
    computed one), `comparison.reasons` says why, `comparison.dataframe` is the
    table as pandas, `comparison.markdown` the report.
    """
    from skill.compare import compare_experiments as _compare

    return _compare(find_root(root), increment, experiments, metrics, primary_metric, goal, write_report)


def log_decision(
    increment: str | None,
    selected: str,
    rationale: str,
    alternatives: list[str] | None = None,
    metrics: dict[str, Any] | None = None,
    author: str | None = None,
    *,
    root: PathArg = None,
) -> Decision:
    """Record which experiment an increment chose and why; tags it `selected`."""
    from skill.decisions import log_decision as _log

    return _log(find_root(root), increment, selected, rationale, alternatives, metrics, author)


def read_decisions(increment: str | None = None, *, root: PathArg = None) -> list[Decision]:
    """An increment's decisions, oldest first (the last one is in force)."""
    from skill.decisions import read_decisions as _read

    return _read(find_root(root), increment)


def sync_living_docs(increments: list[str] | None = None, dry_run: bool = False, *, root: PathArg = None) -> SyncResult:
    """Update `.specweave/docs/internal/architecture/ml-experiments.md` (one section per increment)."""
    from skill.living_docs import sync_living_docs as _sync

    return _sync(find_root(root), increments, dry_run)


def export_experiments(
    increment: str | None = None,
    format: str = "csv",  # noqa: A002 - the seed's word
    path: str | None = None,
    *,
    where: str | None = None,
    sort: str | None = None,
    root: PathArg = None,
) -> ExportResult:
    """Export an increment's experiments (csv, json, markdown); `path` is a name under .specweave/exports/."""
    from skill.export import export_experiments as _export

    return _export(find_root(root), increment, format, path, where=where, sort=sort)  # type: ignore[arg-type]


def experiments_dataframe(increments: list[str] | None = None, *, root: PathArg = None) -> Any:
    """Every experiment of the project (or of the increments named) as one pandas DataFrame."""
    from skill.export import experiments_dataframe as _frame

    return _frame(find_root(root), increments)
