"""AutoTracker: one experiment per call of a decorated training function.

    tracker = AutoTracker(increment="0042")

    @tracker.track(name="xgboost-auto")
    def train_model():
        model = XGBClassifier(**params).fit(X_train, y_train)
        return model, model.score(X_test, y_test)

Each call opens an experiment (the core captures the environment and the git
commit) and records:
- the call's arguments as params (JSON-safe values as they are; arrays and
  frames by shape, other objects by a short repr; an estimator argument as its
  class name plus `<arg>.<param>` for each of its `get_params()`);
- from the return value: a model (anything with `fit` and `get_params`, or
  `fit` and `predict`) has its `get_params()` logged as params and is saved
  with `save_model`; the first number is the metric `score`, further numbers
  `output_<position>`; a dict of numbers becomes one metric per key. The
  seed's `(model, score)` tuple, a bare float, a dict or a bare model all work.
A raised exception marks the experiment failed with the traceback in its notes
and propagates unchanged. The function's return value is never altered.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from ..errors import InvalidInput
from ..tracking.experiment import Experiment
from ..tracking.track import track_experiment
from .common import as_float, estimator_params, is_estimator, is_number, param_value

F = TypeVar("F", bound=Callable[..., Any])


def _is_model(obj: Any) -> bool:
    return is_estimator(obj) or (not isinstance(obj, type) and hasattr(obj, "fit") and hasattr(obj, "predict"))


class AutoTracker:
    """Decorates training functions so that every call is a tracked experiment.

    `increment` is "0042", a full id, or None for the active increment.
    `save_models=False` keeps returned models out of the store;
    `system_metrics` is passed to each experiment (see track_experiment).
    `experiments` lists the ids written so far by this tracker, newest last.
    """

    def __init__(
        self,
        increment: str | None = None,
        *,
        root: Any = None,
        tags: list[str] | None = None,
        save_models: bool = True,
        model_filename: str = "model.pkl",
        system_metrics: bool | float | None = None,
    ):
        self.increment = increment
        self.root = root
        self.tags = list(tags or [])
        self.save_models = save_models
        self.model_filename = model_filename
        self.system_metrics = system_metrics
        self.experiments: list[str] = []

    def track(
        self,
        fn: Callable[..., Any] | str | None = None,
        *,
        name: str | None = None,
        tags: list[str] | None = None,
        description: str | None = None,
        log_args: bool = True,
        save_model: bool | None = None,
    ) -> Any:
        """Decorator: `@tracker.track`, `@tracker.track(name="xgboost-auto")` or `@tracker.track("name")`."""
        if isinstance(fn, str):
            name, fn = fn, None
        settings = {"name": name, "tags": tags, "description": description, "log_args": log_args,
                    "save_model": self.save_models if save_model is None else save_model}
        if fn is None:
            return lambda func: self._wrap(func, **settings)
        if not callable(fn):
            raise InvalidInput("function to track", type(fn).__name__, "a function, or a name string")
        return self._wrap(fn, **settings)

    # -- one call = one experiment ------------------------------------------------------------
    def _open(self, fn: Callable[..., Any], name: str | None, tags: list[str] | None,
              description: str | None) -> Experiment:
        summary = description
        if summary is None:
            doc = inspect.getdoc(fn) or ""
            summary = doc.splitlines()[0] if doc else f"auto-tracked call of {fn.__qualname__}()"
        exp = track_experiment(name or fn.__name__, self.increment, root=self.root, description=summary,
                               tags=[*self.tags, *(tags or [])], system_metrics=self.system_metrics)
        self.experiments.append(exp.id)
        return exp

    def _wrap(self, fn: F, *, name: str | None, tags: list[str] | None, description: str | None,
              log_args: bool, save_model: bool) -> F:
        signature = _signature(fn)

        def before(exp: Experiment, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
            if log_args and signature is not None:
                exp.log_params(call_params(signature, args, kwargs))

        if inspect.iscoroutinefunction(fn):
            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with self._open(fn, name, tags, description) as exp:
                    before(exp, args, kwargs)
                    result = await fn(*args, **kwargs)
                    record_result(exp, result, save_model=save_model, filename=self.model_filename)
                return result

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self._open(fn, name, tags, description) as exp:
                before(exp, args, kwargs)
                result = fn(*args, **kwargs)
                record_result(exp, result, save_model=save_model, filename=self.model_filename)
            return result

        return wrapper  # type: ignore[return-value]


def _signature(fn: Callable[..., Any]) -> inspect.Signature | None:
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):  # some builtins have none; their arguments are simply not logged
        return None


def call_params(signature: inspect.Signature, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The bound arguments of one call, as params (defaults included, `self`/`cls` left out)."""
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError:
        return {}  # the call itself will raise the real error
    bound.apply_defaults()
    out: dict[str, Any] = {}
    for key, value in bound.arguments.items():
        kind = signature.parameters[key].kind
        if key in ("self", "cls") and kind is inspect.Parameter.POSITIONAL_OR_KEYWORD:
            continue
        if kind is inspect.Parameter.VAR_KEYWORD:
            for inner, inner_value in value.items():
                _argument(out, inner, inner_value)
        elif kind is inspect.Parameter.VAR_POSITIONAL:
            for index, inner_value in enumerate(value):
                _argument(out, f"{key}[{index}]", inner_value)
        else:
            _argument(out, key, value)
    return out


def _argument(out: dict[str, Any], key: str, value: Any) -> None:
    out[key] = param_value(value)
    if is_estimator(value):
        for inner, inner_value in estimator_params(value).items():
            out[f"{key}.{inner}"] = inner_value


def record_result(exp: Experiment, result: Any, *, save_model: bool = True, filename: str = "model.pkl") -> None:
    """Metrics, params and the model found in a training function's return value."""
    items = list(result) if isinstance(result, tuple) else [result]
    metrics: dict[str, float] = {}
    model = None
    for position, item in enumerate(items):
        if is_number(item):
            key = "score" if "score" not in metrics else f"output_{position}"
            metrics[key] = as_float(item)
        elif isinstance(item, dict):
            metrics.update({str(k): as_float(v) for k, v in item.items() if is_number(v)})
        elif model is None and _is_model(item):
            model = item
    if model is not None:
        exp.log_param("model", type(model).__name__)
        if is_estimator(model):
            exp.log_params(estimator_params(model))
        if save_model:
            try:
                exp.save_model(model, filename)
            except Exception as exc:  # an unpicklable model must not turn a good run into a failed one
                exp.log_note(f"model not saved: {type(exc).__name__}: {exc}")
    if metrics:
        exp.log_metrics(metrics)
