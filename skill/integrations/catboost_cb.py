"""CatBoost: `model.fit(..., callbacks=[SpecweaveCallback(model=model)])`.

CatBoost's callbacks are objects with `after_iteration(info)`; it has no end hook and `info` has no model.
Logged: `learn/<metric>`, `validation/<metric>` per iteration, the best iteration (the model's own, else the
eval metric's best on the last eval set, as CatBoost judges), and, given the model (`model=` or
`finish(model)`), its params and the model in CatBoost's format (`model.cbm`). The run ends at the first of:
`finish()`, `with SpecweaveCallback(model=model) as cb:`, the callback let go (see
framework_runs.EndsWhenLetGo: CatBoost keeps no reference after `fit`), a new training.
"""

from __future__ import annotations

from typing import Any

from ..tracking.experiment import Experiment
from .framework_runs import EndsWhenLetGo, Training, best_of, higher_is_better


class CatBoostTraining(Training):
    """What one callback logged, and the model to save at the end."""

    model: Any = None
    history: dict[str, list[float]]

    def record(self, info: Any) -> None:
        if self.open and info.iteration <= 1:
            self.end(fitting=True)  # the same callback in a new fit: the model is no longer that run's
        if not self.open:
            self.history = {}
            if self.model is not None:
                self.start().log_params({k: v for k, v in self.model.get_params().items() if k != "callbacks"})
        values = {}
        for data, metrics in info.metrics.items():
            for metric, history in metrics.items():
                if history:
                    values[f"{data}/{metric}"] = float(history[-1])
                    self.history.setdefault(f"{data}/{metric}", []).append(float(history[-1]))
        self.start().log_metrics(values, step=max(info.iteration - 1, 0))

    def end(self, model: Any = None, failed: bool = False, fitting: bool = False) -> None:
        if not self.open:
            return
        exp, model = self.start(), self.model if model is None or fitting else model
        fitted = model is not None and not fitting and model.is_fitted()
        if model is not None and not fitting and not fitted and not failed:  # its fit raised
            failed = True
            exp.log_note("CatBoost's fit ended without a fitted model")
        if fitted:
            exp.log_params({k: v for k, v in model.get_params().items() if k != "callbacks"})
        best = None
        if fitted and model.get_best_iteration() is not None:
            best = {"iteration": int(model.get_best_iteration()), "scores": model.get_best_score()}
        elif self.history and list(self.history)[-1].startswith("validation"):
            key = list(self.history)[-1]  # the last eval set's last metric: CatBoost's eval metric
            found = best_of(self.history[key], higher_is_better(key.rsplit("/", 1)[-1]))
            best = {"metric": key, "iteration": found[0], "score": found[1]}  # type: ignore[index]
        if best is not None and not failed:
            exp.set_fields(best=best)
            exp.log_metrics({"best_iteration": best["iteration"]})
        if fitted and self.model_file and not failed:
            exp.save_model(model, self.model_file)
        self.close("failed" if failed else "completed")


class SpecweaveCallback(EndsWhenLetGo):
    """Log a CatBoost training run; `model=`: the model being fit (for its params and file); `model_file=None`
    skips saving it."""

    def __init__(self, name: str = "catboost", increment: str | None = None, *, model: Any = None,
                 model_file: str | None = "model.cbm", tags: list[str] | None = None, root: str | None = None,
                 experiment: Experiment | None = None) -> None:
        options = {"increment": increment, "tags": tags, "root": root}
        super().__init__(CatBoostTraining(name, "catboost", model_file, options, experiment))
        self.training.model = model

    def after_iteration(self, info: Any) -> bool:
        self.training.record(info)
        return True  # go on training
