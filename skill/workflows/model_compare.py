"""`compare_models`: train several models on the same split, score them alike, compare them.

Each model becomes an experiment named by its key (`exp-002-xgboost`) with its
class, the params it was given that differ from the class defaults (all the
defaults of several model families would swamp the table), the task, the
averaging used, the metrics below, the fitted model (`model.pkl`) and the tag
`model-comparison`; then the increment's
`comparison.md` is written by `compare_experiments` over exactly these
experiments, in the seed's table shape.

Metrics
- classification: `accuracy`, `precision`, `recall`, `f1`, and `roc_auc`
  where the model has `predict_proba`. Binary targets use the positive class
  (the larger label, e.g. 1 or True); multiclass targets use `weighted`
  averaging (each class weighted by its support, so the numbers stay
  comparable with accuracy on imbalanced data) and one-vs-rest ROC AUC with
  the same averaging. `average="macro"` (or "micro") overrides it; the choice
  is logged as the param `average`.
- regression: `rmse`, `mae`, `r2`.
- both: `training_time` (seconds in `fit`) and `inference_time` (seconds in
  `predict` over the test set).
The primary metric is `accuracy` (classification) or `rmse` (regression)
unless `primary_metric` says otherwise.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidInput
from ..storage.paths import find_root
from ..tracking.experiment import Experiment
from ..tracking.track import track_experiment
from .common import changed_params, is_estimator, model_name, param_value, require_sklearn
from .progress import progress

COMPARE_TAG = "model-comparison"
_AVERAGES = ("binary", "weighted", "macro", "micro")


@dataclass
class ModelComparison:
    """What `compare_models` returns: the comparison, the fitted models and their experiments."""

    comparison: Any  # skill.analysis.compare.Comparison: .markdown, .dataframe, .best (an experiment id), .rows
    models: dict[str, Any]  # name -> the fitted model (the objects passed in, fitted in place)
    experiments: dict[str, str]  # name -> experiment id
    metrics: dict[str, dict[str, float]]  # name -> the metrics logged
    task: str  # "classification" or "regression"
    average: str | None  # averaging of precision/recall/F1/ROC AUC; None for regression
    primary_metric: str
    failed: dict[str, str] = field(default_factory=dict)  # name -> error, for models whose fit or scoring raised

    @property
    def markdown(self) -> str:
        return self.comparison.markdown

    @property
    def dataframe(self) -> Any:
        return self.comparison.dataframe

    @property
    def best(self) -> str | None:
        """The name (key) of the best model, by the comparison's choice."""
        for name, exp_id in self.experiments.items():
            if exp_id == self.comparison.best:
                return name
        return None

    @property
    def best_model(self) -> Any:
        best = self.best
        return self.models[best] if best is not None else None

    @property
    def report_path(self) -> Any:
        return self.comparison.report_path

    def __str__(self) -> str:
        return self.markdown


def _named(models: Any) -> dict[str, Any]:
    if isinstance(models, dict):
        named = {str(k): v for k, v in models.items()}
    elif isinstance(models, (list, tuple)):
        named = {}
        for model in models:
            base = model_name(model).lower()
            key, n = base, 2
            while key in named:
                key, n = f"{base}-{n}", n + 1
            named[key] = model
    else:
        raise InvalidInput("models", type(models).__name__, "a dict of name -> estimator (or a list of estimators)")
    if not named:
        raise InvalidInput("models", models, "at least one model")
    for key, model in named.items():
        if not key.strip():
            raise InvalidInput("model name", key, "a non-empty name such as 'xgboost'")
        if not (hasattr(model, "fit") and hasattr(model, "predict")) or isinstance(model, type):
            raise InvalidInput(f"model {key!r}", type(model).__name__, "an estimator instance with fit() and predict()")
    return named


def _task(models: dict[str, Any], y: Any) -> str:
    from sklearn.base import is_classifier, is_regressor
    from sklearn.utils.multiclass import type_of_target

    kinds = set()
    for model in models.values():
        if is_classifier(model):
            kinds.add("classification")
        elif is_regressor(model):
            kinds.add("regression")
    if len(kinds) > 1:
        raise InvalidInput("models", sorted(models), "all classifiers or all regressors, not a mix")
    if kinds:
        return kinds.pop()
    return "classification" if type_of_target(y) in ("binary", "multiclass") else "regression"


def _classification(model: Any, X_test: Any, y_test: Any, predicted: Any, average: str, pos_label: Any,
                    exp: Experiment) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support, roc_auc_score

    kwargs = {"pos_label": pos_label} if average == "binary" else {}
    precision, recall, f1, _ = precision_recall_fscore_support(y_test, predicted, average=average, zero_division=0,
                                                               **kwargs)
    out = {"accuracy": float(accuracy_score(y_test, predicted)), "precision": float(precision),
           "recall": float(recall), "f1": float(f1)}
    if hasattr(model, "predict_proba"):
        try:
            proba = model.predict_proba(X_test)
            classes = list(getattr(model, "classes_", []))
            if average == "binary":
                column = classes.index(pos_label) if pos_label in classes else proba.shape[1] - 1
                out["roc_auc"] = float(roc_auc_score(y_test, proba[:, column]))
            else:
                auc_average = "macro" if average == "micro" else average
                out["roc_auc"] = float(roc_auc_score(y_test, proba, multi_class="ovr", average=auc_average,
                                                     labels=classes or None))
        except Exception as exc:  # no probabilities after all, or a class absent from the test set
            exp.log_note(f"ROC AUC not computed: {type(exc).__name__}: {exc}")
    return out


def _regression(y_test: Any, predicted: Any) -> dict[str, float]:
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    return {"rmse": math.sqrt(float(mean_squared_error(y_test, predicted))),
            "mae": float(mean_absolute_error(y_test, predicted)), "r2": float(r2_score(y_test, predicted))}


def compare_models(
    models: dict[str, Any] | list[Any],
    X_train: Any,
    y_train: Any,
    X_test: Any,
    y_test: Any,
    increment: str | None = None,
    *,
    root: Any = None,
    average: str | None = None,
    primary_metric: str | None = None,
    save_models: bool = True,
    write_report: bool = True,
    show_progress: bool | None = None,
    system_metrics: bool | float | None = None,
) -> ModelComparison:
    """Fit each model on the training data, score it on the test data, log it, compare them all.

    Models are fitted in place (the objects passed in come back fitted in
    `result.models`). A model whose fit or scoring raises is recorded as a
    failed experiment, listed in `result.failed`, and the others go on.
    """
    require_sklearn()
    import numpy as np

    from ..project import Project

    named = _named(models)
    task = _task(named, y_train)
    if average is not None and (task != "classification" or average not in _AVERAGES):
        raise InvalidInput("average", average, f"one of {', '.join(_AVERAGES)}, for classifiers only")
    pos_label = None
    if task == "classification":
        labels = np.unique(np.concatenate([np.asarray(y_train).ravel(), np.asarray(y_test).ravel()]))
        if average is None:
            average = "binary" if len(labels) == 2 else "weighted"
        if average == "binary":
            if len(labels) > 2:
                raise InvalidInput("average", average, "weighted, macro or micro for a multiclass target")
            pos_label = labels[-1].item() if hasattr(labels[-1], "item") else labels[-1]
    primary = primary_metric or ("accuracy" if task == "classification" else "rmse")
    project = find_root(root)
    experiments: dict[str, str] = {}
    scores: dict[str, dict[str, float]] = {}
    failed: dict[str, str] = {}
    for name, model in progress(list(named.items()), len(named), "compare_models", show_progress):
        with track_experiment(name, increment, root=project, tags=[COMPARE_TAG], system_metrics=system_metrics,
                              description=f"{model_name(model)} in a model comparison ({task})") as exp:
            experiments[name] = exp.id
            increment_id = exp.increment  # the comparison reads the increment the runs went to
            if is_estimator(model):
                exp.log_params(changed_params(model))  # only what was set: defaults would swamp the table
            exp.log_params({"model": model_name(model), "task": task, "average": average,
                            "pos_label": param_value(pos_label), "n_train": len(y_train), "n_test": len(y_test)})
            try:
                started = time.perf_counter()
                model.fit(X_train, y_train)
                training_time = time.perf_counter() - started
                started = time.perf_counter()
                predicted = model.predict(X_test)
                inference_time = time.perf_counter() - started
                if task == "classification":
                    values = _classification(model, X_test, y_test, predicted, average or "weighted", pos_label, exp)
                else:
                    values = _regression(y_test, predicted)
                values.update(training_time=training_time, inference_time=inference_time)
                exp.log_metrics(values)
                scores[name] = values
            except Exception as exc:  # one model that will not train is a finding, not the end of the comparison
                failed[name] = f"{type(exc).__name__}: {exc}"
                exp.end("failed", note=f"FAILED: {failed[name]}")
                continue
            if save_models:
                exp.save_model(model, "model.pkl")
    columns = (["accuracy", "precision", "recall", "f1", "roc_auc"] if task == "classification"
               else ["rmse", "mae", "r2"]) + ["inference_time"]
    present = {key for values in scores.values() for key in values}
    columns = [c for c in columns if c in present]
    comparison = Project(project).compare(
        increment_id, list(experiments.values()), metrics=columns or None,
        primary_metric=primary if primary in present else None, write_report=write_report,
    )
    return ModelComparison(comparison=comparison, models=named, experiments=experiments, metrics=scores, task=task,
                           average=average if task == "classification" else None, primary_metric=primary,
                           failed=failed)

