"""What any MLflow store holds of a run, as a SourceRun: shared by the client reader (mlflow_source.py) and the
reader of the legacy `mlruns/` files (mlflow_files.py)."""

from __future__ import annotations

from datetime import datetime, timezone

from ..storage.mlflow_store import MLFLOW_TO_STATUS, NOTE_TAG, decode_param, tags_to_list
from ..schemas.sources import SourceRun


def ms_time(ms: int | None) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, timezone.utc) if ms else None


def source_run(run_id: str, name: str | None, group: str, status: str, start_ms: int | None, end_ms: int | None,
               user: str | None, params: dict[str, str], tags: dict[str, str], fingerprint: str) -> SourceRun:
    """A SourceRun from what any MLflow store holds of a run (the client's entities or mlruns' files)."""
    status = MLFLOW_TO_STATUS.get(status, "running")
    return SourceRun(
        run_id=run_id, name=name or tags.get("mlflow.runName") or run_id[:8], group=group,
        params={k: decode_param(v) for k, v in params.items()}, tags=tags_to_list(tags), source_tags=dict(tags),
        description=tags.get(NOTE_TAG, ""), status=status,  # type: ignore[arg-type]
        notes=[tags["mlflow.runStatusMessage"]] if status in ("failed", "killed") and
        tags.get("mlflow.runStatusMessage") else [],
        started=ms_time(start_ms), ended=ms_time(end_ms), parent_run_id=tags.get("mlflow.parentRunId"),
        author=tags.get("mlflow.user") or user or None, git_commit=tags.get("mlflow.source.git.commit"),
        git_branch=tags.get("mlflow.source.git.branch"),
        command=[tags["mlflow.source.name"]] if tags.get("mlflow.source.name") else [],
        fingerprint=fingerprint, extra={"source_tags": dict(tags), "mlflow_experiment": group},
    )


__all__ = ["ms_time", "source_run"]
