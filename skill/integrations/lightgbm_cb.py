"""LightGBM: `lgb.train(..., callbacks=[SpecweaveCallback()])` (or the scikit-learn API's `callbacks=`).

Logs params, `<set>/<metric>` per round, the best iteration and score, and the booster at its best iteration
(`model.txt`). Early stopping ends LightGBM's loop unseen, so the run ends at the first of: the last round;
the callback let go (see framework_runs.EndsWhenLetGo); `with SpecweaveCallback() as cb:`; a new training.
"""

from __future__ import annotations

from typing import Any

from lightgbm import Booster

from ..tracking.experiment import Experiment
from .framework_runs import EndsWhenLetGo, Training, best_of


class LightGBMTraining(Training):
    """What one callback logged, and the booster to save at the end."""

    history: dict[str, tuple[list[float], bool]]
    booster: Any = None
    saved: Any = None  # the booster's best_iteration when saved
    ended_round = False

    def record(self, env: Any) -> None:
        if self.open and env.iteration == env.begin_iteration:
            self.end()  # the same callback in a new training
        if not self.open:
            self.start().log_params(dict(env.params))
            self.ended_round, self.history, self.saved = False, {}, None
        self.booster, values = env.model, {}
        for item in env.evaluation_result_list or []:
            key = f"{item[0]}/{item[1]}"
            values[key] = float(item[2])
            self.history.setdefault(key, ([], bool(item[3])))[0].append(float(item[2]))
        self.experiment.log_metrics(values, step=env.iteration)  # type: ignore[union-attr]
        if env.iteration >= env.end_iteration - 1:
            self.ended_round = True
            self.end()

    def end(self, model: Any = None, failed: bool = False) -> None:
        booster = self.booster if model is None else model
        if not self.open:  # ended already: a booster whose best iteration changed since is recorded again
            if booster is not None and self.saved is not None and booster.best_iteration != self.saved:
                self.save(booster, ended=True)
            return
        if failed or not (self.ended_round or getattr(booster, "best_iteration", 0) > 0):  # early stopping's mark
            if not failed:  # let go after an exception that is no longer at hand
                self.experiment.log_note("LightGBM stopped before its last round, not by early stopping")
            return self.close("failed")
        self.save(booster)
        self.close()

    def save(self, booster: Any, ended: bool = False) -> None:
        exp = self.experiment
        if self.history:  # the first metric of the last eval set, as early stopping judges by default
            key = next(k for k in self.history if k.split("/", 1)[0] == list(self.history)[-1].split("/", 1)[0])
            history, higher = self.history[key]
            iteration = best_of(history, higher)[0]  # type: ignore[index]
            if getattr(booster, "best_iteration", 0) > 0:
                iteration = booster.best_iteration - 1  # LightGBM counts rounds from 1
            exp.set_fields(best={"metric": key, "iteration": iteration, "score": history[iteration]})
            if not ended:  # points go in before the run's log is settled
                exp.log_metrics({"best_iteration": iteration, "best_score": history[iteration]})
        if self.model_file and isinstance(booster, Booster):  # not lgb.cv's CVBooster
            exp.save_model(booster, self.model_file)  # save_model keeps the trees up to best_iteration
        self.saved = getattr(booster, "best_iteration", None)


class SpecweaveCallback(EndsWhenLetGo):
    """Log a LightGBM training run; `model_file=None` skips saving the booster."""

    before_iteration = False

    def __init__(self, name: str = "lightgbm", increment: str | None = None, *, model_file: str | None = "model.txt",
                 tags: list[str] | None = None, root: str | None = None, experiment: Experiment | None = None) -> None:
        self.order = 25  # on the object: lgb.train gives one without its own `order` its place in the list
        options = {"increment": increment, "tags": tags, "root": root}
        super().__init__(LightGBMTraining(name, "lightgbm", model_file, options, experiment))

    def __call__(self, env: Any) -> None:
        self.training.record(env)
