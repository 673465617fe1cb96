"""Ray Tune: `RunConfig(callbacks=[SpecweaveLoggerCallback()])`, run by Tune's driver.

A child run per trial under a sweep parent: the config as params, results as metrics at
`training_iteration`, the end status (an error in the notes); given `metric`/`mode`, the best trial by
its last result (as `get_best_result` judges) is tagged `best`.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from ray.tune.logger import LoggerCallback

from ..workflows.sweeps import SharedSweep, join_sweep
from .framework_runs import numbers

_NOT_METRICS = {"done", "training_iteration", "pid", "timestamp", "iterations_since_restore", "config"}


def _flat(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if prefix or key not in _NOT_METRICS:  # the config is a dict Tune repeats in every result
            out.update(_flat(value, f"{prefix}{key}/") if isinstance(value, dict) else {f"{prefix}{key}": value})
    return out


class SpecweaveLoggerCallback(LoggerCallback):
    """A Tune experiment as a sweep of child runs."""

    def __init__(self, name: str = "ray-tune", increment: str | None = None, *, metric: str | None = None,
                 mode: str = "max", root: str | None = None) -> None:
        if mode not in ("max", "min"):
            raise ValueError(f'mode={mode!r}: expected "max" or "min"')
        self.name, self.increment, self.root, self.metric, self.mode = name, increment, root, metric, mode
        self.sweep: SharedSweep | None = None
        self._runs: dict[str, Any] = {}
        self._trials: dict[str, Any] = {}
        self._marked = ""

    def _parent(self) -> SharedSweep:
        if self.sweep is None:
            self.sweep = join_sweep(f"ray\0{uuid.uuid4()}", self.name, self.increment, root=self.root,
                                    description="Ray Tune experiment")
            self.sweep.parent.log_params({"engine": "ray", "metric": self.metric, "mode": self.mode})
        return self.sweep

    def log_trial_start(self, trial: Any) -> None:
        if trial.trial_id in self._runs:  # a restored trial keeps its run
            return
        sweep = self._parent()
        child = sweep.child(f"{self.name} {trial.trial_id}", source="ray",
                            description=f"Ray Tune trial {trial.trial_id} ({trial.experiment_tag})")
        child.log_params(dict(trial.config))
        self._runs[trial.trial_id], self._trials[trial.trial_id] = child, trial

    def log_trial_result(self, iteration: int, trial: Any, result: dict[str, Any]) -> None:
        if trial.trial_id not in self._runs:
            self.log_trial_start(trial)
        self._runs[trial.trial_id].log_metrics(numbers(_flat(result)), step=result.get("training_iteration"))

    def log_trial_end(self, trial: Any, failed: bool = False) -> None:
        child = self._runs.get(trial.trial_id)
        if child is None:
            return
        if failed:
            error = Path(getattr(trial, "error_file", None) or "")
            text = error.read_text(errors="replace") if error.is_file() else "see Ray's logs"
            child.end("failed", note=f"FAILED in Ray Tune: {text}")
        else:
            child.end()
        self._mark()

    def _mark(self) -> Any:
        best = self._best() if self.metric else None
        if best and best[0] != self._marked:  # files are written only when the best changes
            self._marked, sweep = best[0], self._parent()
            sweep.register(best[0], self._runs[best[0]])
            sweep.mark_best(lambda: best)
        return best

    def _best(self) -> Any:
        scored = [(t.last_result[self.metric], tid) for tid, t in self._trials.items()
                  if self._runs[tid].status == "completed" and isinstance(t.last_result.get(self.metric), (int, float))]
        if not scored:
            return None
        value, tid = (max if self.mode == "max" else min)(scored, key=lambda pair: pair[0])
        return tid, {"trial_id": tid, "value": value, "params": dict(self._trials[tid].config)}

    def on_experiment_end(self, trials: list[Any], **info: Any) -> None:
        parent = self._parent().parent
        statuses = [run.status for run in self._runs.values()]
        parent.log_params({"n_trials": len(statuses), "n_failed": statuses.count("failed")})
        best = self._mark()
        if best:
            parent.log_params({"best": best[1]["params"]})
            parent.log_metrics({self.metric: best[1]["value"]})
        parent.end()
