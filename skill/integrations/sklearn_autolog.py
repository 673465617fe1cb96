"""scikit-learn autologging: `autolog()` makes every outermost `fit` a run; `autolog(disable=True)` undoes it.

An estimator: params, `fit_time`, `training_score` and the fitted model (`model.pkl`). A grid or
randomized search: a sweep parent (best params, score, model) and a child per candidate, as
`track_grid_search` writes them. Fits inside a fit are not runs, nor are the folds of scikit-learn's
cross-validation helpers (FOLD_HELPERS). Nothing is patched before `autolog()`.
"""

from __future__ import annotations

import functools
import inspect
import threading
import time
from typing import Any

from ..tracking.track import track_experiment
from ..workflows.common import estimator_params, model_name
from ..workflows.sweeps import log_search_results, open_sweep

_originals: dict[type, Any] = {}
_settings: dict[str, Any] = {}
_inside = threading.local()
# They fit a clone per fold (MLflow leaves them out too); known by their code on the stack, however imported.
FOLD_HELPERS = ("cross_validate", "cross_val_score", "cross_val_predict", "learning_curve", "validation_curve",
                "permutation_test_score")
_folds: set[Any] = set()


def autolog(disable: bool = False, *, increment: str | None = None, log_models: bool = True,
            root: str | None = None) -> None:
    """Autologging on for every scikit-learn estimator (off with `disable=True`)."""
    for cls, original in _originals.items():
        cls.fit = original
    _originals.clear()
    _settings.clear()
    _folds.clear()
    if disable:
        return
    from sklearn import model_selection as ms
    from sklearn.utils import all_estimators

    _settings.update(increment=increment, log_models=log_models, root=root)
    _folds.update(inspect.unwrap(getattr(ms, name)).__code__ for name in FOLD_HELPERS)
    for cls in [ms.GridSearchCV, ms.RandomizedSearchCV, *(c for _name, c in all_estimators())]:
        owner = next((k for k in cls.__mro__ if "fit" in k.__dict__), None)
        if owner is not None and owner not in _originals:
            _originals[owner] = owner.__dict__["fit"]
            owner.fit = _wrap(owner.__dict__["fit"])


def _in_folds() -> bool:
    frame = inspect.currentframe()
    while frame is not None and frame.f_code not in _folds:
        frame = frame.f_back
    return frame is not None


def _wrap(original: Any) -> Any:
    @functools.wraps(original)
    def fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(_inside, "active", False) or not _settings or _in_folds():
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
            log_search_results(exp, estimator, estimator.estimator, model_name(estimator.estimator).lower(), False,
                               **options)
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

