"""What every framework integration shares, on the public `Experiment` API only.

Each integration opens its run with `open_run` (so the rank rule of
`track_experiment` applies: rank 0 writes, other ranks get a no-op run),
reports numbers through `numbers`, and ends with `end_run`, which records the
traceback of an exception being handled, as `with track_experiment` does.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
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


def number(value: Any) -> float | None:
    """A finite or infinite float from a Python, numpy or torch scalar; None for anything else."""
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
    """The numeric entries of a framework's log dict; strings, lists and NaN are left out."""
    out = {}
    for key, value in values.items():
        if type(value) is not float:  # the common case (Lightning and transformers hand over floats) skips this
            value = number(value)
            if value is None:
                continue
        if value == value:  # not NaN
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
