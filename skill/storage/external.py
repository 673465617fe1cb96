"""Runs kept by other trackers (MLflow in the increment, a team's MLflow server), read as records.

`list_experiments` calls `external_records` so that every face shows these
runs beside the native ones, marked by `meta.source`:

| source          | where                                         | id                          |
|-----------------|-----------------------------------------------|-----------------------------|
| `mlflow`        | `experiments/mlflow.db` (configure_mlflow)    | `mlflow-<run8>-<name slug>` |
| `mlflow-server` | SPECWEAVE_TRACKING_URI / ml.yaml tracking_uri | `mlflow-<run8>-<name slug>` |

A run that is a copy of a native experiment (written by `specweave.mlflow`
or `sw-ml push`, and tagged with its uid) is left out: the plain folder is
the original. W&B runs need no reader here: W&B keeps its history in a
binary file that only its own service reads, so `specweave.wandb` (and
`configure_wandb`, which wraps `wandb.init`) mirror each run into a plain
folder as it logs. Each source is imported only when its files or settings
exist, so a project without them pays a `stat` or two per increment and
never imports mlflow.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ..config import team_tracking_uri
from ..errors import MissingExtra
from ..layout import EXPERIMENTS_DIR, MLFLOW_DB
from ..schemas.records import ExperimentRecord, Increment, MetricPoint
from .experiment_folders import scan_experiments
from .ids import parse_dir

log = logging.getLogger("specweave.external")
_warned: set[str] = set()



def native_uids(increment: Increment) -> set[str]:
    """The uids of the increment's own experiment folders (a directory listing, nothing parsed)."""
    folders, linked = scan_experiments(increment.path / EXPERIMENTS_DIR)
    return {parsed[2] for parsed in map(parse_dir, folders + linked) if parsed}


def _warn_once(key: str, message: str) -> None:
    if key not in _warned:
        _warned.add(key)
        log.warning("specweave: %s", message)


def external_records(root: Path, increment: Increment) -> list[ExperimentRecord]:
    """Records from every configured outside source for this increment ([] when there is none)."""
    exp_dir = increment.path / EXPERIMENTS_DIR
    has_db = (exp_dir / MLFLOW_DB).is_file()
    server = team_tracking_uri(root)
    if not (has_db or server):
        return []
    skip = native_uids(increment)
    records: list[ExperimentRecord] = []
    if has_db:
        try:
            from .mlflow_store import read_local_runs

            records.extend(read_local_runs(increment, skip))
        except MissingExtra as exc:
            _warn_once("mlflow-missing", f"{increment.id} has an MLflow store, not shown: {exc}")
        except Exception as exc:  # a damaged or newer-schema database: say so, keep listing the rest
            _warn_once(f"mlflow:{exp_dir}", f"cannot read {exp_dir / MLFLOW_DB} ({type(exc).__name__}: "
                       f"{str(exc).splitlines()[0] if str(exc) else ''})")
    if server:
        try:
            from .mlflow_server import read_server_runs

            server_runs = read_server_runs(server, increment, skip)
        except MissingExtra as exc:
            _warn_once("mlflow-missing-server", f"the team MLflow server's runs are not shown: {exc}")
            server_runs = []
        local_ids = {r.meta.mlflow_run_id for r in records if r.meta is not None}  # type: ignore[attr-defined]
        records.extend(r for r in server_runs if r.meta and r.meta.mlflow_run_id not in local_ids)  # type: ignore[attr-defined]
    return records


def find_external(root: Path, increments: list[Increment], ref: str) -> list[ExperimentRecord]:
    """Outside runs matching `ref`: their id (`mlflow-1a2b3c4d-xgboost`), folder name
    (`mlflow-<run id>`), or a prefix of either as long as `mlflow-1a2b3c4d`.

    For `find_experiment` once no native folder matched: a project without
    outside sources pays the same few `stat` calls as a listing.
    """
    hits: list[ExperimentRecord] = []
    for inc in increments:
        for record in external_records(root, inc):
            if ref in (record.id, record.dir) or (len(ref) >= 15 and (record.id.startswith(ref)
                                                                      or record.dir.startswith(ref))):
                hits.append(record)
    return hits


def metric_history(record: ExperimentRecord, key: str | None = None) -> list[MetricPoint] | None:
    """Every point of an outside run's metrics (one key or all); None for a native experiment.

    Native experiments keep their points in `metrics.jsonl`; a run from MLflow
    keeps them in its store, which this asks. W&B keeps its history in a
    binary file; W&B runs are read through their mirrored folders.
    """
    meta = record.meta
    source = meta.source if meta else "specweave"
    if source in ("mlflow", "mlflow-server"):
        from .mlflow_server import run_metric_history

        uri = getattr(meta, "tracking_uri", None)
        if source == "mlflow":
            from .local_stores import sqlite_uri

            uri = sqlite_uri(record.path.parent / MLFLOW_DB)
        return run_metric_history(uri, getattr(meta, "mlflow_run_id"), key)
    return None


__all__ = ["external_records", "find_external", "metric_history", "native_uids"]
