"""Small pieces the workflow helpers share: the scikit-learn gate, JSON-safe params, estimators."""

from __future__ import annotations

import math
import numbers
from typing import Any

from ..errors import MissingExtra
from ..storage.encoding import to_jsonable

_MAX_PARAM_TEXT = 200


def require_sklearn() -> Any:
    """Import scikit-learn or say which extra brings it."""
    try:
        import sklearn
    except ImportError:
        raise MissingExtra("scikit-learn", "sklearn") from None
    return sklearn


def is_estimator(obj: Any) -> bool:
    """Looks like a scikit-learn-style estimator (XGBoost, LightGBM and CatBoost wrappers too)."""
    return not isinstance(obj, type) and callable(getattr(obj, "get_params", None)) and hasattr(obj, "fit")


def is_number(value: Any) -> bool:
    """A real scalar (Python, numpy) that is not a bool."""
    if isinstance(value, bool):
        return False
    if isinstance(value, numbers.Real):
        return True
    return getattr(value, "ndim", None) == 0 and hasattr(value, "item") and isinstance(value.item(), numbers.Real)


def describe(value: Any) -> str:
    """A short text for a value with no JSON form: arrays and frames by shape, the rest by repr."""
    shape = getattr(value, "shape", None)
    if shape is not None and not isinstance(value, type):
        return f"{type(value).__name__}(shape={tuple(shape)})"
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    if is_estimator(value):
        return type(value).__name__
    text = repr(value)
    return text if len(text) <= _MAX_PARAM_TEXT else text[: _MAX_PARAM_TEXT - 3] + "..."


def param_value(value: Any) -> Any:
    """A value fit for params.json: JSON-safe and short, else a description of it."""
    if is_estimator(value) or isinstance(value, type) or callable(value):
        return describe(value)
    if getattr(value, "shape", None) is not None and getattr(value, "ndim", 0) != 0:
        return describe(value)  # data, not a hyperparameter: never dump an array
    try:
        data = to_jsonable(value)
    except TypeError:
        return describe(value)
    if isinstance(data, (list, dict)) and len(repr(data)) > _MAX_PARAM_TEXT:
        return describe(value)
    return data


def estimator_params(model: Any) -> dict[str, Any]:
    """`get_params()` of an estimator, each value made JSON-safe (nested estimators by class name)."""
    try:
        raw = model.get_params(deep=True)
    except Exception:  # a half-built wrapper; its class name is still worth having
        return {}
    return {str(key): param_value(value) for key, value in sorted(raw.items())}


def changed_params(model: Any) -> dict[str, Any]:
    """The params an estimator was given that differ from its class defaults (shallow).

    With the class name and the library version (recorded by save_model) this
    pins the model down, without the dozens of defaults that would swamp a
    comparison of different model families.
    """
    import inspect

    try:
        current = model.get_params(deep=False)
        signature = inspect.signature(type(model).__init__)
    except Exception:
        return {}
    out = {}
    for key, value in sorted(current.items()):
        parameter = signature.parameters.get(key)
        default = parameter.default if parameter is not None else inspect.Parameter.empty
        try:
            same = default is value or (type(default) is type(value) and bool(default == value))
        except Exception:  # arrays and other values without a plain truth value
            same = False
        if not same:
            out[key] = param_value(value)
    return out


def model_name(model: Any) -> str:
    cls = model if isinstance(model, type) else type(model)
    return cls.__name__


def as_float(value: Any) -> float:
    out = float(value.item() if hasattr(value, "item") else value)
    return out


def log_fold_scores(exp: Any, key: str, folds: list[float]) -> tuple[float, float]:
    """Per-fold values as `fold/<key>` (step = fold), then `<key>` = mean and `<key>_std` = std.

    The std is the population std over folds, as scikit-learn's cv_results_
    reports it; NaN folds (failed fits) count as missing.
    """
    for index, value in enumerate(folds):
        exp.log_metric(f"fold/{key}", value, step=index)
    good = [v for v in folds if not math.isnan(v)]
    mean = sum(good) / len(good) if good else math.nan
    std = math.sqrt(sum((v - mean) ** 2 for v in good) / len(good)) if good else math.nan
    exp.log_metrics({key: mean, f"{key}_std": std})
    return mean, std
