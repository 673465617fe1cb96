"""Weights & Biases with specweave: the W&B project is the increment, and each run is mirrored to a folder.

    from specweave import configure_wandb
    configure_wandb(increment="0042")            # project = increment id, W&B files under the increment
    run = wandb.init(name="xgboost-v1")          # mirrored too (see below)
    run.log({"auc": 0.87})
    run.log_model("model.pkl")

    from specweave import wandb as sw_wandb
    run = sw_wandb.init(increment="0042", name="xgboost")

A mirrored run is the real W&B run behind a thin wrapper: `log`, `log_model`,
`config`, `summary` and `finish` go to W&B as usual and are also written to
a plain experiment folder in the increment (numbers only: images, tables
and histograms stay in W&B). W&B keeps its own files (and, offline, its
binary run history) in `experiments/wandb/`, which is kept out of git;
the plain folder is what git shares.

`configure_wandb` points W&B at the increment through its environment
variables (WANDB_PROJECT, WANDB_DIR) and, unless `mirror=False`, makes
`wandb.init` return mirrored runs: W&B has no hook for this, so `wandb.init`
is wrapped, in this process only (it also passes the project and folder,
since W&B reads its environment once per process). Offline mode (WANDB_MODE=offline, no API
key) works the same.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ..errors import InvalidInput
from ..storage.paths import find_root
from ..tracking.experiment import Experiment
from ..storage.increments import increment_for
from ..tracking.track import track_experiment
from ..storage import local_stores
from ..extras import require


class WandbTarget(BaseModel):
    """Where `configure_wandb` pointed W&B."""

    increment: str
    project: str
    dir: Path
    mirror: bool

    def __str__(self) -> str:
        return f"W&B project {self.project!r}, files in {self.dir}"


_configured: dict[str, Any] = {}


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    if type(value).__module__.split(".")[0] not in ("numpy", "torch", "jax"):
        return False
    try:  # a one-element array or tensor counts; anything bigger is not a metric
        return callable(getattr(value, "item", None)) and int(getattr(value, "size", 1)) == 1
    except (TypeError, ValueError):
        return False


def _numbers(data: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """The numeric leaves of a W&B log dict, nested keys joined with '/' (as W&B shows them)."""
    out: dict[str, float] = {}
    for key, value in data.items():
        name = f"{prefix}/{key}" if prefix else str(key)
        if isinstance(value, dict):
            out.update(_numbers(value, name))
        elif _is_number(value) and not name.startswith("_"):
            out[name] = float(value.item() if hasattr(value, "item") else value)
    return out


class MirroredWandbRun:
    """A W&B run whose log, log_model, config and finish are also written to a plain experiment."""

    def __init__(self, run: Any, exp: Experiment):
        object.__setattr__(self, "_run", run)
        object.__setattr__(self, "experiment", exp)
        object.__setattr__(self, "_finished", False)
        object.__setattr__(self, "_keys", set())  # metric keys mirrored so far

    # everything else (id, name, url, define_metric, log_artifact, ...) is the real run's
    def __getattr__(self, name: str) -> Any:
        return getattr(self._run, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._run, name, value)

    def __repr__(self) -> str:
        return f"<MirroredWandbRun {self._run.id} <-> {self.experiment.id}>"

    @property
    def wandb_run(self) -> Any:
        return self._run

    @property
    def path(self) -> Path:
        return self.experiment.path

    def log(self, data: dict[str, Any], step: int | None = None, commit: bool | None = None, **kwargs: Any) -> None:
        if not isinstance(data, dict):
            raise InvalidInput("W&B log data", type(data).__name__, "a dict of name -> value")
        at = step if step is not None else self._run.step
        self._run.log(data, step=step, commit=commit, **kwargs)
        numbers = _numbers(data)
        if numbers:
            self.experiment.log_metrics(numbers, step=at)
            self._keys.update(numbers)

    def log_model(self, path: str | os.PathLike[str], name: str | None = None, aliases: list[str] | None = None,
                  ) -> None:
        """Log a model file (or folder) to W&B and copy it into the experiment folder."""
        source = Path(path)
        if not source.exists():
            raise InvalidInput("model path", str(path), "an existing file or folder")
        self._run.log_model(path, name=name, aliases=aliases)
        files = [source] if source.is_file() else sorted(p for p in source.rglob("*") if p.is_file())
        for file in files:
            rel = file.name if source.is_file() else f"{source.name}/{file.relative_to(source).as_posix()}"
            info = self.experiment.save_artifact(rel, file)
            self.experiment._record_artifact(info.model_copy(update={"kind": "model"}))  # noqa: SLF001

    def _mirror_config_and_summary(self) -> None:
        config = dict(self._run.config.as_dict()) if hasattr(self._run.config, "as_dict") else dict(self._run.config)
        config = {k: v for k, v in config.items() if not str(k).startswith("_")}
        if config:
            self.experiment.log_params(config)
        try:
            summary = dict(self._run.summary)
        except Exception:  # a summary W&B cannot give back (finished elsewhere): the logged points stand
            summary = {}
        # keys set only in the summary (run.summary["best"] = ...); logged keys already have their points
        extra = {k: v for k, v in _numbers(summary).items() if k not in self._keys and math.isfinite(v)}
        if extra:
            self.experiment.log_metrics(extra)

    def finish(self, exit_code: int | None = None, **kwargs: Any) -> None:
        if self._finished:
            return
        object.__setattr__(self, "_finished", True)
        try:
            self._mirror_config_and_summary()
        finally:
            self._run.finish(exit_code=exit_code, **kwargs)
            self.experiment.end("completed" if not exit_code else "failed",
                                note=f"W&B run finished with exit code {exit_code}" if exit_code else None)

    def __enter__(self) -> MirroredWandbRun:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> bool:
        if exc is None:
            self.finish()
        else:
            object.__setattr__(self, "_finished", True)
            try:
                self._mirror_config_and_summary()
            finally:
                self._run.finish(exit_code=1)
                self.experiment.__exit__(exc_type, exc, tb)
        return False


def _wandb_dir(inc: Any) -> Path:
    return local_stores.made_wandb_root(inc)


def init(
    increment: str | None = None,
    name: str | None = None,
    *,
    root: str | os.PathLike[str] | None = None,
    description: str | None = None,
    tags: list[str] | None = None,
    **wandb_kwargs: Any,
) -> MirroredWandbRun:
    """Start a W&B run (project = the increment id unless given) mirrored into a plain experiment."""
    wandb = require("wandb", "wandb")
    project = find_root(root)
    inc, _created = increment_for(project, increment)
    wandb_kwargs.setdefault("project", inc.id)
    user_dir = os.environ.get("WANDB_DIR")
    if "dir" not in wandb_kwargs and (not user_dir or user_dir == _configured.get("dir")):
        wandb_kwargs["dir"] = str(_wandb_dir(inc))  # a WANDB_DIR the user set themselves is kept
    if tags:
        wandb_kwargs.setdefault("tags", list(tags))
    if description:
        wandb_kwargs.setdefault("notes", description)
    original = _configured.get("original_init") or wandb.init
    run = original(name=name, **wandb_kwargs)
    run_name = name or getattr(run, "name", None) or f"wandb-{run.id}"
    exp = track_experiment(run_name, inc.id, root=project, description=description, tags=tags)

    exp.set_fields(wandb_run_id=run.id, wandb_project=run.project,
          wandb_mode="offline" if getattr(run, "offline", False) else "online")
    mirrored = MirroredWandbRun(run, exp)
    if getattr(wandb, "run", None) is run:
        wandb.log = mirrored.log  # module-level wandb.log(...) is mirrored too
    return mirrored


def configure_wandb(
    increment: str | None = None,
    *,
    root: str | os.PathLike[str] | None = None,
    mirror: bool = True,
) -> WandbTarget:
    """Point W&B at the increment: project = its id, W&B's files under its experiments folder.

    With `mirror=True` (the default) a plain `wandb.init(...)` in this process
    returns a mirrored run, as `specweave.wandb.init` does; with `mirror=False`
    it returns W&B's own run, still with the increment's project and folder.
    """
    wandb = require("wandb", "wandb")
    project = find_root(root)
    inc, _created = increment_for(project, increment)
    folder = _wandb_dir(inc)
    os.environ["WANDB_PROJECT"] = inc.id
    os.environ["WANDB_DIR"] = str(folder)
    _configured.update(increment=inc.id, root=str(project), dir=str(folder))
    original = _configured.setdefault("original_init", wandb.init)

    def configured_init(*args: Any, **kwargs: Any) -> Any:
        if args:  # wandb.init takes keywords only in practice; keep any other use untouched
            return original(*args, **kwargs)
        if _configured.get("mirror"):
            return init(_configured["increment"], kwargs.pop("name", None), root=_configured["root"], **kwargs)
        # W&B reads WANDB_DIR and WANDB_PROJECT once per process: pass them, in case it already has
        kwargs.setdefault("project", _configured["increment"])
        kwargs.setdefault("dir", _configured["dir"])
        return original(**kwargs)

    configured_init.__doc__ = original.__doc__
    configured_init.__wrapped__ = original  # type: ignore[attr-defined]
    _configured["mirror"] = mirror
    wandb.init = configured_init
    return WandbTarget(increment=inc.id, project=inc.id, dir=folder / local_stores.WANDB_DIR, mirror=mirror)


__all__ = ["MirroredWandbRun", "WandbTarget", "configure_wandb", "init"]
