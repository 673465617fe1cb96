"""`TensorBoardCallback`: a Keras 3 callback that writes TensorBoard event files and a plain experiment.

    from specweave import TensorBoardCallback

    model.fit(X_train, y_train, epochs=10, validation_split=0.2, callbacks=[
        TensorBoardCallback(increment="0042", log_dir=".specweave/increments/0042.../tensorboard"),
    ])

Each `fit` is one experiment (named `name`, else `keras-<model name>`): the
model's shape and optimizer become params, and every epoch's logs become
metrics at step = epoch. The same values go to TensorBoard event files, laid
out as Keras' own TensorBoard callback lays them out (`<run>/train` and
`<run>/validation`, tags `epoch_<metric>`), so `tensorboard --logdir
<log_dir>` shows one run per experiment: `<log_dir>/<exp-NNN-slug>/`.

`log_dir` defaults to the increment's `tensorboard/` folder. A relative
`log_dir` starting with `.specweave` is taken from the project root, any
other from the working directory, as Keras does; a part written like the
seed's `0042...` stands for that increment's folder name.

Writing events needs only the `tensorboard` package (no TensorFlow). The
class imports without Keras; creating one needs the `keras` extra and a
Keras backend (KERAS_BACKEND=torch or jax when TensorFlow is absent).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

from ..errors import InvalidInput
from ..storage.paths import find_root
from ..tracking.experiment import Experiment
from ..storage.increments import increment_for
from ..tracking.track import track_experiment
from ..extras import require

_PLACEHOLDER_RE = re.compile(r"^(?P<number>\d{4}[A-Z]?)(?:-[a-z0-9-]*)?\.\.\.$")
_impl: type | None = None


def resolve_log_dir(log_dir: str | os.PathLike[str] | None, root: Path, increment_path: Path) -> Path:
    """Where the event files go (see the module docstring for the rules)."""
    if log_dir is None:
        return increment_path / "tensorboard"
    if not str(log_dir).strip():
        raise InvalidInput("log_dir", log_dir, "a folder path, or None for the increment's tensorboard/")
    parts = list(Path(log_dir).parts)
    for i, part in enumerate(parts):
        match = _PLACEHOLDER_RE.match(part)
        if match and increment_path.name.startswith(match["number"]):
            parts[i] = increment_path.name
    path = Path(*parts)
    if path.is_absolute():
        return path
    return (root / path) if parts[0] == ".specweave" else (Path.cwd() / path)


class _EventWriters:
    """One TensorBoard event file per split (train, validation), written without TensorFlow."""

    def __init__(self, run_dir: Path):
        require("tensorboard", "tensorboard")
        from tensorboard.summary.writer.event_file_writer import EventFileWriter

        self._writers = {split: EventFileWriter(str(run_dir / split)) for split in ("train", "validation")}

    def scalars(self, split: str, values: dict[str, float], step: int) -> None:
        from tensorboard.compat.proto import event_pb2, summary_pb2

        summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, simple_value=value)
                                             for tag, value in values.items()])
        self._writers[split].add_event(event_pb2.Event(wall_time=time.time(), step=step, summary=summary))

    def flush(self) -> None:
        for writer in self._writers.values():
            writer.flush()

    def close(self) -> None:
        for writer in self._writers.values():
            writer.close()


def _number(value: Any) -> float | None:
    try:
        return float(value.item() if hasattr(value, "item") else value)
    except (TypeError, ValueError):
        return None


def _model_params(model: Any) -> dict[str, Any]:
    params: dict[str, Any] = {"model": getattr(model, "name", type(model).__name__)}
    try:
        params["total_params"] = int(model.count_params())
    except Exception:  # an unbuilt model has no parameter count yet
        pass
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None:
        params["optimizer"] = type(optimizer).__name__
        lr = _number(getattr(optimizer, "learning_rate", None))
        if lr is not None:
            params["learning_rate"] = float(f"{lr:.7g}")  # a float32 variable: 0.01, not 0.009999999776
    return params


def _build(keras: Any) -> type:
    class KerasTensorBoardCallback(keras.callbacks.Callback, TensorBoardCallback):
        __doc__ = TensorBoardCallback.__doc__

        def __init__(self, increment: str | None = None, log_dir: str | os.PathLike[str] | None = None, *,
                     name: str | None = None, root: str | os.PathLike[str] | None = None,
                     tags: list[str] | None = None):
            keras.callbacks.Callback.__init__(self)
            self._root = find_root(root)
            self._inc, _created = increment_for(self._root, increment)
            self._base_dir = resolve_log_dir(log_dir, self._root, self._inc.path)
            self._name, self._tags = name, tags
            self.experiment: Experiment | None = None
            self.run_dir: Path | None = None
            self._writers: _EventWriters | None = None

        def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
            if self.experiment is not None:
                self._close("completed")
            exp = track_experiment(self._name or f"keras-{getattr(self.model, 'name', 'model')}", self._inc.id,
                                   root=self._root, tags=self._tags)
            self.experiment = exp
            self.run_dir = self._base_dir / exp.id
            self._writers = _EventWriters(self.run_dir)
            params = _model_params(self.model)
            for key in ("epochs", "steps", "batch_size"):
                if isinstance(self.params, dict) and self.params.get(key) is not None:
                    params[key] = self.params[key]
            exp.log_params(params)
            try:
                rel = self.run_dir.relative_to(self._root).as_posix()
            except ValueError:
                rel = str(self.run_dir)

            exp.set_fields(tensorboard_dir=rel)

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            if self.experiment is None or self._writers is None:
                return
            values = {k: v for k, v in ((k, _number(v)) for k, v in (logs or {}).items()) if v is not None}
            if not values:
                return
            self.experiment.log_metrics(values, step=epoch)
            train = {f"epoch_{k}": v for k, v in values.items() if not k.startswith("val_")}
            val = {f"epoch_{k[4:]}": v for k, v in values.items() if k.startswith("val_")}
            if train:
                self._writers.scalars("train", train, epoch)
            if val:
                self._writers.scalars("validation", val, epoch)
            self._writers.flush()

        def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
            stopped = getattr(self.model, "stop_training", False)
            self._close("completed", note="training stopped early" if stopped else None)

        def _close(self, status: str, note: str | None = None) -> None:
            if self._writers is not None:
                self._writers.close()
                self._writers = None
            if self.experiment is not None:
                self.experiment.end(status, note=note)

    KerasTensorBoardCallback.__name__ = KerasTensorBoardCallback.__qualname__ = "TensorBoardCallback"
    return KerasTensorBoardCallback


class TensorBoardCallback:
    """Keras 3 callback: TensorBoard event files plus a plain experiment per `fit` (see the module doc).

    Arguments: `increment` ("0042", a full id, or None for the active one),
    `log_dir` (default: the increment's `tensorboard/`), `name` (default
    `keras-<model name>`), `root`, `tags`. After `fit`, `.experiment` is the
    experiment and `.run_dir` the folder of its event files.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        global _impl
        if cls is TensorBoardCallback:
            if _impl is None:  # Keras is imported on the first callback, never before
                _impl = _build(require("keras", "keras"))
            cls = _impl
        return super().__new__(cls)  # Python then runs the Keras subclass's __init__, once


__all__ = ["TensorBoardCallback", "resolve_log_dir"]
