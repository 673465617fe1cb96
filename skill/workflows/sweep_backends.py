"""Where a sweep's combinations run: the local loop, an Optuna study, or Ray Tune.

`track_hyperparameters(..., backend="optuna")` hands the combinations to an Optuna study (a
`GridSampler` over the combination index, so every combination runs exactly once; `n_jobs` threads,
and an RDB `storage` keeps the study beside the runs); `backend="ray"` hands them to Ray Tune (one
trial per combination, `n_jobs` at once, on the Ray cluster `ray.init` connects to, a local one when
none is running). Each combination is still one child run under the same parent, written by the
process that evaluates it, so the parent, the children and the parameter importance come out as with
the local loop.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from collections.abc import Callable
from typing import Any

from ..errors import InvalidInput, MissingExtra
from .progress import progress

BACKENDS = ("local", "optuna", "ray")
Row = dict[str, Any]


def check_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise InvalidInput("backend", backend, '"local" (the default), "optuna" or "ray"')
    return backend


def run_all(count: int, evaluate: Callable[[int], Row], *, backend: str, title: str, show_progress: bool | None,
            n_jobs: int | None = 1, storage: str | None = None) -> list[Row]:
    """`evaluate(i)` for every combination index, in index order, on `backend` (for Ray, `evaluate` is
    pickled to the workers, so it may not close over an open run)."""
    if backend == "optuna":
        return _optuna(count, evaluate, title, n_jobs, storage)
    if backend == "ray":
        return _ray(count, evaluate, n_jobs)
    return [evaluate(i) for i in progress(range(count), count, title, show_progress)]


def _optuna(count: int, evaluate: Callable[[int], Row], title: str, n_jobs: int | None,
            storage: str | None) -> list[Row]:
    try:
        import optuna
    except ModuleNotFoundError:
        raise MissingExtra("optuna", "optuna") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    indices = list(range(count))
    study = optuna.create_study(study_name=title if storage else None, storage=storage, load_if_exists=True,
                                direction="maximize", sampler=optuna.samplers.GridSampler({"index": indices}))
    rows: dict[int, Row] = {}

    def objective(trial: Any) -> float:
        index = trial.suggest_categorical("index", indices)
        if index in rows:  # two threads drew the same grid point: count it once
            raise optuna.TrialPruned()
        rows[index] = row = {}
        row.update(evaluate(index))
        score = row["score"]
        return score if not math.isnan(score) else float("-inf")

    study.optimize(objective, n_trials=count, n_jobs=n_jobs or 1)
    for index in indices:  # a grid point no trial reached (a duplicate draw under threads)
        if index not in rows:
            rows[index] = evaluate(index)
    return [rows[i] for i in indices]


def _ray(count: int, evaluate: Callable[[int], Row], n_jobs: int | None) -> list[Row]:
    try:
        import ray
        from ray import tune
    except ModuleNotFoundError:
        raise MissingExtra("ray", "ray") from None
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=n_jobs if n_jobs and n_jobs > 0 else None, include_dashboard=False, log_to_driver=False)
    results_dir = tempfile.mkdtemp(prefix="specweave-ray-")

    def trainable(config: dict[str, Any]) -> None:
        row = evaluate(config["index"])
        tune.report({k: v for k, v in row.items() if isinstance(v, (int, float, str))})

    try:
        tuner = tune.Tuner(trainable, param_space={"index": tune.grid_search(list(range(count)))},
                           tune_config=tune.TuneConfig(max_concurrent_trials=n_jobs if n_jobs and n_jobs > 0 else 0),
                           run_config=tune.RunConfig(storage_path=results_dir, name="sweep", verbose=0))
        grid = tuner.fit()
        rows: dict[int, Row] = {}
        for result in grid:
            if result.metrics and "experiment" in result.metrics:
                rows[result.config["index"]] = {k: result.metrics[k] for k in
                                                ("experiment", "score", "score_std", "fit_time", "status")}
    finally:
        shutil.rmtree(results_dir, ignore_errors=True)
        if started:
            ray.shutdown()
    missing = [i for i in range(count) if i not in rows]
    if missing:
        raise InvalidInput("ray sweep", f"{len(missing)} of {count} combinations", "every combination reported "
                           "back by Ray (see Ray's log for the trials that died)")
    return [rows[i] for i in range(count)]
