"""Cross-validation as one experiment: each fold a step, mean and std as the summary.

Metrics (the names every helper shares): `fold/score` per fold (step = fold
index), `score` = mean, `score_std` = std over folds, `fold/fit_time` and
`fold/score_time` per fold, `fit_time` = mean, `fold/train_size` and
`fold/test_size`. With several scorers each also appears under its own name
(`fold/f1`, `f1`, `f1_std`) and `score` is the first. `folds.json` keeps the
fold sizes and, for classification, each fold's class distribution; a note
repeats the class balance so readers that never open artifacts see it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import InvalidInput
from ..tracking.track import track_experiment
from .common import estimator_params, is_estimator, log_fold_scores, model_name, param_value, require_sklearn

FOLDS_FILE = "folds.json"
_NOTE_LIMIT = 12  # folds x classes beyond which the note only points to folds.json


@dataclass
class CrossValidationResult:
    """What `track_cross_validation` returns."""

    experiment: str  # the experiment's readable id
    scores: list[float]  # the primary scorer, one per fold
    mean: float
    std: float
    scoring: str
    task: str  # "classification" or "regression"
    fold_sizes: list[dict[str, int]] = field(default_factory=list)  # {"train": n, "test": n} per fold
    class_distribution: list[dict[str, int]] | None = None  # test-fold label counts, classification only
    fit_times: list[float] = field(default_factory=list)
    all_scores: dict[str, list[float]] = field(default_factory=dict)  # every scorer, per fold
    estimators: list[Any] | None = None  # fitted per-fold models when return_estimator=True

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("estimators")
        return data


def _task(model: Any, y: Any) -> str:
    from sklearn.base import is_classifier, is_regressor
    from sklearn.utils.multiclass import type_of_target

    if is_classifier(model):
        return "classification"
    if is_regressor(model):
        return "regression"
    return "classification" if type_of_target(y) in ("binary", "multiclass") else "regression"


def _counts(labels: Any) -> dict[str, int]:
    import numpy as np

    values, counts = np.unique(labels, return_counts=True)
    return {str(param_value(v)): int(c) for v, c in zip(values, counts)}


def track_cross_validation(
    model: Any,
    X: Any,
    y: Any,
    cv: Any = 5,
    increment: str | None = None,
    scoring: Any = None,
    *,
    name: str | None = None,
    groups: Any = None,
    n_jobs: int | None = 1,
    root: Any = None,
    return_estimator: bool = False,
    system_metrics: bool | float | None = None,
) -> CrossValidationResult:
    """Cross-validate `model` and track each fold; returns a CrossValidationResult.

    `cv` and `scoring` are scikit-learn's (an int is stratified for a
    classifier, as in `cross_validate`); a list or dict of scorers logs each.
    """
    require_sklearn()
    import numpy as np
    from sklearn.model_selection import check_cv, cross_validate

    if not is_estimator(model):
        raise InvalidInput("model", type(model).__name__, "an estimator instance with fit() and get_params()")
    task = _task(model, y)
    try:
        splitter = check_cv(cv, y, classifier=task == "classification")
        splits = list(splitter.split(X, y, groups))
    except (TypeError, ValueError) as exc:
        raise InvalidInput("cv", cv, f"a number of folds >= 2 or a scikit-learn splitter ({exc})") from None
    labels = np.asarray(y)
    title = name or f"{model_name(model).lower()}-cv"
    with track_experiment(title, increment, root=root, tags=["cross-validation"], system_metrics=system_metrics,
                          description=f"{len(splits)}-fold cross-validation of {model_name(model)}") as exp:
        exp.log_params(estimator_params(model))
        exp.log_params({"model": model_name(model), "cv": type(splitter).__name__, "n_splits": len(splits),
                        "scoring": param_value(scoring), "n_samples": len(labels), "task": task})
        out = cross_validate(model, X, y, cv=splits, scoring=scoring, n_jobs=n_jobs, error_score="raise",
                             return_estimator=return_estimator, groups=groups)
        names = [k[len("test_"):] for k in out if k.startswith("test_")]
        if names != ["score"] and isinstance(scoring, (list, tuple, dict)):
            names = [n for n in scoring if n in names]  # the caller's order: the first is `score`
        all_scores = {n: [float(v) for v in out[f"test_{n}"]] for n in names}
        if names != ["score"]:
            for scorer in names:
                log_fold_scores(exp, scorer, all_scores[scorer])
        mean, std = log_fold_scores(exp, "score", all_scores[names[0]])
        fit_times = [float(v) for v in out["fit_time"]]
        sizes, classes = [], [] if task == "classification" else None
        for index, (train, test) in enumerate(splits):
            sizes.append({"train": len(train), "test": len(test)})
            exp.log_metrics({"fold/fit_time": fit_times[index], "fold/score_time": float(out["score_time"][index]),
                             "fold/train_size": len(train), "fold/test_size": len(test)}, step=index)
            if classes is not None:
                classes.append(_counts(labels[test]))
        exp.log_metric("fit_time", sum(fit_times) / len(fit_times))
        folds = [{"fold": i, **sizes[i], "score": all_scores[names[0]][i],
                  **({"class_distribution": classes[i]} if classes is not None else {})} for i in range(len(splits))]
        record = {"task": task, "splitter": type(splitter).__name__, "folds": folds}
        if classes is not None:
            record["class_distribution"] = _counts(labels)
        exp.save_artifact(FOLDS_FILE, record)
        if classes is not None:
            if len(classes) * len(record["class_distribution"]) <= _NOTE_LIMIT * 3:
                shown = "; ".join(f"fold {i}: {c}" for i, c in enumerate(classes))
                exp.log_note(f"test-fold class distribution: {shown}")
            else:
                exp.log_note(f"test-fold class distributions: see {FOLDS_FILE}")
    return CrossValidationResult(
        experiment=exp.id, scores=all_scores[names[0]], mean=mean, std=std,
        scoring=names[0] if names != ["score"] else str(param_value(scoring) or "default"), task=task,
        fold_sizes=sizes, class_distribution=classes, fit_times=fit_times, all_scores=all_scores,
        estimators=list(out["estimator"]) if return_estimator else None,
    )
