"""What every framework integration shares, on the public `Experiment` API only.

Each integration opens its run with `open_run` (so the rank rule of
`track_experiment` applies: rank 0 writes, other ranks get a no-op run),
reports numbers through `numbers`, and ends with `end_run`, which records the
traceback of an exception being handled, as `with track_experiment` does.
"""

from __future__ import annotations

import atexit
import gc
import re
import sys
import weakref
from collections.abc import Mapping
from types import FrameType
from typing import Any

from ..tracking.experiment import Experiment
from ..tracking.track import track_experiment


def open_run(name: str, *, experiment: Experiment | None = None, source: str, **options: Any) -> Experiment:
    """The run an integration writes to: the one given, or a new one (`options` go to track_experiment)."""
    if experiment is not None:
        return experiment
    return track_experiment(name, source=source, **{k: v for k, v in options.items() if v is not None})


def end_run(exp: Experiment, status: str = "completed") -> None:
    """End `exp`: a failure while an exception is being handled notes its traceback."""
    if status == "completed":
        exp.end()
        return
    exc_type, exc, tb = sys.exc_info()
    if exc is not None and status == "failed":
        exp.__exit__(exc_type, exc, tb)
    else:
        exp.end(status)


def raised_through(frame: FrameType) -> BaseException | None:
    """The live exception whose traceback stops in `frame` at the line it stopped on: the one that ended
    it, where a framework keeps it to report (Ray's thread runner does)."""
    # Made just now: the young generations (a few hundred objects) hold it unless a collection has moved
    # it on; only then the whole heap (tens of ms in a process with torch loaded).
    for generation in (0, 1, None):
        for obj in gc.get_objects() if generation is None else gc.get_objects(generation):
            if issubclass(type(obj), BaseException):  # type(), not isinstance: no object's __class__ is asked
                tb = obj.__traceback__
                while tb is not None:
                    if tb.tb_frame is frame and tb.tb_lineno == frame.f_lineno:
                        return obj
                    tb = tb.tb_next
    return None


def number(value: Any) -> float | None:
    """A float (NaN and the infinities too) from a Python, numpy or torch scalar; None for anything else."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    item = getattr(value, "item", None)  # numpy and torch scalars; a many-element array is refused by item()
    if callable(item):
        try:
            value = item()
        except (TypeError, ValueError, RuntimeError):
            return None
        return float(value) if isinstance(value, (int, float)) else None
    return None


def numbers(values: Mapping[str, Any]) -> dict[str, float]:
    """The numeric entries of a framework's log dict; strings and lists are left out. NaN and the
    infinities are kept, as `log_metric` keeps them: a loss that went NaN is the point a curve must show."""
    out = {}
    for key, value in values.items():
        if type(value) is not float:  # the common case (Lightning and transformers hand over floats) skips this
            value = number(value)
            if value is None:
                continue
        out[key if type(key) is str else str(key)] = value
    return out


def file_stem(text: str) -> str:
    """A file name part any file system and the artifact store accept."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "model"





# metric names whose larger value is better (the boosting libraries' own conventions)
_HIGHER_BETTER = ("auc", "aucpr", "map", "ndcg", "accuracy", "precision", "recall", "f1", "r2", "pre")


def higher_is_better(metric: str) -> bool:
    base = metric.split("@", 1)[0].split(":", 1)[0].lower()
    return base in _HIGHER_BETTER or base.startswith(("auc", "ndcg", "map"))


def best_of(history: list[float], higher: bool) -> tuple[int, float] | None:
    """(index, value) of the best entry of `history`, the first one on a tie."""
    if not history:
        return None
    pick = max if higher else min
    value = pick(history)
    return history.index(value), value


class Training:
    """The run of a callback whose library announces no end of training (LightGBM after early stopping,
    CatBoost); a subclass logs into it and defines `end(model=None, failed=False)`, which calls `close`.

    At interpreter exit an open one is ended before the tracker closes the runs left open (so the best
    iteration and the model are recorded), unless the program is dying of an uncaught exception: the
    tracker then records the run failed with that traceback."""

    def __init__(self, name: str, source: str, model_file: str | None, options: dict[str, Any],
                 given: Experiment | None) -> None:
        self.name, self.source, self.model_file, self.options, self.given = name, source, model_file, options, given
        self.experiment, self.open = given, False

    def start(self) -> Experiment:
        """The open run, opened now if needed (registered after the tracker's own exit hook: it runs first)."""
        if not self.open:
            self.experiment = open_run(self.name, experiment=self.given, source=self.source, **self.options)
            self.open = True
            atexit.register(self.at_exit)
        return self.experiment  # type: ignore[return-value]

    def at_exit(self) -> None:
        if getattr(sys, "last_value", None) is None:  # set by an uncaught exception, which the tracker notes
            self.end()

    def close(self, status: str = "completed") -> None:
        self.open = False
        atexit.unregister(self.at_exit)
        if self.given is None:
            end_run(self.experiment, status)  # type: ignore[arg-type]

    def end(self, model: Any = None, failed: bool = False) -> None:
        raise NotImplementedError


class EndsWhenLetGo:
    """Base of a callback whose library announces no end of training (LightGBM after early stopping,
    CatBoost): its `training.end(model=None, failed=False)` runs at the first of `finish()`, the end of a
    `with` block, the callback being let go (CPython frees an inline callback as soon as the library's
    `train`/`fit` returns, when neither keeps a reference), and interpreter exit (see `Training`)."""

    def __init__(self, training: Any) -> None:
        self.training = training
        weakref.finalize(self, training.end).atexit = False  # holds the training, not the callback

    @property
    def experiment(self) -> Experiment | None:
        return self.training.experiment

    def finish(self, model: Any = None) -> None:
        """End the run now, saving `model` (by default the one trained, where the library hands it over)."""
        self.training.end(model)

    def __enter__(self) -> Any:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        self.training.end(failed=exc is not None)  # a failure notes the traceback being handled
