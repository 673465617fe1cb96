"""MLflow runs through MLflow's own client: a tracking server (http/https) or a SQL store (sqlite, ...).

`open_mlflow` also routes a folder (or `file:` URI) to the reader of the legacy
`mlruns/` file store (`mlflow_files.py`), which needs no MLflow at all.

Mapping: the MLflow experiment is the group (an increment named after it), the
run name the experiment name, params typed back as the MLflow reader of the
store does (`decode_param`), the run's user tags as tags (`key=value`) and all
its tags as `source_tags`, `mlflow.note.content` as the description, the
`mlflow.parentRunId` tag as the parent, `mlflow.source.git.commit` and
`mlflow.source.name` as the git commit and the command. Each metric's history is
read page by page where the store pages (a SQL store), so one long key is never
held whole; timestamps are MLflow's milliseconds.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from ..errors import InvalidInput, NotFound, SpecweaveError
from ..extras import require
from ..storage.mlflow_store import local_folder, normalize_uri, search_all_runs
from ..schemas.sources import DamagedRun, Point, Reader, SourceRun
from .artifact_files import MAX_ARTIFACTS, local_artifacts
from .mlflow_runs import source_run

_PAGE = 100_000
_SQL_SCHEMES = ("postgresql", "mysql", "mssql", "sqlite")


def _sqlite_path(uri: str) -> Path:
    path = unquote(urlparse(uri).path)
    return Path(path[1:] if path.startswith("//") else path)


def check_sqlite_store(path: Path) -> None:
    """Refuse, in one line, a path that is not an MLflow sqlite store, before MLflow sees it: MLflow would
    create a database (and its tables) where there was none, and the source is only ever read."""
    if not path.exists():
        raise InvalidInput("MLflow sqlite store", str(path), "an existing MLflow database file (mlflow.db)")
    if not path.is_file():
        raise InvalidInput("MLflow sqlite store", str(path), "a database file, not a folder")
    with open(path, "rb") as handle:
        head = handle.read(16)
    if head != b"SQLite format 3\x00":
        raise InvalidInput("MLflow sqlite store", str(path), "an SQLite database written by MLflow")
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.Error as exc:
        raise InvalidInput("MLflow sqlite store", str(path), f"a readable SQLite database ({exc})") from None
    if not {"experiments", "runs", "metrics", "params"} <= tables:
        raise InvalidInput("MLflow sqlite store", str(path), "an MLflow database (it has no MLflow tables)")


def open_mlflow(source: str, experiment: str | None) -> Reader:
    """The reader for an MLflow source: a server or SQL URI, a sqlite file, or a `mlruns/` folder."""
    text = source.strip()
    scheme = urlparse(text).scheme.lower()
    if scheme in ("", "file"):
        path = Path(unquote(urlparse(text).path) if scheme == "file" else text).expanduser()
        if not path.exists():
            raise InvalidInput("MLflow source", source, "an existing mlruns/ folder, an mlflow.db file, or a "
                               "tracking URI (http://host:5000, sqlite:///mlflow.db)")
        if path.is_dir():
            from .mlflow_files import MlrunsReader

            return MlrunsReader(path, experiment)
        check_sqlite_store(path)
        return MlflowClientReader(f"sqlite:///{path.resolve()}", experiment)
    if scheme in ("http", "https"):
        import logging

        from ..storage.mlflow_server import server_reachable

        probe_log = logging.getLogger("specweave.external")
        level = probe_log.level
        probe_log.setLevel(logging.ERROR)  # its "showing local experiments only" is a listing's words, not ours
        try:
            up = server_reachable(text)
        finally:
            probe_log.setLevel(level)
        if not up:
            raise SpecweaveError(f"the MLflow server {normalize_uri(text)} does not answer; start it or check "
                                 f"the address")
        return MlflowClientReader(text, experiment)
    if scheme == "sqlite":
        check_sqlite_store(_sqlite_path(text))
        return MlflowClientReader(text, experiment)
    if scheme.split("+", 1)[0] in _SQL_SCHEMES:
        return MlflowClientReader(text, experiment)
    raise InvalidInput("MLflow source", source, "an mlruns/ folder, an mlflow.db file, or a tracking URI "
                       "(http://host:5000, sqlite:///mlflow.db, postgresql://...)")


class MlflowClientReader(Reader):
    """Runs of a tracking server or SQL store, through `mlflow.MlflowClient`."""

    kind = "mlflow"

    def __init__(self, uri: str, experiment: str | None = None):
        mlflow = require("mlflow", "mlflow")
        self.uri = uri
        self.location = normalize_uri(uri)
        self.client = mlflow.MlflowClient(tracking_uri=uri)
        self.experiment = experiment
        self._artifact_uris: dict[str, str] = {}
        self._keys: dict[str, list[str]] = {}

    def _experiments(self) -> list[Any]:
        found = sorted((e for e in self.client.search_experiments() if e.lifecycle_stage != "deleted"),
                       key=lambda e: (e.creation_time or 0, e.experiment_id))  # oldest first: increments in order
        if self.experiment is None:
            return found
        chosen = [e for e in found if self.experiment in (e.name, e.experiment_id)]
        if not chosen:
            raise NotFound("MLflow experiment", self.experiment, [e.name for e in found])
        return chosen

    def runs(self) -> Iterator[SourceRun | DamagedRun]:
        for exp in self._experiments():
            for run in search_all_runs(self.client, exp.experiment_id):
                info, data = run.info, run.data
                try:
                    state = json.dumps([info.status, info.end_time, sorted(data.metrics.items()),
                                        sorted(data.params.items()), sorted(data.tags.items())], default=str)
                    self._artifact_uris[info.run_id] = info.artifact_uri or ""
                    self._keys[info.run_id] = sorted(data.metrics)
                    yield source_run(info.run_id, info.run_name, exp.name, info.status, info.start_time,
                                     info.end_time, info.user_id, dict(data.params), dict(data.tags),
                                     hashlib.sha256(state.encode()).hexdigest()[:16])
                except (ValueError, TypeError, SpecweaveError) as exc:
                    yield DamagedRun(run_id=info.run_id, name=info.run_name or "", problem=str(exc))

    def _history(self, run_id: str, key: str) -> Iterator[Any]:
        """One key's history, page by page where the store pages it (the SQL store), else whole."""
        store = getattr(getattr(self.client, "_tracking_client", None), "store", None)
        if store is None or type(store).__name__ != "SqlAlchemyStore":
            yield from self.client.get_metric_history(run_id, key)
            return
        token = None
        while True:
            page = store.get_metric_history(run_id, key, max_results=_PAGE, page_token=token)
            yield from page
            token = page.token
            if not token:
                return

    def points(self, run: SourceRun) -> Iterator[Point]:
        keys = self._keys.get(run.run_id)
        if keys is None:
            keys = sorted(self.client.get_run(run.run_id).data.metrics)
        for key in keys:
            for metric in self._history(run.run_id, key):
                yield key, int(metric.step), float(metric.value), metric.timestamp / 1000

    def artifacts(self, run: SourceRun, scratch: Path) -> Iterator[tuple[str, Path]]:
        """Every file of the run: read in place from a local artifact folder, else downloaded one by one."""
        uri = self._artifact_uris.get(run.run_id)
        if uri and urlparse(uri).scheme in ("file", ""):  # a local folder: read in place (none made: no files)
            local = local_folder(uri)
            if local is not None:
                yield from local_artifacts(local)
            return
        pending, count = [""], 0
        while pending:
            for info in self.client.list_artifacts(run.run_id, pending.pop() or None):
                if info.is_dir:
                    pending.append(info.path)
                    continue
                count += 1
                if count > MAX_ARTIFACTS:
                    return
                scratch.mkdir(exist_ok=True)  # made by the importer (never through a link); again if emptied
                path = self.client.download_artifacts(run.run_id, info.path, dst_path=str(scratch))
                yield info.path, Path(path)
                Path(path).unlink(missing_ok=True)


__all__ = ["MlflowClientReader", "check_sqlite_store", "open_mlflow"]
