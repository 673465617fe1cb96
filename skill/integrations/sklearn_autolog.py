"""scikit-learn autologging: `autolog()` makes every outermost `fit` a run; `autolog(disable=True)` undoes it.

An estimator: params, `fit_time`, `training_score` and the fitted model (`model.pkl`). A grid or
randomized search: a sweep parent (best params, score, model) and a child per candidate, as
`track_grid_search` writes them. Fits inside a fit are not runs. Nothing is patched before `autolog()`.
"""

from __future__ import annotations

import functools
import threading
import time
from typing import Any

from ..tracking.track import track_experiment
from ..workflows.common import estimator_params, log_fold_scores, model_name, param_value
from ..workflows.sweeps import combination_name, open_sweep, open_trial

_originals: dict[type, Any] = {}
_settings: dict[str, Any] = {}
_inside = threading.local()


def autolog(disable: bool = False, *, increment: str | None = None, log_models: bool = True,
            root: str | None = None) -> None:
    """Autologging on for every scikit-learn estimator (off with `disable=True`)."""
    if disable:
        for cls, original in _originals.items():
            cls.fit = original
        _originals.clear()
        _settings.clear()
        return
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
    from sklearn.utils import all_estimators

    _settings.update(increment=increment, log_models=log_models, root=root)
    for cls in [GridSearchCV, RandomizedSearchCV, *(c for _name, c in all_estimators())]:
        owner = next((k for k in cls.__mro__ if "fit" in k.__dict__), None)
        if owner is not None and owner not in _originals:
            _originals[owner] = owner.__dict__["fit"]
            owner.fit = _wrap(owner.__dict__["fit"])


def _wrap(original: Any) -> Any:
    @functools.wraps(original)
    def fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(_inside, "active", False) or not _settings:
            return original(self, *args, **kwargs)
        _inside.active = True
        try:
            return _logged_fit(original, self, args, kwargs)
        finally:
            _inside.active = False

    return fit


def _logged_fit(original: Any, estimator: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    search = hasattr(estimator, "param_grid") or hasattr(estimator, "param_distributions")
    name = model_name(estimator).lower()
    options = {"root": _settings["root"], "source": "sklearn"}
    opened = open_sweep(name, _settings["increment"], **options) if search else \
        track_experiment(name, _settings["increment"], **options)
    with opened as exp:
        exp.log_params(estimator_params(estimator))
        started = time.perf_counter()
        result = original(estimator, *args, **kwargs)
        exp.log_metric("fit_time", time.perf_counter() - started)
        if search:
            _log_search(exp, estimator, options)
        else:
            X = args[0] if args else kwargs.get("X")
            y = args[1] if len(args) > 1 else kwargs.get("y")
            if y is not None and callable(getattr(estimator, "score", None)):
                try:
                    exp.log_metric("training_score", float(estimator.score(X, y)))
                except Exception:  # a score that needs more than (X, y)
                    pass
        model = getattr(estimator, "best_estimator_", None) if search else estimator
        if _settings["log_models"] and model is not None:
            exp.save_model(model, "model.pkl")
    return result


def _log_search(parent: Any, search: Any, options: dict[str, Any]) -> None:
    results = search.cv_results_
    scorer = search.refit if isinstance(search.refit, str) else "score"
    title = model_name(search.estimator).lower()
    for index, combo in enumerate(results["params"]):
        with open_trial(parent.id, parent.increment, combination_name(title, combo), **options) as child:
            child.log_params({k: param_value(v) for k, v in combo.items()})
            folds = [float(results[f"split{k}_test_{scorer}"][index]) for k in range(search.n_splits_)]
            log_fold_scores(child, "score", folds)
            child.log_metric("fit_time", float(results["mean_fit_time"][index]))
            if index == getattr(search, "best_index_", None):
                child.add_tag("best")
    if getattr(search, "best_params_", None) is not None:
        parent.log_params({"best": {k: param_value(v) for k, v in search.best_params_.items()}})
        parent.log_metric("score", float(search.best_score_))
