"""Runs kept by other trackers (MLflow in the increment, a team's MLflow server), read as records.

`list_experiments` and `find_experiment` call `external_records` so that
every face shows these runs beside the native ones, marked by `meta.source`.
Each source is imported only when its files or settings exist, so a project
without them pays one `stat` per increment.
"""

from __future__ import annotations

from pathlib import Path

from .models import ExperimentRecord, Increment


def external_records(root: Path, increment: Increment) -> list[ExperimentRecord]:
    """Records from every configured outside source for this increment (none by default)."""
    return []
