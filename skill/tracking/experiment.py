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

from ..errors import DamagedFile, InvalidInput, UnsafePath
from ..layout import (
    CACHE_DIR,
    CLAIMS_DIR,
    EXPERIMENTS_DIR,
    FINAL_STATUSES,
    HEARTBEAT_INTERVAL_S,
    METADATA_FILE,
    PARAMS_FILE,
    SPECWEAVE_DIR,
)
from ..schemas.records import ArtifactInfo, DatasetInfo, ExperimentMeta, Increment, Note
from ..repro.capture import PATCH_FILE, RunCapture
from ..storage.artifacts import write_artifact, write_model
from ..storage.environments import shared_fields, write_environment
from ..storage.atomic_writes import atomic_write
from ..storage.encoding import dumps_json, flatten_params, to_jsonable
from ..storage.store_dirs import store_dir_of
from ..storage.ids import allocate, slugify
from ..storage.metafile import Change, update_meta
from ..storage.metrics_writer import MetricsBuffer
from ..storage.notices import warn
from ..storage.validate import (
    MAX_NAME,
    MAX_NOTE,
    check_depth,
    is_utf8,
    validate_final_status,
    validate_status,
    validate_tag,
    validate_text,
)
from . import flusher
from ..repro.environment import capture_for
from .system_metrics import SystemMetricsThread, resolve_interval

_MAX_PARAM_KEY = 250
_HOST = socket.gethostname()


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _internal_text(text: str) -> str:
    """A note the tracker writes itself (a traceback, a warning): undecodable characters escaped and the
    length bounded, so that it can never make the run's metadata unwritable."""
    if not is_utf8(text):
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= MAX_NOTE else text[: MAX_NOTE - 14] + "\n[truncated]"


def _all_utf8(value: Any) -> bool:
    """Whether every string in a JSON-safe value (keys too) can be written as UTF-8."""
    if isinstance(value, str):
        return is_utf8(value)
    if not isinstance(value, (list, dict)):
        return True
    stack = [value]
    while stack:
        item = stack.pop()
        parts = [*item.keys(), *item.values()] if isinstance(item, dict) else item
        for part in parts:
            if isinstance(part, str):
                if not is_utf8(part):
                    return False
            elif isinstance(part, (list, dict)):
                stack.append(part)
    return True


class RunHooks:
    """The extension point of a run: what a run shared by several processes (skill.tracking.ranks) adds to
    an ordinary one. An `Experiment` given hooks calls them; each default does nothing. Hooks use only the
    run's public methods."""

    def system_key(self, key: str) -> str:
        """The name a system-metric sample of this process is logged under."""
        return key

    def on_open(self, exp: Experiment) -> None:
        """Once, when the run's folder and metadata exist."""

    def on_tick(self, exp: Experiment) -> None:
        """About once a second while the run is open, after the flusher wrote what was buffered."""

    def before_end(self, exp: Experiment, status: str, note: str | None) -> tuple[str, str | None]:
        """Once, before the run ends: the status and note it ends with."""
        return status, note

    def after_end(self, exp: Experiment) -> None:
        """Once, after the run ended."""


def open_experiments() -> list[Experiment]:
    """The runs this process has open (and ended ones whose writes still wait for disk space)."""
    return [owner for owner in flusher.open_owners() if isinstance(owner, Experiment)]


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
        hooks: RunHooks | None = None,
        write_at_end: bool = False,
    ):
        name = validate_text("experiment name", name, MAX_NAME, single_line=True).strip()
        tags = [validate_tag(t) for t in tags]  # all checked before a folder is made
        description = validate_text("description", description or "", MAX_NOTE, allow_empty=True)
        for what, value in (("author", author), ("data_version", data_version)):
            if value is not None:
                validate_text(what, value, MAX_NAME, single_line=True)
        self._sampler: SystemMetricsThread | None = None
        self._hooks = hooks
        sample_every = resolve_interval(system_metrics)
        self.root = root
        self._lock = threading.RLock()
        claims = root / SPECWEAVE_DIR / CACHE_DIR / CLAIMS_DIR / increment.id
        _number, readable, folder = allocate(increment.path / EXPERIMENTS_DIR, claims, slugify(name))
        self._path = folder
        self._git_commit = git_commit
        self._capture = capture_for(root)
        self._repro = RunCapture(root)  # patch, cwd, command, seeds: on the capture thread
        self._repro_applied = False
        now = _now()
        # The picture of metadata.yaml as this process last wrote it, and that file's identity.
        self._meta = ExperimentMeta(
            id=readable, uid=folder.name.rsplit(".", 1)[1], name=name, increment=increment.id,
            description=description, tags=tags, author=author,
            data_version=data_version, source=source, started=now, heartbeat=now, pid=os.getpid(), host=_HOST,
            parent=parent, stage=stage, stage_order=stage_order,
            after=after,
        )
        if git_commit:
            self._meta.git.commit = git_commit
        self._meta_id: tuple[int, int, int, int] | None = None
        # Changes not yet on disk (a full disk): applied, in order, to the newest file at the next write.
        self._pending: list[Change] = []
        self._params: dict[str, Any] = {}
        self._params_dirty = True
        self._metrics = MetricsBuffer(folder)
        # The hot path without a layer: while the run is open, `exp.log_metric` is the buffer's own `log`
        # (an instance attribute over the method below; `end` removes it, so a point logged after the end
        # goes through the method, which writes it at once).
        self.log_metric = self._metrics.log  # type: ignore[method-assign]
        self._env_applied = False
        self._closed = False
        self._last_meta_write = 0.0
        if not write_at_end:  # else the end's write (or the flusher's first tick) is the first
            self._change(None)
        self._label = readable
        flusher.register(self, label=readable, tick=self._periodic_flush, finish=self._finish_at_exit)
        if sample_every is not None:
            self._sampler = SystemMetricsThread(self._log_system, sample_every, readable).start()
        self._repro.opened()  # the run is open: its capture may run now
        if hooks is not None:
            hooks.on_open(self)

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
        return self.metadata.status if self._pending else self._meta.status

    @property
    def params(self) -> dict[str, Any]:
        return dict(self._params)

    @property
    def metadata(self) -> ExperimentMeta:
        """This process's picture of metadata.yaml, with any change still waiting for disk space."""
        with self._lock:
            meta = self._meta.model_copy(deep=True)
            for change in self._pending:
                if change is not None:
                    try:
                        change(meta)
                    except OSError:  # a change that writes (the environment file) on a full disk: the
                        pass  # picture goes without it; the writer retries it when space returns
            return meta

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
        check_depth("params", params)
        flat: dict[str, Any] = {}
        for key, value in params.items():
            if not isinstance(key, str) or not key.strip() or len(key) > _MAX_PARAM_KEY:
                raise InvalidInput("param name", key, f"a non-empty string of at most {_MAX_PARAM_KEY} characters")
            flat.update(flatten_params({key: value}))
        notes = []
        for key, value in flat.items():
            validate_text("param name", key, 4 * _MAX_PARAM_KEY)
            try:
                flat[key] = to_jsonable(value)
            except TypeError:
                flat[key] = repr(value)
                notes.append(f"param {key!r} is a {type(value).__name__} with no JSON form: stored as its repr")
            if not _all_utf8(flat[key]):
                raise InvalidInput(f"value of param {key!r}", value, "valid UTF-8 text (it holds an undecodable "
                                   "character, such as a non-UTF-8 file name decoded with surrogates)")
        with self._lock:
            self._params.update(flat)
            self._params_dirty = True
            if notes:
                stamped = [Note(ts=_now(), text=_internal_text(n)) for n in notes]
                self._change(lambda meta: meta.notes.extend(stamped))
            if self._closed:
                self._write_params()

    # -- metrics (the hot path) -------------------------------------------------------------
    def log_metric(self, key: str, value: float, step: int | None = None) -> None:
        """Record one metric value; `step` defaults to the key's previous step + 1."""
        self._metrics.log(key, value, step)
        if self._closed:
            self._late()

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        """Record several metrics at the same step."""
        if not isinstance(metrics, dict):
            raise InvalidInput("metrics", type(metrics).__name__, "a dict of name -> number")
        log = self._metrics.log
        for key, value in metrics.items():
            log(key, value, step)
        if self._closed:
            self._late()

    def _late(self) -> None:
        """Points logged after the run ended (Lightning logs `trainer.test()` after `fit()`'s finalize):
        written now, and the log settled again by the flusher about a second later (or at exit), so the
        settled log and the summary in git keep them; many late calls cost one settle."""
        self._metrics.flush()
        flusher.register(self, label=self._label, tick=self._periodic_flush, finish=self._finish_at_exit)

    def _log_system(self, values: dict[str, float], step: int) -> None:
        """The system-metrics sampler's entry: the ordinary metric logger, from its own thread."""
        if self._hooks is not None:
            values = {self._hooks.system_key(key): value for key, value in values.items()}
        self.log_metrics(values, step=step)

    # -- models and artifacts ---------------------------------------------------------------
    def save_model(self, model: Any, filename: str = "model.pkl", *, in_git: bool | None = None) -> ArtifactInfo:
        """Save a model (pickle by default; .joblib, .pt, .json, .keras by extension; a path to a file torch.save
        wrote, such as a Lightning checkpoint, as .pt: copied, never loaded). Its bytes go to the
        git-ignored object store (metadata.yaml records name, size, sha256); `in_git=True` keeps them in
        the experiment folder, in git."""
        with self._lock:
            return write_model(self._path, model, filename, record=self._record_artifact, in_git=in_git)

    def save_artifact(self, name: str, obj: Any, *, in_git: bool | None = None) -> ArtifactInfo:
        """Save bytes, text, a file path (copied), a dict/list (JSON or YAML), a DataFrame,
        a matplotlib Figure, or anything else (pickled) under `name`. Text up to 256 KiB (ml.yaml's
        `artifacts.in_git_max_bytes`) stays in the experiment folder, in git; binary and larger files go to
        the git-ignored object store; `in_git=True/False` forces either."""
        with self._lock:
            return write_artifact(self._path, name, obj, record=self._record_artifact, in_git=in_git)

    def _record_artifact(self, info: ArtifactInfo) -> None:
        def change(meta: ExperimentMeta) -> None:
            meta.artifacts = [a for a in meta.artifacts if a.name != info.name] + [info]

        self._change(change)

    # -- data -------------------------------------------------------------------------------
    def log_dataset(self, name: str, source: Any) -> DatasetInfo:
        """Record a dataset the run used: a file or folder (size and content hash, rehashed only when its
        size or mtime changed), a pandas DataFrame (rows, columns and dtypes, content hash), or a path DVC
        tracks (DVC's hash). `sw-ml diff` and `compare` tell runs on different data apart by it."""
        from ..repro.datasets import fingerprint

        info = fingerprint(self.root, name, source, self._repro.code_root)

        def change(meta: ExperimentMeta) -> None:
            meta.datasets = [d for d in meta.datasets if d.name != info.name] + [info]

        self._change(change)
        return info

    # -- notes, tags, status ----------------------------------------------------------------
    def log_note(self, text: str) -> None:
        """Add a timestamped note (kept in metadata.yaml, shown by every reader)."""
        text = validate_text("note", text if isinstance(text, str) else str(text), 10 * MAX_NOTE,
                             allow_empty=True)
        note = Note(ts=_now(), text=_internal_text(text))
        self._change(lambda meta: meta.notes.append(note))

    def add_tag(self, tag: str) -> None:
        tag = validate_tag(tag)
        self._change(lambda meta: None if tag in meta.tags else meta.tags.append(tag))

    def remove_tag(self, tag: str) -> None:
        self._change(lambda meta: meta.tags.remove(tag) if tag in meta.tags else None)

    def set_description(self, text: str) -> None:
        text = validate_text("description", text if isinstance(text, str) else str(text), MAX_NOTE,
                             allow_empty=True)
        self._change(lambda meta: setattr(meta, "description", text))

    def set_status(self, status: str) -> None:
        """Set running, completed, failed or killed; kept when the block ends."""
        status = validate_status(status)
        with self._lock:
            if self._closed and status == "running":
                raise InvalidInput("status", status, "a final status for an ended experiment")
            self._change(lambda meta: setattr(meta, "status", status))

    def set_fields(self, **fields: Any) -> None:
        """Record extra keys in metadata.yaml (integrations link their own run ids this way). While the run
        is open they go with its next write, as points do: the flusher's within a second, or the end's
        (integrations set them just before the end: one write, not two); after the end, at once."""
        for key in fields:
            if key in ExperimentMeta.model_fields:
                raise InvalidInput("extra metadata field", key, "a name that is not one of metadata.yaml's own")
        safe = {key: to_jsonable(value) for key, value in fields.items()}

        def change(meta: ExperimentMeta) -> None:
            for key, value in safe.items():
                setattr(meta, key, value)

        with self._lock:
            if not self._closed:
                self._pending.append(change)
                return
        self._change(change)

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
        """Flush everything and mark the run ended. A final status set by hand (here or by another
        process, such as `sw-ml`) is kept, unless the run failed.

        On a full disk nothing raises: what could not be written stays in memory, and the flusher writes
        it when space returns (or, at the latest, at interpreter exit)."""
        validate_final_status(status)
        hooks = None if self._closed else self._hooks
        if hooks is not None:
            status, note = hooks.before_end(self, status, note)
        self._end(status, note)
        if hooks is not None:
            hooks.after_end(self)

    finish = end

    def _end(self, status: str, note: str | None) -> None:
        sampler, self._sampler = self._sampler, None
        if sampler is not None:
            sampler.stop()  # its last sample lands before the metrics are closed
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self.__dict__.pop("log_metric", None)
            self._capture.wait(5.0)
            self._repro.wait(5.0)
            now = _now()
            stamped = Note(ts=now, text=_internal_text(note)) if note else None

            def finish(meta: ExperimentMeta) -> None:
                if stamped is not None:
                    meta.notes.append(stamped)
                if status != "completed" or meta.status not in FINAL_STATUSES:  # a failure outranks a hand-set one
                    meta.status = status  # type: ignore[assignment]
                meta.ended = now
                meta.heartbeat = now
                meta.duration_s = round((now - meta.started).total_seconds(), 3)
                if log_bytes is not None:
                    meta.log_bytes = log_bytes

            direct = self._settle_unwritten()
            done = self._metrics.close()
            log_bytes = direct if direct is not None else self._metrics.size() if done else None  # vouched for
            done = self._write_params() and done  # only when closed whole
            done = self._change(finish) and done
            if done:
                flusher.unregister(self)
                if direct is None:
                    self._settle()
            # else the flusher keeps it and calls _periodic_flush until everything is on disk

    def _finish_at_exit(self, status: str, exc: BaseException | None, note: str | None = None) -> None:
        if self._closed:
            self._periodic_flush()  # a run ended while the disk was full: one last try
            return
        if note is None:
            note = f"FAILED: {type(exc).__name__}: {exc}" if exc else None
        self.end(status, note=note)

    # -- persistence ------------------------------------------------------------------------
    def _environment_change(self) -> Change | None:
        """The captured environment as a change, once, when the background capture is ready."""
        if self._env_applied or not self._capture.ready:
            return None
        self._env_applied = True
        env, git, commit = self._capture.environment, self._capture.git, self._git_commit
        author = self._capture.author

        store = store_dir_of(self._path)

        def apply(meta: ExperimentMeta) -> None:
            if env is not None:
                meta.command = env.command
                if store is not None:  # schema 2: written once, named by hash (an OSError retries it)
                    meta.environment = write_environment(store, *shared_fields(env))
                else:
                    meta.python, meta.platform, meta.cpu_count = env.python, env.platform, env.cpu_count
                    meta.gpus, meta.packages = env.gpus, env.packages
            if git is not None:
                meta.git = git.model_copy()
                if commit:
                    meta.git.commit = commit
            if meta.author is None and author:  # not given: git's user.email (or SPECWEAVE_AUTHOR)
                meta.author = author

        return apply

    def _repro_change(self) -> Change | None:
        """The reproduction capture as a change, once, after the environment's (a rerun's git info replaces
        the one captured at the project root): the patch file written first, then metadata.yaml."""
        if self._repro_applied or not self._env_applied or not self._repro.ready:
            return None
        self._repro_applied = True
        captured = self._repro.result()
        if captured is None:
            return None
        patch_path, written = self._path / PATCH_FILE, []

        def apply(meta: ExperimentMeta) -> None:
            if captured.patch and not written:
                atomic_write(patch_path, captured.patch)  # an OSError keeps the change queued
                written.append(True)
            meta.capture = captured.info
            if captured.reproduces:
                meta.reproduces = captured.reproduces
            if captured.git is not None:
                meta.git = captured.git.model_copy()

        return apply

    def _change(self, change: Change | None) -> bool:
        """Queue `change` and write every queued change to the newest metadata.yaml, under its lock.

        True when all is on disk. On a full disk (or any OSError) the changes stay queued, a warning is
        printed once, and the next call or the flusher's next tick tries again: nothing raises into the
        training loop and nothing is lost while the process lives."""
        with self._lock:
            env = self._environment_change()
            if env is not None:
                self._pending.append(env)
            repro = self._repro_change()
            if repro is not None:
                self._pending.append(repro)
            if change is not None:
                self._pending.append(change)
            changes = list(self._pending)
            if not changes and self._closed:  # a flusher tick that waited while the run ended: all written
                return True

            def apply(meta: ExperimentMeta) -> None:
                for queued in changes:
                    queued(meta)

            try:
                self._meta, self._meta_id = update_meta(
                    self._path, apply, known=(self._meta, self._meta_id),
                    on_damage=self._on_damage,
                )
            except OSError as exc:
                warn(f"could not write {self.id}'s metadata ({exc.strerror or exc}); keeping it in memory "
                     f"and trying again every second")
                return False
            del self._pending[: len(changes)]
            self._last_meta_write = datetime.now().timestamp()
            return True

    def _on_damage(self, exc: DamagedFile) -> ExperimentMeta:
        """metadata.yaml of this open run is missing or broken (a hand edit): this process owns the run,
        so it writes its own picture rather than lose the run's end."""
        if (self._path / METADATA_FILE).exists():
            warn(f"{exc}; rewriting it from {self.id}'s own record")
        return self._meta.model_copy(deep=True)

    def _write_params(self) -> bool:
        if not self._params_dirty:
            return True
        try:
            atomic_write(self._path / PARAMS_FILE, dumps_json(self._params))
        except OSError as exc:
            warn(f"could not write {self.id}'s params ({exc.strerror or exc}); trying again every second")
            return False
        self._params_dirty = False
        return True

    def _periodic_flush(self) -> None:
        """Called by the flusher about once a second while the run is open (or not yet all on disk)."""
        with self._lock:
            done = self._metrics.close() if self._closed else self._metrics.flush()
            done = self._write_params() and done
            if self._closed:
                if self._change(None) and done:
                    flusher.unregister(self)
                    self._settle()
                return
            stale = datetime.now().timestamp() - self._last_meta_write >= HEARTBEAT_INTERVAL_S
            if stale or self._pending or (not self._env_applied and self._capture.ready) or (
                    not self._repro_applied and self._repro.ready):
                now = _now()
                self._change(lambda meta: setattr(meta, "heartbeat", now))
        if self._hooks is not None:
            self._hooks.on_tick(self)  # outside the lock: a hook may read other processes' files

    def _settle_unwritten(self) -> int | None:
        """A run ending before its first flush: its points go straight into the summary (no live log made
        only to be removed), before metadata.yaml says it ended, so a kill in between loses nothing (the
        next read finds a crashed run with its summary). The bytes taken in, or None: then the ordinary
        way (the live log, settled after the end), as after a failure here (a full disk)."""
        from ..storage.run_summary import settle

        taken = self._metrics.unwritten_lines()
        if taken is None or not taken[1]:
            return None
        data, count = taken
        try:
            settle(self._path, data, alone=self._hooks is None)
        except (OSError, DamagedFile, UnsafePath):
            return None
        self._metrics.written(count)
        return len(data)

    def _settle(self) -> None:
        """Schema 3: the ended run's point log goes into the object store and its summary into git. A
        failure (a full disk) leaves the live log, which the next read settles."""
        from ..storage.run_summary import settle

        # the points as this process wrote them, when no other rank writes into the run: not parsed back
        written = self._metrics.take_written() if self._hooks is None else None
        try:
            settle(self._path, written=written)
        except (OSError, DamagedFile, UnsafePath) as exc:
            warn(f"could not settle {self.id}'s point log ({getattr(exc, 'strerror', None) or exc}); "
                 "it stays in metrics.jsonl and the next read settles it")

    def flush(self) -> None:
        """Write everything buffered now (the flusher does this every second anyway): points, params and
        the metadata changes queued (`set_fields`)."""
        with self._lock:
            self._metrics.flush()
            self._write_params()
            if self._pending:
                self._change(None)
