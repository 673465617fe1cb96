"""Where a sweep's combinations run: the local loop, an Optuna study, or Ray Tune.

`track_hyperparameters(..., backend="optuna")` hands the combinations to an Optuna study (a
`GridSampler` over the combination index, so every combination runs exactly once; `n_jobs` threads,
and an RDB `storage` keeps the study beside the runs); `backend="ray"` hands them to Ray Tune (one
trial per combination, `n_jobs` at once, on the Ray cluster `ray.init` connects to, a local one when
none is running). Each combination is still one child run under the same parent, written by the
process that evaluates it, so the parent, the children and the parameter importance come out as with
the local loop.

With an RDB `storage`, the same script may run in several processes that share the project's folder
(several shells, an `srun` of many tasks): they share the study and one parent (`join_sweep`), each
combination runs once across them, and each returns the whole results table; the process that made the
parent writes its summary once every combination has a result.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from typing import Any

from ..errors import InvalidInput, MissingExtra
from ..layout import EXPERIMENT_ID_RE, STATUSES
from ..storage.liveness import pid_alive, this_host
from ..storage.notices import warn
from .progress import progress

BACKENDS = ("local", "optuna", "ray")
# a shared study's trial user attributes: the combination's row, and the process that runs it
ROW_ATTR, WORKER_ATTR, SWEEP_ATTR = "specweave_row", "specweave_worker", "specweave_sweep"
_STATUSES = ("", *STATUSES)  # a row's status: the child's, as the reader gives it
Row = dict[str, Any]


def check_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise InvalidInput("backend", backend, '"local" (the default), "optuna" or "ray"')
    return backend


def run_all(count: int, evaluate: Callable[[int], Row], *, backend: str, title: str, show_progress: bool | None,
            n_jobs: int | None = 1, shared: tuple[Any, Callable[[str], bool]] | None = None) -> list[Row]:
    """`evaluate(i)` for every combination index, in index order, on `backend` (for Ray, `evaluate` is
    pickled to the workers, so it may not close over an open run). `shared`: the Optuna study several
    processes share (`shared_study`) and the claim that gives each combination to one of them; else the
    study is in memory."""
    if backend == "optuna":
        return _optuna(count, evaluate, n_jobs, shared)
    if backend == "ray":
        return _ray(count, evaluate, n_jobs)
    return [evaluate(i) for i in progress(range(count), count, title, show_progress)]


def _import_optuna() -> Any:
    try:
        import optuna
    except ModuleNotFoundError:
        raise MissingExtra("optuna", "optuna") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def _grid_sampler(optuna: Any, count: int) -> Any:
    return optuna.samplers.GridSampler({"index": list(range(count))})


def shared_study(title: str, storage: Any, count: int) -> tuple[Any, str]:
    """The study `title` in the RDB `storage` that every process running this sweep shares, and the key of
    its sweep (the parent all of them join): a random id the study's creator stores in it, so a study made
    again under the same name is a new sweep. Only one process can create the study; the others load it
    and wait a moment for the id (a study made by something else has none: its name and storage name it)."""
    optuna = _import_optuna()
    rdb = _rdb(optuna, storage) if isinstance(storage, str) else storage  # a URL, or Optuna's own storage
    try:
        study = optuna.create_study(study_name=title, storage=rdb, direction="maximize",
                                    sampler=_grid_sampler(optuna, count))
        study.set_user_attr(SWEEP_ATTR, uuid.uuid4().hex)
    except optuna.exceptions.DuplicatedStudyError:
        study = optuna.load_study(study_name=title, storage=rdb, sampler=_grid_sampler(optuna, count))
    deadline = time.monotonic() + 10.0
    while SWEEP_ATTR not in study.user_attrs and time.monotonic() < deadline:
        time.sleep(0.05)
    return study, f"optuna-grid\0{storage}\0{title}\0{study.user_attrs.get(SWEEP_ATTR, '')}"


def _rdb(optuna: Any, url: str, tries: int = 5) -> Any:
    """The RDB storage at `url`. Processes that start together on a new database each create its tables,
    and all but one fail ("table already exists"): a moment later the tables are there."""
    for attempt in range(tries - 1):
        try:
            return optuna.storages.RDBStorage(url)
        except Exception:  # sqlalchemy's OperationalError: optuna does not wrap it
            time.sleep(0.2 * (attempt + 1))
    return optuna.storages.RDBStorage(url)  # the last try: its error is the caller's


def _optuna(count: int, evaluate: Callable[[int], Row], n_jobs: int | None,
            shared: tuple[Any, Callable[[str], bool]] | None) -> list[Row]:
    """The combinations as an Optuna grid. On a shared study each combination runs once across the
    processes: the first to claim it runs it, a trial of another that draws it again is pruned, each row is
    kept in its trial, and a process that is done collects the others'."""
    optuna = _import_optuna()
    study, claim = shared if shared is not None else (
        optuna.create_study(direction="maximize", sampler=_grid_sampler(optuna, count)), None)
    indices = list(range(count))
    rows: dict[int, Row] = {}

    def objective(trial: Any) -> float:
        index = trial.suggest_categorical("index", indices)
        if index in rows or (claim is not None and not claim(f"grid {index}")):  # drawn twice: run once
            raise optuna.TrialPruned()
        if claim is not None:
            trial.set_user_attr(WORKER_ATTR, [this_host(), os.getpid()])
        rows[index] = row = {}
        row.update(evaluate(index))
        if claim is not None:
            trial.set_user_attr(ROW_ATTR, row)
        score = row["score"]
        return score if not math.isnan(score) else float("-inf")

    study.optimize(objective, n_trials=count, n_jobs=n_jobs or 1)
    if claim is not None:
        _gather(study, rows, indices, evaluate, optuna)
    for index in indices:  # a grid point no trial reached (a duplicate draw under threads)
        if index not in rows:
            rows[index] = evaluate(index)
    return [rows[i] for i in indices]


def _alive(trial: Any) -> bool:
    """Whether the process running `trial` may still finish it: on this host its pid says; on another,
    Optuna's heartbeat (when the storage has one) fails a trial whose process is gone."""
    worker = trial.user_attrs.get(WORKER_ATTR)
    if isinstance(worker, list) and len(worker) == 2 and worker[0] == this_host() and isinstance(worker[1], int):
        return pid_alive(worker[1])
    return True


def stored_row(value: Any) -> Row | None:
    """A row another process kept in its trial, as the table takes it; None for anything else (the study's
    database is outside the project: what it holds is checked like any other input)."""
    if not isinstance(value, dict) or not isinstance(value.get("experiment"), str) \
            or not EXPERIMENT_ID_RE.match(value["experiment"]) or value.get("status", "") not in _STATUSES:
        return None
    row: Row = {"experiment": value["experiment"], "status": value.get("status", "")}
    for key in ("score", "score_std", "fit_time"):
        number = value.get(key)
        if number is None:
            number = math.nan
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            return None
        row[key] = float(number)
    return row


def _gather(study: Any, rows: dict[int, Row], indices: list[int], evaluate: Callable[[int], Row],
            optuna: Any, poll_s: float = 0.5) -> None:
    """The rows of the combinations other processes ran, from their trials: waits for those still running
    in a live process, and evaluates here one that no live process holds (its process died)."""
    state = optuna.trial.TrialState
    while True:
        missing = [i for i in indices if i not in rows]
        if not missing:
            return
        trials = sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
        waiting = []
        for index in missing:
            same = [t for t in trials if t.params.get("index") == index]
            done = next((row for t in same if t.state == state.COMPLETE
                         and (row := stored_row(t.user_attrs.get(ROW_ATTR))) is not None), None)
            running = [t for t in same if t.state == state.RUNNING and _alive(t)]
            if done is not None:
                rows[index] = done
            elif running:
                waiting += running
            else:
                rows[index] = evaluate(index)
        if waiting:  # said once: a process on another host that died holds its trial until Optuna fails it
            warn(f"waiting for {len(waiting)} combination(s) other processes are running (trial(s) "
                 f"{', '.join(str(t.number) for t in waiting[:10])} of study {study.study_name!r}); a process "
                 "on another host that died keeps its trial running unless the storage has Optuna's heartbeat")
            time.sleep(poll_s)


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
