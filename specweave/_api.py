"""Read functions of the Python API: resolve the root, call the core."""

from __future__ import annotations

import os

from skill.increments import list_increments as _list_increments
from skill.models import ExperimentRecord, Increment
from skill.paths import find_root
from skill.store import find_experiment, list_experiments as _list_experiments

PathArg = str | os.PathLike[str] | None


def list_increments(*, root: PathArg = None) -> list[Increment]:
    """Every increment of the project, archived ones included."""
    return _list_increments(find_root(root))


def list_experiments(
    increment: str | None = None, *, status: str | None = None, tag: str | None = None, root: PathArg = None
) -> list[ExperimentRecord]:
    """The experiments of an increment (default: active, then newest)."""
    return _list_experiments(find_root(root), increment, status=status, tag=tag)


def get_experiment(ref: str, increment: str | None = None, *, root: PathArg = None) -> ExperimentRecord:
    """One experiment by `exp-003`, slug, readable id or folder name."""
    return find_experiment(find_root(root), ref, increment)
