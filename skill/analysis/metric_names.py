"""The metric vocabulary: which way a metric's name points, what a table shows by default and in which
order, which names are per-fold values, helpers or time, how a metric is titled, and where the
cross-validation std of a metric is found. No file is read here: every rule is about names and values.
"""

from __future__ import annotations

import math
import re
import statistics
from typing import Any

from ..schemas.records import ExperimentRecord
from ..schemas.reports import Goal

_PREFERRED = ("accuracy", "acc", "balanced_accuracy", "precision", "recall", "f1", "f1_score", "auc", "roc_auc",
              "pr_auc", "r2", "rmse", "mae", "mse", "loss", "val_loss", "logloss", "log_loss")
_MIN_WORDS = {"loss", "logloss", "error", "err", "rmse", "mae", "mse", "mape", "smape", "rmsle", "time", "latency",
              "duration", "perplexity", "wer", "cer", "seconds", "bpc", "nll", "brier", "fpr", "fnr", "eer"}
_MAX_WORDS = {"accuracy", "acc", "auc", "f1", "precision", "recall", "r2", "score", "map", "ndcg", "iou", "dice",
              "bleu", "rouge", "tpr", "tnr", "specificity", "sensitivity", "kappa", "mcc", "reward", "return",
              "top1", "top5", "hit", "hits", "mrr", "jaccard", "auroc", "auprc", "ap"}
_TIME_METRICS = ("training_time", "training_time_s", "train_time", "train_time_s", "fit_time", "fit_time_s",
                 "mean_fit_time")
_FOLD_RE = re.compile(r"^(?:(?P<a>.+?)_fold_?(?P<k1>\d+)|fold_?(?P<k2>\d+)_(?P<b>.+))$")
_ACRONYMS = {"auc": "AUC", "roc": "ROC", "pr": "PR", "rmse": "RMSE", "mae": "MAE", "mse": "MSE", "r2": "R2",
             "f1": "F1", "map": "MAP", "ndcg": "NDCG", "iou": "IoU", "mape": "MAPE", "wer": "WER", "cer": "CER",
             "bleu": "BLEU", "mcc": "MCC", "mrr": "MRR", "cv": "CV", "std": "Std", "nll": "NLL", "lr": "LR"}


def metric_title(name: str) -> str:
    """`f1` -> F1, `val_loss` -> Val Loss, `roc_auc` -> ROC AUC."""
    words = [w for w in re.split(r"[_\-\s.]+", name) if w]
    return " ".join(_ACRONYMS.get(w.lower(), w[:1].upper() + w[1:]) for w in words) or name


def infer_goal(metric: str) -> Goal | None:
    """The direction a metric's name implies, or None when the name says nothing."""
    words = [w for w in re.split(r"[^a-z0-9]+", metric.lower()) if w]
    if words and words[0] == "neg":  # scikit-learn's neg_mean_squared_error etc.: higher is better
        return "max"
    if any(w in _MIN_WORDS for w in words):
        return "min"
    if any(w in _MAX_WORDS for w in words):
        return "max"
    return None


_GROUP_PREFIXES = ("fold/", "system/")  # per-fold points and system metrics: history, not results
# one segment of a per-fold name: fold, folds, fold0, fold_0, fold-0, folds_3, kfold_1, cv_fold_2, split0
_FOLD_SEGMENT_RE = re.compile(r"(?:cv[_-]?|k[_-]?)?(?:folds?(?:[_-]?\d+)?|splits?[_-]?\d+)")
_SPLIT_RE = re.compile(r"split\d+_.+")  # scikit-learn's cv_results_ keys: split0_test_score


def is_per_fold(metric: str) -> bool:
    """A value of one fold, not of the run: `fold/...` (what the cross-validation and sweep helpers log,
    step = fold), `fold_0/...`, `folds/...`, `cv/fold_1/...`, `<m>/fold_1` (any `/` or `.` segment
    that names a fold), `<m>_fold<k>`, `fold<k>_<m>`, and scikit-learn's `split<k>_<m>`."""
    low = metric.lower()
    parts = re.split(r"[/.]", low)
    if len(parts) > 1 and any(_FOLD_SEGMENT_RE.fullmatch(part) for part in parts):
        return True
    return bool(_FOLD_RE.match(low) or _SPLIT_RE.fullmatch(low))


def is_grouped(metric: str) -> bool:
    """History rather than a result: per-fold values (`is_per_fold`) and system metrics (`system/...`)."""
    return metric.lower().startswith(_GROUP_PREFIXES) or is_per_fold(metric)


def is_helper(metric: str) -> bool:
    low = metric.lower()
    return (is_grouped(low) or low.endswith(("_std", "/std")) or low.startswith(("std_", "std/")) or "cv_std" in low
            or low in _TIME_METRICS or infer_goal(low) == "min" and any(w in low for w in ("time", "latency")))


def finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


_CV_MEAN_NAMES = {"score", "mean", "cv", "cv_score", "cv_mean", "mean_score", "cv_mean_score", "mean_cv_score",
                   "mean_test_score", "test_score"}
_FOLD_KEY_RE = re.compile(r"(?:cv[_-]?|k[_-]?)?(?:fold|split)[_-]?\d+")


def cv_std(metrics: dict[str, Any], metric: str) -> float | None:
    """The cross-validation std of `metric` (M) in one experiment's metrics, if it can be known.

    The first of these names that holds a finite number, in this order:

    1. `M_std`, `M/std`, `std_M`, `std/M`, `cv_M_std`, `M_cv_std`
       (so `auc` finds `auc_std`, `auc/std`, `std_auc`, `cv_auc_std`, `auc_cv_std`;
       `cv_auc` finds `cv_auc_std`);
    2. for a mean: `std_X` for `mean_X` (scikit-learn's `mean_test_score` -> `std_test_score`),
       `X_std` for `X_mean`, `X/std` for `X/mean`;
    3. `cv_std`, only when M is the run's cross-validation mean score: M is named like one
       (`score`, `cv_score`, `cv_mean`, `mean_test_score`, `cv_<x>`, ...), or it is the run's only
       metric that is not itself a helper (std, fold, time), so `cv_std` can be the std of nothing else.

    Else it is computed (population std, at least two folds) from per-fold values logged as
    separate metrics: `M_fold<k>`, `M_fold_<k>`, `fold<k>_M`, `fold_<k>/M`, `M/fold_<k>`.
    (`fold/M`, which the cross-validation helper logs with step = fold, keeps only its last fold in
    the summary; that helper logs `M_std` beside it.)
    """
    names = [f"{metric}_std", f"{metric}/std", f"std_{metric}", f"std/{metric}", f"cv_{metric}_std",
             f"{metric}_cv_std"]
    if metric.startswith("mean_"):
        names.append("std_" + metric[5:])
    if metric.endswith("_mean"):
        names.append(metric[:-5] + "_std")
    if metric.endswith("/mean"):
        names.append(metric[:-5] + "/std")
    low = metric.lower()
    others = [k for k in metrics if k != metric and not is_helper(k) and finite(metrics.get(k)) is not None]
    if low in _CV_MEAN_NAMES or low.startswith("cv_") or low.endswith("_cv") or not others:
        names.append("cv_std")
    for name in names:
        value = finite(metrics.get(name))
        if value is not None:
            return value
    folds = []
    for key, value in metrics.items():
        if finite(value) is None:
            continue
        match = _FOLD_RE.match(key)
        if match and (match["a"] or match["b"]) == metric:
            folds.append(float(value))
            continue
        head, slash, tail = key.partition("/")
        if slash and ((_FOLD_KEY_RE.fullmatch(head.lower()) and tail == metric)
                      or (_FOLD_KEY_RE.fullmatch(tail.lower()) and head == metric)):
            folds.append(float(value))
    return statistics.pstdev(folds) if len(folds) >= 2 else None



def metric_order(names: set[str]) -> list[str]:
    rank = {name: i for i, name in enumerate(_PREFERRED)}
    return sorted(names, key=lambda n: (rank.get(n.lower(), len(rank)), n.lower(), n))


def metric_columns(names: set[str] | list[str]) -> list[str]:
    """The metrics a table shows by default, in display order (see the module doc)."""
    return [m for m in metric_order(set(names)) if m not in _TIME_METRICS and not is_grouped(m)]


def training_time(record: ExperimentRecord) -> float | None:
    for name in _TIME_METRICS:
        value = finite(record.metrics.get(name))
        if value is not None:
            return value
    return record.meta.duration_s if record.meta else None



__all__ = ["cv_std", "finite", "infer_goal", "is_grouped", "is_helper", "is_per_fold", "metric_columns",
           "metric_order", "metric_title", "training_time"]
