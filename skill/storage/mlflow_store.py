"""MLflow's store read as records, and MLflow's vocabulary as this package writes it.

The tags specweave writes on MLflow runs, the run statuses both ways, param
strings both ways, and the runs of a store (the increment's `mlflow.db`, or a
team's server) read back as ExperimentRecords. Storage holds it because the
listing (`external.py`) shows these runs beside the native ones; the import and
the push (`skill.exchange`) and the live mirror (`skill.integrations`) use the
same vocabulary from here. mlflow itself is imported only when a store is opened.

A run read back has `meta.source` "mlflow" (the increment's store) or
"mlflow-server", the readable id `mlflow-<first 8 of the run id>-<run name slug>`
(stable: run ids never change) and the folder name `mlflow-<run id>`.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse, urlunparse

from ..extras import require
from ..layout import STATUSES
from ..schemas.records import ArtifactInfo, ExperimentMeta, ExperimentRecord, GitInfo, Increment, Note
from . import local_stores
from .ids import slugify

# Tags this package writes on MLflow runs (the `specweave.` prefix keeps them apart from users' tags).
TAG_UID = "specweave.uid"
TAG_ID = "specweave.id"
TAG_STATUS = "specweave.status"
TAG_TAGS = "specweave.tags"
TAG_DIGEST = "specweave.digest"
TAG_POINTS = "specweave.points"
TAG_DATA_VERSION = "specweave.data_version"
TAG_PARENT = "specweave.parent"
TAG_STAGE = "specweave.stage"
NOTE_TAG = "mlflow.note.content"

MLFLOW_TO_STATUS = {"RUNNING": "running", "SCHEDULED": "running", "FINISHED": "completed",
                    "FAILED": "failed", "KILLED": "killed"}
STATUS_TO_MLFLOW = {"running": "RUNNING", "completed": "FINISHED", "failed": "FAILED",
                    "killed": "KILLED", "crashed": "FAILED"}
_MAX_ARTIFACTS_LISTED = 200
_NUMBER_RE = re.compile(r"^-?(\d+\.?\d*([eE][-+]?\d+)?|\.\d+([eE][-+]?\d+)?|nan|inf|NaN|Infinity|-Infinity)$")


def mlflow_client(uri: str) -> Any:
    """A client of the MLflow store at `uri` (mlflow is imported here, once a store is opened)."""
    mlflow = require("mlflow", "mlflow")
    return mlflow.MlflowClient(tracking_uri=uri)


def ensure_experiment(client: Any, name: str, artifact_location: str | None = None) -> Any:
    """The active MLflow experiment called `name`, created (or restored from deletion) if need be."""
    exp = client.get_experiment_by_name(name)
    if exp is None:
        exp_id = client.create_experiment(name, artifact_location=artifact_location)
        return client.get_experiment(exp_id)
    if exp.lifecycle_stage == "deleted":
        client.restore_experiment(exp.experiment_id)
        exp = client.get_experiment(exp.experiment_id)
    return exp


# -- reading runs back ---------------------------------------------------------------------------
def decode_param(text: str) -> Any:
    """MLflow keeps params as strings; numbers and booleans come back typed so they sort and compare."""
    if not isinstance(text, str):
        return text
    if text in ("True", "true"):
        return True
    if text in ("False", "false"):
        return False
    if _NUMBER_RE.match(text):
        try:
            number = float(text)
        except ValueError:
            return text
        if re.fullmatch(r"-?(0|[1-9]\d*)", text):
            return int(text)
        if re.fullmatch(r"-?\d+", text):
            return text  # leading zeros ("007"): an identifier, not a number
        return number
    return text


def encode_param(value: Any) -> str:
    """A specweave param value as MLflow's string (the inverse of `decode_param` for scalars)."""
    import json

    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _ms(ts: int | None) -> datetime | None:
    return datetime.fromtimestamp(ts / 1000, timezone.utc) if ts else None


def tags_to_list(tags: dict[str, str]) -> list[str]:
    """A run's own tags as specweave tags: `key` for flag-like values, else `key=value`."""
    import json

    if TAG_TAGS in tags:
        try:
            listed = json.loads(tags[TAG_TAGS])
            if isinstance(listed, list):
                return [str(t) for t in listed]
        except ValueError:
            pass
    out = []
    for key, value in sorted(tags.items()):
        if key.startswith(("mlflow.", "specweave.")):
            continue
        out.append(key if value in ("", "true", "True", "1") else f"{key}={value}")
    return out


def _local_artifacts(artifact_uri: str | None, models: list[Any]) -> list[ArtifactInfo]:
    """Files under a local artifact folder (sizes only: hashing large models on every list is too slow)."""
    found: list[ArtifactInfo] = []
    folder = local_folder(artifact_uri)
    if folder is not None:
        for dirpath, _dirs, files in os.walk(folder):
            for name in sorted(files):
                full = Path(dirpath) / name
                try:
                    size = full.stat().st_size
                except OSError:
                    continue
                found.append(ArtifactInfo(name=full.relative_to(folder).as_posix(), size=size, sha256="",
                                          format="mlflow"))
                if len(found) >= _MAX_ARTIFACTS_LISTED:
                    return found
    for model in models:
        found.append(ArtifactInfo(name=f"models/{model.name}", kind="model", size=_tree_size(model.artifact_location),
                                  sha256="", format="mlflow", model_class=model.model_type or None, library="mlflow"))
    return found


def local_folder(uri: str | None) -> Path | None:
    """The folder a local (`file:` or bare path) artifact URI names, when it is a real folder; None for a
    remote URI, a missing folder or a link (a recorded path is data: never followed)."""
    if not uri:
        return None
    parsed = urlparse(uri)
    if parsed.scheme not in ("file", ""):
        return None
    folder = Path(unquote(parsed.path))
    return folder if folder.is_dir() and not folder.is_symlink() else None


def normalize_uri(uri: str) -> str:
    """A tracking URI as an origin names it: scheme and host lower case, no password, no trailing slash; a
    sqlite store by its absolute path. Two spellings of one server give one origin."""
    parsed = urlparse(uri.strip())
    scheme = parsed.scheme.lower()
    if scheme == "sqlite":
        path = unquote(parsed.path)
        if path.startswith("//"):
            path = path[1:]
        return "sqlite:///" + str(Path(path).resolve())  # sqlite:////abs/path, SQLAlchemy's absolute form
    netloc = (parsed.hostname or "").lower()
    if parsed.username:
        netloc = f"{parsed.username}@{netloc}"
    if parsed.port:
        netloc += f":{parsed.port}"
    return urlunparse((scheme, netloc, parsed.path.rstrip("/"), "", "", ""))


def _tree_size(uri: str | None) -> int:
    """Bytes under a local model folder (0 when it is remote: sizes would cost a request each)."""
    folder = local_folder(uri)
    if folder is None:
        return 0
    total = 0
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += (Path(dirpath) / name).stat().st_size
            except OSError:
                pass
    return total


def run_to_record(
    run: Any, increment: Increment, *, source: str, tracking_uri: str | None, models: list[Any] = (),  # type: ignore[assignment]
    list_files: bool = True,
) -> ExperimentRecord:
    """One MLflow run as an ExperimentRecord (read-only: it has no folder of its own)."""
    info, data = run.info, run.data
    tags = dict(data.tags)
    run_id = info.run_id
    name = info.run_name or tags.get("mlflow.runName") or run_id[:8]
    status = tags.get(TAG_STATUS) or MLFLOW_TO_STATUS.get(info.status, "running")
    if status not in STATUSES:
        status = "running"
    started = _ms(info.start_time) or datetime.now(timezone.utc)
    ended = _ms(info.end_time)
    description = tags.get(NOTE_TAG, "")
    notes: list[Note] = []
    if info.status in ("FAILED", "KILLED") and tags.get("mlflow.runStatusMessage"):
        notes.append(Note(ts=ended or started, text=tags["mlflow.runStatusMessage"]))
    readable = f"mlflow-{run_id[:8]}-{slugify(name)}"
    meta = ExperimentMeta(
        id=readable, uid=run_id[:8], name=name, increment=increment.id,
        status="running" if status == "crashed" else status,  # type: ignore[arg-type]
        description=description, tags=tags_to_list(tags), author=tags.get("mlflow.user") or info.user_id or None,
        data_version=tags.get(TAG_DATA_VERSION), source=source, started=started, ended=ended,
        duration_s=round((ended - started).total_seconds(), 3) if ended else None,
        parent=tags.get(TAG_PARENT), stage=tags.get(TAG_STAGE),
        git=GitInfo(commit=tags.get("mlflow.source.git.commit"), branch=tags.get("mlflow.source.git.branch")),
        notes=notes,
        artifacts=_local_artifacts(info.artifact_uri, list(models)) if list_files else [],
        mlflow_run_id=run_id, mlflow_experiment_id=info.experiment_id, tracking_uri=tracking_uri,
        specweave_uid=tags.get(TAG_UID),
    )
    metrics = {key: float(value) for key, value in data.metrics.items()}
    return ExperimentRecord(
        id=readable, dir=f"mlflow-{run_id}", increment=increment.id, name=name, status=status,  # type: ignore[arg-type]
        path=local_stores.experiments_dir(increment) / f"mlflow-{run_id}",
        params={key: decode_param(value) for key, value in data.params.items()},
        metrics=metrics, meta=meta,
    )


def search_all_runs(client: Any, experiment_ids: str | list[str], filter_string: str = "") -> list[Any]:
    """Every active run of the experiment(s), page by page (MLflow caps a page at 1000)."""
    ids = [experiment_ids] if isinstance(experiment_ids, str) else list(experiment_ids)
    runs: list[Any] = []
    token = None
    while True:
        page = client.search_runs(ids, filter_string=filter_string, max_results=1000,
                                  page_token=token, order_by=["attributes.start_time ASC"])
        runs.extend(page)
        token = page.token
        if not token:
            return runs


def _models_by_run(client: Any, experiment_ids: list[str]) -> dict[str, list[Any]]:
    by_run: dict[str, list[Any]] = {}
    try:
        token = None
        while True:
            page = client.search_logged_models(experiment_ids, max_results=100, page_token=token)
            for model in page:
                if model.source_run_id:
                    by_run.setdefault(model.source_run_id, []).append(model)
            token = page.token
            if not token:
                break
    except Exception:  # a server without logged-model support: the runs still list, without models
        return by_run
    return by_run


def read_runs(
    tracking_uri: str, increment: Increment, *, source: str, skip_uids: set[str], list_files: bool = True,
    every_experiment: bool = False,
) -> list[ExperimentRecord]:
    """The runs of the MLflow experiment named after the increment, minus copies of native experiments.

    With `every_experiment` (the increment's own store, which holds nothing
    else) runs of any MLflow experiment in it count, so a script that called
    `mlflow.set_experiment("other")` after `configure_mlflow` is still seen.
    """
    client = mlflow_client(tracking_uri)
    if every_experiment:
        ids = [e.experiment_id for e in client.search_experiments()]
    else:
        exp = client.get_experiment_by_name(increment.id)
        ids = [] if exp is None or exp.lifecycle_stage == "deleted" else [exp.experiment_id]
    if not ids:
        return []
    models = _models_by_run(client, ids)
    records = []
    for run in search_all_runs(client, ids):
        if run.data.tags.get(TAG_UID) in skip_uids:
            continue  # the plain experiment folder is the original; this run is its copy
        records.append(run_to_record(run, increment, source=source, tracking_uri=None if source == "mlflow"
                                     else tracking_uri, models=models.get(run.info.run_id, []),
                                     list_files=list_files))
    return records


_local_cache: dict[str, tuple[tuple[int, int, frozenset[str]], list[ExperimentRecord]]] = {}


def read_local_runs(increment: Increment, skip_uids: set[str]) -> list[ExperimentRecord]:
    """Runs in the increment's `mlflow.db`; cached until the database file changes."""
    db = local_stores.mlflow_db(increment)
    st = db.stat()
    key = (st.st_mtime_ns, st.st_size, frozenset(skip_uids))
    cached = _local_cache.get(str(db))
    if cached and cached[0] == key:
        return [r.model_copy(deep=True) for r in cached[1]]
    records = read_runs(local_stores.sqlite_uri(db), increment, source="mlflow", skip_uids=skip_uids,
                        every_experiment=True)
    _local_cache[str(db)] = (key, records)
    return [r.model_copy(deep=True) for r in records]


__all__ = [
    "MLFLOW_TO_STATUS",
    "NOTE_TAG",
    "STATUS_TO_MLFLOW",
    "TAG_DATA_VERSION",
    "TAG_DIGEST",
    "TAG_ID",
    "TAG_PARENT",
    "TAG_POINTS",
    "TAG_STAGE",
    "TAG_STATUS",
    "TAG_TAGS",
    "TAG_UID",
    "decode_param",
    "encode_param",
    "ensure_experiment",
    "local_folder",
    "mlflow_client",
    "normalize_uri",
    "read_local_runs",
    "read_runs",
    "run_to_record",
    "search_all_runs",
    "tags_to_list",
]
