"""The Experiment object a training script logs through.

Params and metrics are buffered and written by the flusher; metadata changes
(tags, notes, status, artifacts) are written at once, atomically, because
they are rare and a person expects to see them immediately.
"""

from __future__ import annotations

import os
import socket
import threading
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import flusher
from .artifacts import write_artifact, write_model
from .environment import capture_for
from .errors import InvalidInput
from .fileio import atomic_write, dumps_json, dumps_yaml, to_jsonable
from .ids import allocate, slugify
from .layout import (
    CACHE_DIR,
    EXPERIMENTS_DIR,
    FINAL_STATUSES,
    HEARTBEAT_INTERVAL_S,
    METADATA_FILE,
    PARAMS_FILE,
    SPECWEAVE_DIR,
    STATUSES,
)
from .metrics_log import MetricsBuffer
from .models import ArtifactInfo, ExperimentMeta, Increment, Note
from .system_metrics import SystemMetricsThread, resolve_interval

_MAX_PARAM_KEY = 250
# Fields that come from the process environment: identical for every run of a process.
_STATIC_FIELDS = {"python", "platform", "cpu_count", "gpus", "command", "packages"}
_static_cache: dict[tuple[object, ...], str] = {}
_HOST = socket.gethostname()


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict) and value:
        for key, inner in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), inner, out)
    else:
        out[prefix] = value


def validate_tag(tag: object) -> str:
    if not isinstance(tag, str) or not tag.strip() or len(tag) > 100 or "\n" in tag:
        raise InvalidInput("tag", tag, "a non-empty single-line string of at most 100 characters")
    return tag.strip()


def validate_status(status: object, allowed: tuple[str, ...] = STATUSES[:4]) -> str:
    if status not in allowed:
        raise InvalidInput("status", status, f"one of {', '.join(allowed)}")
    return status  # type: ignore[return-value]


class Experiment:
    """One tracked run: an `exp-NNN-slug` folder under the increment's `experiments/`.

    Use it as a context manager (`with track_experiment("name") as exp:`); an
    exception inside the block marks it failed, notes the traceback and
    re-raises. Notes, tags and status can still be changed after the block.
    """

    def __init__(
        self,
        *,
        root: Path,
        increment: Increment,
        name: str,
        description: str = "",
        tags: list[str] | tuple[str, ...] = (),
        author: str | None = None,
        data_version: str | None = None,
        git_commit: str | None = None,
        parent: str | None = None,
        stage: str | None = None,
        stage_order: int | None = None,
        source: str = "specweave",
        after: str | None = None,
        system_metrics: bool | float | None = None,
    ):
        if not isinstance(name, str) or not name.strip():
            raise InvalidInput("experiment name", name, "a non-empty string such as 'xgboost-v1'")
        self._sampler: SystemMetricsThread | None = None
        sample_every = resolve_interval(system_metrics)  # checked before a folder is made
        self.root = root
        self._lock = threading.RLock()
        claims = root / SPECWEAVE_DIR / CACHE_DIR / "claims" / increment.id
        _number, readable, folder = allocate(increment.path / EXPERIMENTS_DIR, claims, slugify(name))
        self._path = folder
        self._git_commit = git_commit
        self._capture = capture_for(root)
        now = _now()
        self._meta = ExperimentMeta(
            id=readable, uid=folder.name.rsplit(".", 1)[1], name=name.strip(), increment=increment.id,
            description=description or "", tags=[validate_tag(t) for t in tags], author=author,
            data_version=data_version, source=source, started=now, heartbeat=now, pid=os.getpid(), host=_HOST,
            parent=parent, stage=stage, stage_order=stage_order,
            after=after,
        )
        if git_commit:
            self._meta.git.commit = git_commit
        self._params: dict[str, Any] = {}
        self._params_dirty = True
        self._metrics = MetricsBuffer(folder)
        self._env_applied = False
        self._status_set = False
        self._closed = False
        self._last_meta_write = 0.0
        self._write_meta()
        flusher.register(self)
        if sample_every is not None:
            self._sampler = SystemMetricsThread(self._log_system, sample_every, readable).start()

    # -- identity ---------------------------------------------------------------------------
    @property
    def id(self) -> str:
        """The readable id people type: `exp-003-xgboost-v1`."""
        return self._meta.id

    @property
    def path(self) -> Path:
        """The experiment's folder (its name adds a short unique part to the id)."""
        return self._path

    @property
    def name(self) -> str:
        return self._meta.name

    @property
    def increment(self) -> str:
        return self._meta.increment

    @property
    def status(self) -> str:
        return self._meta.status

    @property
    def params(self) -> dict[str, Any]:
        return dict(self._params)

    @property
    def metadata(self) -> ExperimentMeta:
        return self._meta.model_copy(deep=True)

    def __repr__(self) -> str:
        return f"<Experiment {self.id} ({self.status}) at {self._path}>"

    # -- params -----------------------------------------------------------------------------
    def log_param(self, key: str, value: Any) -> None:
        """Record one hyperparameter. Nested dicts flatten to dotted keys."""
        self.log_params({key: value})

    def log_params(self, params: dict[str, Any]) -> None:
        """Record several hyperparameters at once."""
        if not isinstance(params, dict):
            raise InvalidInput("params", type(params).__name__, "a dict of name -> value")
        flat: dict[str, Any] = {}
        for key, value in params.items():
            if not isinstance(key, str) or not key.strip() or len(key) > _MAX_PARAM_KEY:
                raise InvalidInput("param name", key, f"a non-empty string of at most {_MAX_PARAM_KEY} characters")
            _flatten(key, value, flat)
        notes = []
        for key, value in flat.items():
            try:
                flat[key] = to_jsonable(value)
            except TypeError:
                flat[key] = repr(value)
                notes.append(f"param {key!r} is a {type(value).__name__} with no JSON form: stored as its repr")
        with self._lock:
            self._params.update(flat)
            self._params_dirty = True
            for note in notes:
                self._meta.notes.append(Note(ts=_now(), text=note))
            if notes:
                self._write_meta()
            if self._closed:
                self._write_params()

    # -- metrics (the hot path) -------------------------------------------------------------
    def log_metric(self, key: str, value: float, step: int | None = None) -> None:
        """Record one metric value; `step` defaults to the key's previous step + 1."""
        self._metrics.log(key, value, step)
        if self._closed:
            self._metrics.flush()

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        """Record several metrics at the same step."""
        if not isinstance(metrics, dict):
            raise InvalidInput("metrics", type(metrics).__name__, "a dict of name -> number")
        log = self._metrics.log
        for key, value in metrics.items():
            log(key, value, step)
        if self._closed:
            self._metrics.flush()

    def _log_system(self, values: dict[str, float], step: int) -> None:
        """The system-metrics sampler's entry: the ordinary metric logger, from its own thread."""
        self.log_metrics(values, step=step)

    # -- models and artifacts ---------------------------------------------------------------
    def save_model(self, model: Any, filename: str = "model.pkl") -> ArtifactInfo:
        """Save a model (pickle by default; .joblib, .pt, .json, .keras by extension)."""
        info = write_model(self._path, model, filename)
        self._record_artifact(info)
        return info

    def save_artifact(self, name: str, obj: Any) -> ArtifactInfo:
        """Save bytes, text, a file path (copied), a dict/list (JSON or YAML), a DataFrame,
        a matplotlib Figure, or anything else (pickled) under `name` in the folder."""
        info = write_artifact(self._path, name, obj)
        self._record_artifact(info)
        return info

    def _record_artifact(self, info: ArtifactInfo) -> None:
        with self._lock:
            self._meta.artifacts = [a for a in self._meta.artifacts if a.name != info.name] + [info]
            self._write_meta()

    # -- notes, tags, status ----------------------------------------------------------------
    def log_note(self, text: str) -> None:
        """Add a timestamped note (kept in metadata.yaml, shown by every reader)."""
        with self._lock:
            self._meta.notes.append(Note(ts=_now(), text=str(text)))
            self._write_meta()

    def add_tag(self, tag: str) -> None:
        tag = validate_tag(tag)
        with self._lock:
            if tag not in self._meta.tags:
                self._meta.tags.append(tag)
                self._write_meta()

    def remove_tag(self, tag: str) -> None:
        with self._lock:
            if tag in self._meta.tags:
                self._meta.tags.remove(tag)
                self._write_meta()

    def set_description(self, text: str) -> None:
        with self._lock:
            self._meta.description = str(text)
            self._write_meta()

    def set_status(self, status: str) -> None:
        """Set running, completed, failed or killed; kept when the block ends."""
        status = validate_status(status)
        with self._lock:
            if self._closed and status == "running":
                raise InvalidInput("status", status, "a final status for an ended experiment")
            self._meta.status = status  # type: ignore[assignment]
            self._status_set = status != "running"
            self._write_meta()

    # -- lifecycle --------------------------------------------------------------------------
    def __enter__(self) -> Experiment:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> bool:
        if exc is None:
            self.end()
        elif isinstance(exc, KeyboardInterrupt):
            self.end("killed", note="interrupted (KeyboardInterrupt)")
        else:
            detail = "".join(traceback.format_exception(exc_type, exc, tb)).rstrip()
            self.end("failed", note=f"FAILED: {exc_type.__name__}: {exc}\n{detail}")  # type: ignore[union-attr]
        return False

    def end(self, status: str = "completed", note: str | None = None) -> None:
        """Flush everything and mark the run ended. A status set by hand is kept."""
        validate_status(status, FINAL_STATUSES)
        sampler, self._sampler = self._sampler, None
        if sampler is not None:
            sampler.stop()  # its last sample lands before the metrics are closed
        with self._lock:
            if self._closed:
                return
            self._closed = True
            flusher.unregister(self)
            self._capture.wait(5.0)
            now = _now()
            if note:
                self._meta.notes.append(Note(ts=now, text=note))
            if status != "completed" or not self._status_set:  # a failure outranks a hand-set status
                self._meta.status = status  # type: ignore[assignment]
            self._meta.ended = now
            self._meta.heartbeat = now
            self._meta.duration_s = round((now - self._meta.started).total_seconds(), 3)
            self._metrics.close()
            self._write_params()
            self._write_meta()

    finish = end

    def _finish_at_exit(self, status: str, exc: BaseException | None, note: str | None = None) -> None:
        if note is None:
            note = f"FAILED: {type(exc).__name__}: {exc}" if exc else None
        self.end(status, note=note)

    # -- persistence ------------------------------------------------------------------------
    def _apply_environment(self) -> None:
        if self._env_applied or not self._capture.ready:
            return
        env, git = self._capture.environment, self._capture.git
        meta = self._meta
        if env is not None:
            meta.python, meta.platform, meta.cpu_count = env.python, env.platform, env.cpu_count
            meta.gpus, meta.command, meta.packages = env.gpus, env.command, env.packages
        if git is not None:
            meta.git = git.model_copy()
            if self._git_commit:
                meta.git.commit = self._git_commit
        self._env_applied = True

    def _write_meta(self) -> None:
        self._apply_environment()
        data = self._meta.model_dump(mode="json", exclude=_STATIC_FIELDS)
        atomic_write(self._path / METADATA_FILE, dumps_yaml(data) + self._static_yaml())
        self._last_meta_write = datetime.now().timestamp()

    def _static_yaml(self) -> str:
        """The environment block, rendered once per process: it is the bulk of the file
        (hundreds of packages) and never changes, so re-dumping it per write would
        dominate the cost of a short run."""
        env = self._capture.environment if self._env_applied else None
        key = (id(env), tuple(g.name for g in self._meta.gpus))
        text = _static_cache.get(key)
        if text is None:
            text = dumps_yaml(self._meta.model_dump(mode="json", include=_STATIC_FIELDS))
            _static_cache[key] = text
        return text

    def _write_params(self) -> None:
        if self._params_dirty:
            atomic_write(self._path / PARAMS_FILE, dumps_json(self._params))
            self._params_dirty = False

    def _periodic_flush(self) -> None:
        """Called by the flusher about once a second while the run is open."""
        with self._lock:
            if self._closed:
                return
            self._metrics.flush()
            self._write_params()
            stale = datetime.now().timestamp() - self._last_meta_write >= HEARTBEAT_INTERVAL_S
            if stale or (not self._env_applied and self._capture.ready):
                self._meta.heartbeat = _now()
                self._write_meta()

    def flush(self) -> None:
        """Write everything buffered now (the flusher does this every second anyway)."""
        with self._lock:
            self._metrics.flush()
            self._write_params()
