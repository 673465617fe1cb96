"""CatBoost: `model.fit(..., callbacks=[cb])` then `cb.finish(model)`.

CatBoost's callbacks are objects with `after_iteration(info)` (it has no base class and no end hook,
and `info` does not carry the model, hence `finish`). Logged: per-iteration metrics per eval set
(`learn/<metric>`, `validation/<metric>`), and at `finish` the model's params, best iteration and
score, and the model in CatBoost's own format, which `load_model` returns.
"""

from __future__ import annotations

from typing import Any

from ..tracking.experiment import Experiment
from .framework_runs import end_run, open_run


class SpecweaveCallback:
    """Log a CatBoost training run; `model_file=None` skips saving the model."""

    def __init__(self, name: str = "catboost", increment: str | None = None, *, model_file: str | None = "model.cbm",
                 tags: list[str] | None = None, root: str | None = None, experiment: Experiment | None = None) -> None:
        self.name, self.model_file = name, model_file
        self._options = {"increment": increment, "tags": tags, "root": root}
        self._given = experiment
        self.experiment: Experiment | None = experiment
        self._open = False

    def after_iteration(self, info: Any) -> bool:
        if not self._open:
            self.experiment = open_run(self.name, experiment=self._given, source="catboost", **self._options)
            self._open = True
        values = {f"{data}/{metric}": float(history[-1])
                  for data, metrics in info.metrics.items() for metric, history in metrics.items() if history}
        self.experiment.log_metrics(values, step=info.iteration - 1 if info.iteration > 0 else 0)
        return True  # go on training

    def finish(self, model: Any) -> None:
        """Record `model`'s params, best iteration and score, save it, and end the run."""
        if not self._open:
            self.experiment = open_run(self.name, experiment=self._given, source="catboost", **self._options)
        self._open = False
        exp = self.experiment
        exp.log_params({k: v for k, v in model.get_params().items() if k != "callbacks"})
        iteration, scores = model.get_best_iteration(), model.get_best_score()
        if iteration is not None:
            best = {"iteration": int(iteration), "scores": scores}
            exp.set_fields(best=best)
            exp.log_metrics({"best_iteration": int(iteration)})
        if self.model_file:
            exp.save_model(model, self.model_file)
        if self._given is None:
            end_run(exp)
