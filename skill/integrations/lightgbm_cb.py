"""LightGBM: `lgb.train(..., callbacks=[SpecweaveCallback()])` (or the scikit-learn API's `callbacks=`).

LightGBM's callbacks are plain callables with `order` and `before_iteration` (it has no base class).
Logged: the training params, per-iteration metrics per eval set (`<set>/<metric>`), the best iteration
and score, and the booster as LightGBM's own text model, which `load_model` returns as a Booster.
The run ends after the last round; a run stopped early by `lgb.early_stopping` is ended by
`callback.finish(booster)` with the booster `lgb.train` returned.
"""

from __future__ import annotations

from typing import Any

from ..tracking.experiment import Experiment
from .framework_runs import best_of, end_run, open_run


class SpecweaveCallback:
    """Log a LightGBM training run; `model_file=None` skips saving the booster."""

    order = 25  # after LightGBM's own record/log callbacks, before early stopping (30) can end the loop
    before_iteration = False

    def __init__(self, name: str = "lightgbm", increment: str | None = None, *, model_file: str | None = "model.txt",
                 tags: list[str] | None = None, root: str | None = None, experiment: Experiment | None = None) -> None:
        self.name, self.model_file = name, model_file
        self._options = {"increment": increment, "tags": tags, "root": root}
        self._given = experiment
        self.experiment: Experiment | None = experiment
        self._history: dict[str, tuple[list[float], bool]] = {}
        self._open = False

    def __call__(self, env: Any) -> None:
        if not self._open:
            self.experiment = open_run(self.name, experiment=self._given, source="lightgbm", **self._options)
            self.experiment.log_params(dict(env.params))
            self._open, self._history = True, {}
        values = {}
        for item in env.evaluation_result_list or []:
            key = f"{item[0]}/{item[1]}"
            values[key] = float(item[2])
            self._history.setdefault(key, ([], bool(item[3])))[0].append(float(item[2]))
        self.experiment.log_metrics(values, step=env.iteration)
        if env.iteration >= env.end_iteration - 1:
            self.finish(env.model)

    def finish(self, booster: Any = None) -> None:
        """Record the best iteration, save `booster` and end the run (done by itself after the last round)."""
        if not self._open:
            return
        self._open = False
        exp = self.experiment
        if self._history:  # the first metric of the last eval set, as early stopping judges by default
            key = [k for k in self._history if k.split("/", 1)[0] == list(self._history)[-1].split("/", 1)[0]][0]
            history, higher = self._history[key]
            found = best_of(history, higher)
            if found is not None:
                iteration = found[0]
                if booster is not None and getattr(booster, "best_iteration", 0) > 0:
                    iteration = booster.best_iteration - 1  # LightGBM counts rounds from 1
                best = {"metric": key, "iteration": iteration, "score": history[iteration]}
                exp.set_fields(best=best)
                exp.log_metrics({"best_iteration": iteration, "best_score": history[iteration]})
        if self.model_file and hasattr(booster, "save_model") and hasattr(booster, "dump_model"):  # not a CVBooster
            exp.save_model(booster, self.model_file)
        if self._given is None:
            end_run(exp)
