"""Hyperparameter sweeps: one experiment per combination, under a parent that holds the summary.

Every combination is an ordinary experiment with `parent=<parent id>` and the
tag `sweep:<parent id>`; the parent (tags `sweep` and the same series tag)
keeps the grid, the best params and score, the number of combinations and
the parameter-importance table (`param_importance.md`, plus
`param_importance.png` when matplotlib is installed). Listing, comparing,
the living docs and the MCP tools see all of it with no extra code.

Metric names are shared by every helper: `score` is the headline number of a
combination (the mean cross-validated score, or the validation score),
`score_std` its spread over folds, `fold/score` the per-fold values with
step = fold, `fit_time` seconds per fit. The parent's `score` and
`score_std` are the best combination's (so a comparison of the whole
increment ranks the sweep as one unit, by its best result; compare the
children themselves by naming them); `n_combinations`, `n_failed`, the grid
and `best.<param>` are its params.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from ..errors import InvalidInput
from ..tracking.experiment import Experiment
from ..tracking.track import track_experiment
from .common import estimator_params, is_estimator, log_fold_scores, model_name, param_value, require_sklearn
from ..analysis.importance import param_importance
from .importance_table import write_importance
from .progress import progress
from .sweep_backends import check_backend, run_all, shared_study

SWEEP_TAG = "sweep"
_RESULT_COLUMNS = ("experiment", "score", "score_std", "fit_time", "rank", "status")


def sweep_tag(parent_id: str) -> str:
    """The tag every experiment of one sweep carries (its parent included)."""
    return f"{SWEEP_TAG}:{parent_id}"


def combination_name(base: str, combo: dict[str, Any]) -> str:
    shown = " ".join(f"{key}={param_value(value)}" for key, value in combo.items())
    return f"{base} {shown}".strip()


def _grid(param_grid: Any) -> list[dict[str, Any]]:
    """Every combination of a dict (or list of dicts) of lists, in scikit-learn's order."""
    from sklearn.model_selection import ParameterGrid

    grids = param_grid if isinstance(param_grid, list) else [param_grid]
    if not grids or not all(isinstance(g, dict) and g for g in grids):
        raise InvalidInput("param_grid", type(param_grid).__name__,
                           "a dict of name -> list of values (or a list of such dicts)")
    try:
        combos = list(ParameterGrid(param_grid))
    except (TypeError, ValueError) as exc:
        raise InvalidInput("param_grid", param_grid, f"a dict of name -> non-empty list of values ({exc})") from None
    if not combos:
        raise InvalidInput("param_grid", param_grid, "at least one combination")
    return combos


def _builder(model: Any) -> Callable[[dict[str, Any]], Any]:
    """A function combination -> fresh estimator, from a class (the seed's `model=XGBClassifier`) or an instance."""
    if isinstance(model, type):
        return lambda combo: model(**combo)
    if is_estimator(model):
        from sklearn.base import clone

        return lambda combo: clone(model).set_params(**combo)
    raise InvalidInput("model", type(model).__name__, "an estimator class or instance with fit() and get_params()")


def open_sweep(name: str, increment: str | None = None, **options: Any) -> Experiment:
    """A sweep's parent run, tagged `sweep` and `sweep:<its id>` (`options` go to track_experiment). Every
    sweep opens its parent here: the grid and random searches, autolog's GridSearchCV, Optuna and Ray Tune."""
    parent = track_experiment(name, increment, tags=[SWEEP_TAG], **options)
    parent.add_tag(sweep_tag(parent.id))
    return parent


def open_trial(parent_id: str, increment: str, name: str, **options: Any) -> Experiment:
    """A child run of the sweep `parent_id`: its parent recorded, tagged `sweep:<parent id>` (`options` go to
    track_experiment). Every sweep opens its children here."""
    return track_experiment(name, increment, tags=[sweep_tag(parent_id)], parent=parent_id, **options)


@contextmanager
def _parent(name: str, increment: str | None, root: Any, description: str, system_metrics: Any) -> Iterator[Experiment]:
    with open_sweep(name, increment, root=root, description=description, system_metrics=system_metrics) as parent:
        yield parent


def _frame(rows: list[dict[str, Any]], combos: list[dict[str, Any]]) -> Any:
    """The results DataFrame: one row per combination, its params as columns, best rank 1."""
    import pandas as pd

    params = list(dict.fromkeys(key for combo in combos for key in combo))
    records = []
    for row, combo in zip(rows, combos):
        record = {(f"param_{k}" if k in _RESULT_COLUMNS else k): combo.get(k) for k in params}
        record.update(row)
        records.append(record)
    frame = pd.DataFrame.from_records(records)
    frame["rank"] = frame["score"].rank(ascending=False, method="min", na_option="bottom").astype(int)
    return frame


def _summarise(parent: Experiment | None, parent_id: str, title: str, combos: list[dict[str, Any]],
               scores: list[float], frame: Any, metric: str = "score") -> None:
    """Best params and score, counts and the importance analysis, into the results' attrs and the parent
    experiment (`parent` None: a process that joined another's sweep, whose maker writes them)."""
    good = [i for i, s in enumerate(scores) if not math.isnan(s)]
    failed = len(combos) - len(good)
    ranking = param_importance(combos, scores)
    frame.attrs.update({"parent": parent_id, "sweep_tag": sweep_tag(parent_id),
                        "importance": {p.param: p.importance for p in ranking}})
    if parent is not None:
        parent.log_params({"n_combinations": len(combos), "n_failed": failed, "grid": _grid_values(combos)})
        write_importance(parent, ranking, title=f"{title} ({parent_id})", metric=metric, n_runs=len(good))
    if not good:
        if parent is not None:
            parent.log_note(f"all {len(combos)} combinations failed; see the notes of the child experiments")
            parent.set_status("failed")
        return
    best = max(good, key=lambda i: scores[i])
    best_params = {k: param_value(v) for k, v in combos[best].items()}
    best_id = frame["experiment"].iloc[best]
    frame.attrs.update({"best_params": best_params, "best_score": scores[best], "best_experiment": best_id})
    if parent is None:
        return
    parent.log_params({"best": best_params})
    # `score` too: a comparison of the increment then ranks the sweep as one unit by its best result
    best_std = frame["score_std"].iloc[best]
    parent.log_metrics({"score": scores[best],
                        **({"score_std": float(best_std)} if not math.isnan(best_std) else {})})
    parent.log_note(f"best of {len(combos)}: {best_id} {metric}={scores[best]:.6g} with {best_params}"
                    + (f"; {failed} failed" if failed else "")
                    + (f"; most important: {ranking[0].param} ({ranking[0].importance:.0%})" if ranking else ""))


def _grid_values(combos: list[dict[str, Any]]) -> dict[str, Any]:
    values: dict[str, list[Any]] = {}
    for combo in combos:
        for key, value in combo.items():
            shown = param_value(value)
            if shown not in values.setdefault(key, []):
                values[key].append(shown)
    return values


def track_hyperparameters(
    model: Any,
    param_grid: dict[str, list[Any]] | list[dict[str, list[Any]]],
    X_train: Any,
    y_train: Any,
    increment: str | None = None,
    cv: Any = 3,
    scoring: Any = None,
    X_val: Any = None,
    y_val: Any = None,
    n_jobs: int | None = 1,
    *,
    name: str | None = None,
    root: Any = None,
    show_progress: bool | None = None,
    system_metrics: bool | float | None = None,
    backend: str = "local",
    workers: int | None = None,
    storage: str | None = None,
    _after: Callable[[Experiment | None, list[dict[str, Any]], Any], None] | None = None,
) -> Any:
    """Train and score every combination of `param_grid`, one experiment each; return a DataFrame.

    `model` is an estimator class (built with each combination) or an
    instance (cloned, then `set_params`). With `X_val`/`y_val` each
    combination is fitted on the training data and scored on the validation
    data; otherwise it is cross-validated (`cv` folds, `scoring` as in
    scikit-learn; None uses the estimator's own `score`). A combination whose
    fit raises is recorded as a failed experiment with a NaN score and the
    sweep goes on.

    `backend="optuna"` runs the combinations as an Optuna study (`workers`
    threads; `storage`, an RDB URL, keeps the study), `backend="ray"` as Ray
    Tune trials (`workers` at once, on the running Ray cluster or a local one);
    the runs written are the same as the local loop's.

    Returns a pandas DataFrame, one row per combination: the params, `score`,
    `score_std`, `fit_time`, `experiment` (its id), `status` and `rank`
    (1 = best). `results.attrs` holds `parent`, `sweep_tag`, `best_params`,
    `best_score`, `best_experiment` and `importance` (param -> share).
    """
    require_sklearn()
    combos = _grid(param_grid)
    build = _builder(model)
    check_backend(backend)
    if (X_val is None) != (y_val is None):
        raise InvalidInput("validation data", "only one of X_val, y_val", "both X_val and y_val, or neither")
    title = name or f"{model_name(model).lower()}-sweep"
    how = "validation set" if X_val is not None else f"cv={cv}"
    description = f"sweep of {len(combos)} combinations of {model_name(model)} ({how})"
    with _parent_for(title, increment, root, description, system_metrics, backend, storage, len(combos)) as (
            parent, where, shared):
        if parent is not None:
            parent.log_params({"model": model_name(model), "cv": param_value(cv) if X_val is None else None,
                               "scoring": param_value(scoring), "validation": X_val is not None,
                               **({"backend": backend} if backend != "local" else {})})
        evaluate = partial(_combination, *where, title, combos, build, (X_train, y_train, X_val, y_val), cv,
                           scoring, n_jobs)
        rows = run_all(len(combos), evaluate, backend=backend, title=title, show_progress=show_progress,
                       n_jobs=workers, shared=shared)
        frame = _frame(rows, combos)
        _summarise(parent, where[0], title, combos, [row["score"] for row in rows], frame)
        if _after is not None:
            _after(parent, combos, frame)
    return frame


@contextmanager
def _parent_for(title: str, increment: str | None, root: Any, description: str, system_metrics: Any, backend: str,
                storage: Any, count: int) -> Iterator[tuple[Experiment | None, tuple[str, str, Any], Any]]:
    """The sweep's parent: (the open run, or None in a process that joined another's; (its id, increment,
    project root); the shared Optuna study and the sweep's `claim`, or None). On an Optuna RDB `storage`
    every process running the sweep joins one parent; the one that made it writes the summary and ends it."""
    if backend == "optuna" and storage:
        study, key = shared_study(title, storage, count)
        sweep = join_sweep(key, title, increment, root=root, description=description)
        where = (sweep.parent_id, sweep.increment, root if root is not None else sweep.root)
        shared = (study, sweep.claim)
        if sweep.parent is None:
            yield None, where, shared
            return
        with sweep.parent as parent:
            yield parent, where, shared
        return
    with _parent(title, increment, root, description, system_metrics) as parent:
        yield parent, (parent.id, parent.increment, root if root is not None else parent.root), None


def _combination(parent_id: str, increment: str, root: Any, title: str, combos: list[dict[str, Any]],
                 build: Callable[[dict[str, Any]], Any], data: tuple[Any, Any, Any, Any], cv: Any, scoring: Any,
                 n_jobs: int | None, index: int) -> dict[str, Any]:
    """One combination as one child run (picklable: a Ray worker runs it as the local loop does)."""
    combo = combos[index]
    child = open_trial(parent_id, increment, combination_name(title, combo), root=root)
    row: dict[str, Any] = {"experiment": child.id, "score": math.nan, "score_std": math.nan, "fit_time": math.nan}
    with child:  # an interrupt marks it killed; other errors are caught below
        _run_combination(child, build, combo, row, *data, cv, scoring, n_jobs)
    row["status"] = child.status
    return row


def _run_combination(child: Experiment, build: Callable[[dict[str, Any]], Any], combo: dict[str, Any],
                     row: dict[str, Any], X_train: Any, y_train: Any, X_val: Any, y_val: Any, cv: Any,
                     scoring: Any, n_jobs: int | None) -> None:
    from sklearn.metrics import check_scoring
    from sklearn.model_selection import cross_validate

    try:
        estimator = build(combo)
        child.log_params(estimator_params(estimator))
        child.log_params({k: param_value(v) for k, v in combo.items()})
        if X_val is not None:
            started = time.perf_counter()
            estimator.fit(X_train, y_train)
            row["fit_time"] = time.perf_counter() - started
            scorer = check_scoring(estimator, scoring=scoring)
            row["score"] = float(scorer(estimator, X_val, y_val))
            child.log_metrics({"score": row["score"], "fit_time": row["fit_time"]})
        else:
            out = cross_validate(estimator, X_train, y_train, cv=cv, scoring=scoring, n_jobs=n_jobs,
                                 error_score="raise")
            names = [k[len("test_"):] for k in out if k.startswith("test_")]
            if names != ["score"]:  # several scorers: each under its name, the first one is `score`
                names = [n for n in (scoring if isinstance(scoring, (list, tuple, dict)) else names) if n in names]
                for extra in names:
                    log_fold_scores(child, extra, [float(v) for v in out[f"test_{extra}"]])
            primary = [float(v) for v in out[f"test_{names[0]}"]]
            row["score"], row["score_std"] = log_fold_scores(child, "score", primary)
            row["fit_time"] = float(sum(out["fit_time"]) / len(out["fit_time"]))
            child.log_metric("fit_time", row["fit_time"])
    except Exception as exc:  # one bad combination is a finding, not the end of the sweep
        row["score"] = math.nan
        child.end("failed", note=f"FAILED: {type(exc).__name__}: {exc}")


def _cv_keys(search: Any) -> tuple[str, list[str]]:
    """The primary scorer name and all names, as GridSearchCV spells them in cv_results_."""
    results = search.cv_results_
    names = sorted(key[len("mean_test_"):] for key in results if key.startswith("mean_test_"))
    if names == ["score"]:
        return "score", names
    refit = search.refit if isinstance(search.refit, str) else names[0]
    return refit, names


def track_grid_search(
    estimator: Any,
    param_grid: dict[str, list[Any]] | list[dict[str, list[Any]]],
    X_train: Any,
    y_train: Any,
    increment: str | None = None,
    *,
    name: str | None = None,
    root: Any = None,
    show_progress: bool | None = None,
    system_metrics: bool | float | None = None,
    backend: str = "local",
    workers: int | None = None,
    storage: str | None = None,
    **grid_search_kwargs: Any,
) -> tuple[Any, Any]:
    """Run scikit-learn's GridSearchCV and log every combination as its own experiment.

    `grid_search_kwargs` go to GridSearchCV as they are (cv, scoring, refit,
    n_jobs, ...; its defaults otherwise). Each combination's experiment holds
    its params and `score` (mean test score), `score_std`, `fold/score` per
    split and `fit_time` (mean over folds); with several
    scorers each also appears under its own name, and `score` is the refit one;
    the best combination's experiment is tagged `best`. The parent holds the
    best params and score, the refitted best model (`model.pkl`) and the
    importance analysis.

    Returns `(best_model, results)`: the refitted best estimator (the fitted
    GridSearchCV itself when `refit=False`) and a DataFrame as
    `track_hyperparameters` returns.

    `backend="optuna"` or `"ray"` (with `workers`, `storage`) scores the
    combinations on that engine instead of GridSearchCV (`cv`, `scoring` and
    `n_jobs` taken from the keyword arguments), then refits the best on all of
    `X_train` (`refit=False`: the best model is None).
    """
    require_sklearn()
    from sklearn.model_selection import GridSearchCV

    if not is_estimator(estimator):
        raise InvalidInput("estimator", type(estimator).__name__, "an estimator instance such as XGBClassifier()")
    _grid(param_grid)  # validates before any work is done
    title = name or f"{model_name(estimator).lower()}-grid-search"
    if check_backend(backend) != "local":
        return _grid_search_on(backend, estimator, param_grid, X_train, y_train, increment, title, root, show_progress,
                               system_metrics, workers, storage, grid_search_kwargs)
    with _parent(title, increment, root, f"GridSearchCV over {model_name(estimator)}", system_metrics) as parent:
        shown = {k: param_value(v) for k, v in grid_search_kwargs.items()}
        parent.log_params({"model": model_name(estimator), "search": shown})
        search = GridSearchCV(estimator, param_grid, **grid_search_kwargs)
        started = time.perf_counter()
        search.fit(X_train, y_train)
        parent.log_metric("training_time", time.perf_counter() - started)  # the whole search, refit included
        frame = log_search_results(parent, search, estimator, title, show_progress,
                                   root=root if root is not None else parent.root)
        best_model = getattr(search, "best_estimator_", None)
        if best_model is not None:
            parent.save_model(best_model, "model.pkl")
    return (best_model if best_model is not None else search), frame


def log_search_results(parent: Experiment, search: Any, estimator: Any, title: str, show_progress: bool | None = None,
                       **options: Any) -> Any:
    """A fitted GridSearchCV's (or RandomizedSearchCV's) candidates as child runs of `parent`, the best tagged
    `best`, and the parent's summary (best params and score, importance). Returns the results frame.
    One writer for `track_grid_search` and `autolog`'s searches; `options` go to each child's run."""
    from sklearn.base import clone

    results = search.cv_results_
    primary, names = _cv_keys(search)
    n_splits = search.n_splits_
    combos: list[dict[str, Any]] = list(results["params"])
    rows: list[dict[str, Any]] = []
    scores: list[float] = []
    for index, combo in enumerate(progress(combos, len(combos), title, show_progress)):
        with open_trial(parent.id, parent.increment, combination_name(title, combo), **options) as child:
            child.log_params(estimator_params(clone(estimator).set_params(**combo)))
            child.log_params({k: param_value(v) for k, v in combo.items()})
            for scorer in names:
                folds = [float(results[f"split{k}_test_{scorer}"][index]) for k in range(n_splits)]
                key = "score" if scorer == primary else scorer
                log_fold_scores(child, key, folds)
                if scorer == primary and scorer != "score":
                    child.log_metrics({scorer: float(results[f"mean_test_{scorer}"][index]),
                                       f"{scorer}_std": float(results[f"std_test_{scorer}"][index])})
                if f"mean_train_{scorer}" in results:
                    child.log_metric(f"train_{scorer}", float(results[f"mean_train_{scorer}"][index]))
            child.log_metrics({"fit_time": float(results["mean_fit_time"][index])})
            child.log_note(f"scored inside {type(search).__name__} ({n_splits} folds); fit_time is its mean per fold")
            if index == getattr(search, "best_index_", None):
                child.add_tag(BEST_TAG)
        score = float(results[f"mean_test_{primary}"][index])
        rows.append({"experiment": child.id, "score": score,
                     "score_std": float(results[f"std_test_{primary}"][index]),
                     "fit_time": float(results["mean_fit_time"][index]), "status": child.status})
        scores.append(score)
    frame = _frame(rows, combos)
    _summarise(parent, parent.id, title, combos, scores, frame, metric=f"mean_test_{primary}")
    return frame


# -- sweeps run by another engine (Optuna, Ray Tune), possibly from several processes -----------------
SWEEPS_DIR = "sweeps"  # under .specweave/cache: where the processes of one sweep meet (git-ignored)
BEST_TAG = "best"


class SharedSweep:
    """A sweep parent that several processes add child runs to.

    The first process to claim the sweep's key creates the parent (and holds it open); the others wait
    for its id in the claim file. Each child is registered by its trial key, so that the best trial, as
    the engine names it, can be tagged `best` from any process: `mark_best` runs under the parent's
    metadata lock and keeps the parent's `best_trial` field and the one `best` tag in step.
    """

    def __init__(self, parent: Experiment | None, parent_id: str, increment: str, root: Any, meet: Any) -> None:
        self.parent, self.parent_id, self.increment, self.root, self.meet = parent, parent_id, increment, root, meet
        self._parent_path: Path | None = None

    def child(self, name: str, **options: Any) -> Experiment:
        """A new child run of this sweep (options go to track_experiment)."""
        return open_trial(self.parent_id, self.increment, name, root=self.root, **options)

    def claim(self, key: str) -> bool:
        """True for exactly one of the processes that ask, whoever asks first: the one that runs `key`."""
        import os

        from ..storage.store_dirs import make_store_dirs

        claims = make_store_dirs(self.meet / "claims")  # never through a folder a clone committed as a link
        try:
            os.close(os.open(claims / _safe_key(key), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        except FileExistsError:
            return False
        return True

    def register(self, key: str, child: Experiment) -> None:
        from ..storage.atomic_writes import atomic_write
        from ..storage.encoding import dumps_json

        atomic_write(self.meet / "trials" / f"{_safe_key(key)}.json", dumps_json({"id": child.id,
                                                                                    "folder": str(child.path)}))

    def _folder_of(self, key: str) -> Any:
        from ..storage.bounded_parsing import read_json

        try:
            return Path(read_json(self.meet / "trials" / f"{_safe_key(key)}.json")["folder"])
        except Exception:  # not registered yet: that trial's own process marks it when it gets there
            return None

    def mark_best(self, best: Callable[[], tuple[str, dict[str, Any]] | None]) -> None:
        """Tag the child of the trial `best()` names (asked under the parent's lock, so the answer is fresh
        and processes agree) `best`, untag the previous one, and record it on the parent."""
        from ..storage.metafile import update_meta

        def change(meta: Any) -> bool:
            found = best()
            if found is None:
                return False
            key, details = found
            previous = getattr(meta, "best_trial", None) or {}
            if previous.get("key") == key:
                return False
            folder = self._folder_of(key)
            if folder is None:
                return False
            if previous.get("folder"):
                update_meta(Path(previous["folder"]), _retag(remove=BEST_TAG))
            update_meta(folder, _retag(add=BEST_TAG))
            meta.best_trial = {"key": key, "folder": str(folder), **details}
            return True

        update_meta(self._parent_folder(), change)

    def _parent_folder(self) -> Path:
        """The parent's folder, found once (a folder never moves; a find lists the increment's runs)."""
        if self._parent_path is None:
            from ..storage.run_records import find_experiment

            self._parent_path = self.parent.path if self.parent is not None else find_experiment(
                self.root, self.parent_id, self.increment).path
        return self._parent_path

    def mark_set(self, field: str, tag: str,
                 update: Callable[[list[dict[str, Any]]], list[dict[str, Any]] | None]) -> None:
        """Keep a set of trials (a Pareto front, say) on the parent's `field` and in the children's `tag`.

        Under the parent's metadata lock, `update(the recorded entries)` returns the new entries (each a dict
        with the trial's `key`) or None for no change; a child whose key enters the set is tagged `tag`, one
        whose key leaves it is untagged (children are found by the key `register` gave them; an entry that
        changes is tagged again, so a child registered after its key entered the set gets its tag then)."""
        from ..storage.metafile import update_meta

        def change(meta: Any) -> bool:
            old = list(getattr(meta, field, None) or [])
            new = update(old)
            if new is None:
                return False
            before = {e["key"]: e for e in old}
            after = {e["key"]: e for e in new}
            edits = [(k, _retag(remove=tag)) for k in before.keys() - after.keys()]
            edits += [(k, _retag(add=tag)) for k, e in after.items() if before.get(k) != e]  # new or updated
            for key, edit in edits:
                folder = self._folder_of(key)
                if folder is not None:
                    update_meta(folder, edit)
            setattr(meta, field, new)
            return True

        update_meta(self._parent_folder(), change)


def _retag(add: str | None = None, remove: str | None = None) -> Callable[[Any], bool]:
    def change(meta: Any) -> bool:
        tags = [t for t in meta.tags if t != remove]
        if add and add not in tags:
            tags.append(add)
        if tags == meta.tags:
            return False
        meta.tags = tags
        return True

    return change


def _safe_key(key: str) -> str:
    import hashlib

    return hashlib.sha256(key.encode()).hexdigest()[:24]


def join_sweep(key: str, name: str, increment: str | None = None, *, root: Any = None, description: str = "",
               wait_s: float = 120.0) -> SharedSweep:
    """The sweep parent for `key` (an id every process of the sweep computes alike): created by the first
    process to claim it, joined by the others."""
    import json
    import os

    from ..errors import SpecweaveError
    from ..layout import CACHE_DIR, SPECWEAVE_DIR
    from ..storage.bounded_parsing import read_json
    from ..storage.paths import find_root
    from ..storage.store_dirs import make_store_dirs

    project = find_root(root)
    meet = project / SPECWEAVE_DIR / CACHE_DIR / SWEEPS_DIR / _safe_key(key)
    make_store_dirs(meet / "trials")  # never through a folder a clone committed as a link
    claim = meet / "parent.json"
    try:
        fd = os.open(claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                found = read_json(claim)  # bounded, never through a link
                return SharedSweep(None, found["id"], found["increment"], project, meet)
            except (OSError, SpecweaveError, KeyError, TypeError):
                if time.monotonic() > deadline:
                    raise InvalidInput("sweep", key, f"a sweep whose parent run is created within {wait_s:g} s "
                                       f"(remove {claim} if a crashed process left it)") from None
                time.sleep(0.05)
    with os.fdopen(fd, "w") as handle:
        parent = open_sweep(name, increment, root=project, description=description)
        handle.write(json.dumps({"id": parent.id, "increment": parent.increment}))
    return SharedSweep(parent, parent.id, parent.increment, project, meet)


def _grid_search_on(backend: str, estimator: Any, param_grid: Any, X_train: Any, y_train: Any, increment: str | None,
                    title: str, root: Any, show_progress: bool | None, system_metrics: Any, workers: int | None,
                    storage: str | None, options: dict[str, Any]) -> tuple[Any, Any]:
    """track_grid_search on Optuna or Ray: the combinations scored as track_hyperparameters scores them, the best
    refitted on the whole training data and saved in the parent, as GridSearchCV's refit does."""
    from sklearn.base import clone

    refit = options.get("refit", True)
    found: list[Any] = []

    def after(parent: Experiment | None, combos: list[dict[str, Any]], frame: Any) -> None:
        if not refit or frame["score"].isna().all():
            return
        best = clone(estimator).set_params(**combos[int(frame["score"].fillna(-math.inf).to_numpy().argmax())])
        best.fit(X_train, y_train)
        if parent is not None:  # the process that made the sweep's parent keeps the model there
            parent.save_model(best, "model.pkl")
        found.append(best)

    frame = track_hyperparameters(estimator, param_grid, X_train, y_train, increment, cv=options.get("cv", 5),
                                  scoring=options.get("scoring"), n_jobs=options.get("n_jobs"), name=title, root=root,
                                  show_progress=show_progress, system_metrics=system_metrics, backend=backend,
                                  workers=workers, storage=storage, _after=after)
    return (found[0] if found else None), frame
