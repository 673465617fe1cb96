"""`specweave.mlflow.start_run`: one MLflow run and one plain experiment folder, logged together.

    from specweave import mlflow as sw_mlflow
    with sw_mlflow.start_run("xgboost", increment="0042") as run:
        run.log_param("n_estimators", 100)        # or sw_mlflow.log_param(...)
        run.log_metric("auc", 0.87)
        mlflow.sklearn.log_model(model, "model")  # plain MLflow calls still go to the run

Every call through the wrapper goes to both at once. What plain `mlflow.*`
calls put in the run (autolog included) is copied into the folder when the
run ends. MLflow logs to the team server when one is configured, else to
the increment's own sqlite store (see `configure_mlflow`). The MLflow run is
tagged `specweave.uid`, so readers show the plain folder once, not twice.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from ..errors import InvalidInput
from ..storage.metrics_writer import coerce_metric_value
from ..storage.encoding import flatten_params
from ..tracking.experiment import Experiment
from ..tracking.track import track_experiment
from ..storage.mlflow_store import TAG_ID, TAG_UID, decode_param, encode_param, tags_to_list
from .mlflow_local import configure_mlflow
from ..extras import require

_local = threading.local()


def _stack() -> list[MirroredRun]:
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


class MirroredRun:
    """An MLflow run with its plain-folder twin; use it as a context manager."""

    def __init__(self, exp: Experiment, mlflow_run: Any, tracking_uri: str):
        self.experiment = exp
        self.mlflow_run = mlflow_run
        self.tracking_uri = tracking_uri
        self._metric_keys: set[str] = set()
        self._next_step: dict[str, int] = {}
        self._closed = False

    # identity
    @property
    def run_id(self) -> str:
        return self.mlflow_run.info.run_id

    @property
    def info(self) -> Any:
        return self.mlflow_run.info

    @property
    def id(self) -> str:
        """The plain experiment's readable id (exp-NNN-slug)."""
        return self.experiment.id

    @property
    def path(self) -> Path:
        return self.experiment.path

    def __repr__(self) -> str:
        return f"<MirroredRun mlflow {self.run_id[:8]} <-> {self.experiment.id}>"

    # logging: each call goes to both
    def _client(self) -> Any:
        return require("mlflow", "mlflow").MlflowClient(tracking_uri=self.tracking_uri)

    def log_param(self, key: str, value: Any) -> None:
        self.log_params({key: value})

    def log_params(self, params: dict[str, Any]) -> None:
        self.experiment.log_params(params)  # validates first: a bad key fails before MLflow sees it
        flat = flatten_params(params)  # nested dicts as dotted keys on both sides
        require("mlflow", "mlflow").log_params({k: encode_param(v) for k, v in flat.items()}, run_id=self.run_id)

    def log_metric(self, key: str, value: float, step: int | None = None) -> None:
        self.log_metrics({key: value}, step)

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        if not isinstance(metrics, dict):
            raise InvalidInput("metrics", type(metrics).__name__, "a dict of name -> number")
        # Both sides get the same steps: given, else each key's previous step + 1 (specweave's rule;
        # MLflow's own default would put every point at step 0).
        by_step: dict[int, dict[str, float]] = {}
        for key, value in metrics.items():
            at = step if step is not None else self._next_step.get(key, 0)
            self.experiment.log_metric(key, value, at)
            self._next_step[key] = int(at) + 1
            by_step.setdefault(int(at), {})[key] = coerce_metric_value(key, value)
        self._metric_keys.update(metrics)
        mlflow = require("mlflow", "mlflow")
        for at, values in by_step.items():
            mlflow.log_metrics(values, step=at, run_id=self.run_id)

    def set_tag(self, key: str, value: Any = "true") -> None:
        self.set_tags({key: value})

    def set_tags(self, tags: dict[str, Any]) -> None:
        from mlflow.entities import RunTag

        texts = {str(k): str(v) for k, v in tags.items()}
        self._client().log_batch(self.run_id, tags=[RunTag(k, v) for k, v in texts.items()])
        for tag in tags_to_list(texts):
            self.experiment.add_tag(tag)

    def log_note(self, text: str) -> None:
        self.experiment.log_note(text)

    def log_artifact(self, local_path: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        """Upload a file to the MLflow run and copy it into the experiment folder."""
        path = Path(local_path)
        if not path.is_file():
            raise InvalidInput("artifact file", str(local_path), "the path of an existing file")
        self._client().log_artifact(self.run_id, str(path), artifact_path)
        name = f"{artifact_path.strip('/')}/{path.name}" if artifact_path else path.name
        self.experiment.save_artifact(name, path)

    # lifecycle
    def __enter__(self) -> MirroredRun:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> bool:
        status = "FINISHED" if exc is None else ("KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED")
        try:
            self._copy_plain_logging()
        finally:
            self._end_mlflow(status)
            self.experiment.__exit__(exc_type, exc, tb)
        return False

    def end(self, status: str = "FINISHED") -> None:
        """End both runs without `with` (status: FINISHED, FAILED or KILLED)."""
        native = {"FINISHED": "completed", "FAILED": "failed", "KILLED": "killed"}.get(status)
        if native is None:
            raise InvalidInput("status", status, "FINISHED, FAILED or KILLED")
        try:
            self._copy_plain_logging()
        finally:
            self._end_mlflow(status)
            self.experiment.end(native)

    def _end_mlflow(self, status: str) -> None:
        if self._closed:
            return
        self._closed = True
        stack = _stack()
        if self in stack:
            stack.remove(self)
        mlflow = require("mlflow", "mlflow")
        active = mlflow.active_run()
        if active is not None and active.info.run_id == self.run_id:
            mlflow.end_run(status)
        else:
            self._client().set_terminated(self.run_id, status)

    def _copy_plain_logging(self) -> None:
        """Copy what plain mlflow calls logged to the run (and the wrapper did not) into the folder."""
        if self._closed:
            return
        client = self._client()
        data = client.get_run(self.run_id).data
        have = self.experiment.params
        missing = {k: decode_param(v) for k, v in data.params.items() if k not in have}
        if missing:
            self.experiment.log_params(missing)
        for key in sorted(set(data.metrics) - self._metric_keys):
            for point in client.get_metric_history(self.run_id, key):
                self.experiment.log_metric(key, point.value, point.step)
        for tag in tags_to_list(dict(data.tags)):
            self.experiment.add_tag(tag)


def start_run(
    name: str,
    increment: str | None = None,
    *,
    root: str | os.PathLike[str] | None = None,
    tracking_uri: str | None = None,
    description: str | None = None,
    tags: list[str] | None = None,
    nested: bool = False,
    **mlflow_kwargs: Any,
) -> MirroredRun:
    """Start an MLflow run and a plain experiment together; use with `with`.

    MLflow logs to `tracking_uri`, else the team server (SPECWEAVE_TRACKING_URI
    or ml.yaml), else the increment's own sqlite store;
    the MLflow experiment is named after the increment id.
    """
    mlflow = require("mlflow", "mlflow")
    exp = track_experiment(name, increment, root=root, description=description, tags=tags)
    try:
        uri = tracking_uri or None
        if uri is None:
            from ..config import team_tracking_uri

            # Not MLFLOW_TRACKING_URI: MLflow sets it itself on every set_tracking_uri, so it may
            # still name another increment's store from an earlier configure_mlflow.
            uri = team_tracking_uri(exp.root)
        target = configure_mlflow(exp.increment, root=exp.root, tracking_uri=uri)
        run_tags = {TAG_UID: exp.metadata.uid, TAG_ID: exp.id, **{t: "true" for t in (tags or [])}}
        run = mlflow.start_run(run_name=name, tags=run_tags, description=description, nested=nested,
                               **mlflow_kwargs)
    except BaseException as exc:
        exp.end("failed", note=f"FAILED: could not start the MLflow run: {type(exc).__name__}: {exc}")
        raise
    exp.set_fields(mlflow_run_id=run.info.run_id, mlflow_experiment=target.experiment_name,
          mlflow_tracking_uri=None if target.local else target.tracking_uri)
    mirrored = MirroredRun(exp, run, target.tracking_uri)
    _stack().append(mirrored)
    return mirrored


def active_run() -> MirroredRun | None:
    """The innermost run started by `start_run` in this thread, if any."""
    stack = _stack()
    return stack[-1] if stack else None


def _active(what: str) -> MirroredRun:
    run = active_run()
    if run is None:
        raise InvalidInput(what, "outside a run", "a call inside `with sw_mlflow.start_run(name):`")
    return run


def log_param(key: str, value: Any) -> None:
    _active("log_param").log_param(key, value)


def log_params(params: dict[str, Any]) -> None:
    _active("log_params").log_params(params)


def log_metric(key: str, value: float, step: int | None = None) -> None:
    _active("log_metric").log_metric(key, value, step)


def log_metrics(metrics: dict[str, float], step: int | None = None) -> None:
    _active("log_metrics").log_metrics(metrics, step)


def set_tag(key: str, value: Any = "true") -> None:
    _active("set_tag").set_tag(key, value)


def set_tags(tags: dict[str, Any]) -> None:
    _active("set_tags").set_tags(tags)


def log_artifact(local_path: str | os.PathLike[str], artifact_path: str | None = None) -> None:
    _active("log_artifact").log_artifact(local_path, artifact_path)


def end_run(status: str = "FINISHED") -> None:
    _active("end_run").end(status)


__all__ = [
    "MirroredRun",
    "active_run",
    "end_run",
    "log_artifact",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "set_tag",
    "set_tags",
    "start_run",
]
