"""XGBoost: `xgb.train(..., callbacks=[SpecweaveCallback()])` (or the scikit-learn API's `callbacks=`).

Per-iteration metrics per eval set (`<set>/<metric>` at the boosting round), the best iteration and
score, and the booster in XGBoost's own JSON format, which `load_model` returns as a Booster.
"""

from __future__ import annotations

import json
from typing import Any

from xgboost.callback import TrainingCallback

from ..tracking.experiment import Experiment
from .framework_runs import best_of, end_run, higher_is_better, open_run


class SpecweaveCallback(TrainingCallback):
    """Log an XGBoost training run; `model_file=None` skips saving the booster."""

    def __init__(self, name: str = "xgboost", increment: str | None = None, *, params: dict[str, Any] | None = None,
                 model_file: str | None = "model.json", tags: list[str] | None = None, root: str | None = None,
                 experiment: Experiment | None = None) -> None:
        super().__init__()
        self.name, self.params, self.model_file = name, params, model_file
        self._options = {"increment": increment, "tags": tags, "root": root}
        self._given = experiment
        self.experiment: Experiment | None = experiment
        self._history: dict[str, list[float]] = {}

    def before_training(self, model: Any) -> Any:
        self.experiment = open_run(self.name, experiment=self._given, source="xgboost", **self._options)
        self._history = {}
        params = self.params
        if params is None and hasattr(model, "save_config"):  # the learner's own settings
            learner = json.loads(model.save_config()).get("learner", {})
            params = {**learner.get("learner_train_param", {}),
                      **learner.get("gradient_booster", {}).get("tree_train_param", {})}
        if params:
            self.experiment.log_params(dict(params))
        return model

    def after_iteration(self, model: Any, epoch: int, evals_log: dict[str, dict[str, list[Any]]]) -> bool:
        values = {}
        for data, metrics in evals_log.items():
            for metric, history in metrics.items():
                last = history[-1]
                value = float(last[0] if isinstance(last, tuple) else last)  # xgb.cv reports (mean, std)
                values[f"{data}/{metric}"] = value
                self._history.setdefault(f"{data}/{metric}", []).append(value)
        self.experiment.log_metrics(values, step=epoch)
        return False

    def after_training(self, model: Any) -> Any:
        exp = self.experiment
        best: dict[str, Any] = {}
        if self._history:  # XGBoost judges by the last metric of the last eval set, and so does this
            key = list(self._history)[-1]
            found = best_of(self._history[key], higher_is_better(key.rsplit("/", 1)[-1]))
            if found is not None:
                best = {"metric": key, "iteration": found[0], "score": found[1]}
        attr = getattr(model, "attr", None)
        if callable(attr) and attr("best_iteration") is not None:  # early stopping's own answer wins
            best.update(iteration=int(attr("best_iteration")), score=float(attr("best_score")))
        if best:
            exp.set_fields(best=best)
            exp.log_metrics({"best_iteration": best["iteration"], "best_score": best["score"]})
        if self.model_file and hasattr(model, "save_model"):
            exp.save_model(model, self.model_file)
        if self._given is None:
            end_run(exp)
        return model
