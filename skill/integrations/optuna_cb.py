"""Optuna: `study.optimize(objective, callbacks=[SpecweaveCallback()])`, optionally with the objective
decorated by `cb.track_in_specweave()` so it logs into its trial's own run.

One child run per trial under one sweep parent: params, value(s), intermediate values at their steps, and
the state (pruned: status `killed`, tag `pruned`; failed: status `failed`, with the traceback when the
objective is decorated). Single objective: Optuna's best trial is tagged `best` and recorded on the
parent (`best_trial`). Several objectives: the Pareto front is tagged `pareto` and recorded on the parent
(`pareto_front`: each trial's key, number, values and run), kept as the front moves, trial by trial, and
set to `study.best_trials` by `finish(study)`. Workers sharing one RDB storage share the parent (the first
creates it). `finish(study)` adds parameter importance and ends the parent (else it ends at exit).

The runs are written on a writer thread of the callback's (`background=False`: in the callback), so the
study's loop does not wait for the files: most of a trial's time on an RDB storage is spent waiting for
the database, and the writes fit in it. `flush()`, `finish()` and the process's exit (SIGTERM too) wait
until every finished trial is written.
"""

from __future__ import annotations

import queue
import sys
import threading
import traceback
import warnings
from collections.abc import Callable
from functools import wraps
from typing import Any

import optuna
from optuna.trial import TrialState

from ..errors import InvalidInput
from ..tracking import flusher
from ..tracking.experiment import Experiment
from ..workflows.sweeps import SharedSweep, join_sweep

PARETO_TAG = "pareto"
PARETO_FIELD = "pareto_front"


class SpecweaveCallback:
    """Log every finished trial of a study as a run under one sweep parent."""

    def __init__(self, name: str | None = None, increment: str | None = None, *, root: str | None = None,
                 background: bool = True) -> None:
        self.name, self.increment, self.root, self.background = name, increment, root, background
        self._queue: queue.Queue[Callable[[], None]] | None = None
        self.sweep: SharedSweep | None = None
        self._lock = threading.Lock()
        self._open: dict[int, Experiment] = {}  # trial number -> the run the decorated objective opened
        self._returned: dict[int, str] = {}  # trial number -> what the objective returned (when Optuna fails it)
        self._local = threading.local()  # .run: the run of the trial this thread is running
        self._names: list[str] | None = None
        # Losses (values signed so lower is better) of complete trials this process knows of: a trial one of
        # them beats (single objective) or dominates (several) cannot be the best or on the front, so the
        # parent's lock and Optuna's storage are left alone for it. Most trials of a long study are such.
        self._known: list[list[float]] = []

    # -- the decorator: the trial's run opened before the objective, so the objective logs into it ----------
    def track_in_specweave(self) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorate the objective so that each trial is its own run while it runs:

            cb = SpecweaveCallback()

            @cb.track_in_specweave()
            def objective(trial):
                ...
                cb.experiment.log_metric("loss", loss, step=epoch)
                return loss

            study.optimize(objective, n_trials=50, callbacks=[cb])

        Inside the objective `cb.experiment` is the run of the trial this thread runs (threads of
        `n_jobs` each see their own). The callback then completes that same run: one run per trial. An
        exception in the objective ends the run `failed` with its traceback (KeyboardInterrupt: `killed`);
        `optuna.TrialPruned` is left to the callback (`killed`, tag `pruned`)."""

        def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
            @wraps(func)
            def objective(trial: optuna.Trial, *args: Any, **kwargs: Any) -> Any:
                sweep = self._join(trial.study)
                child = sweep.child(self._child_name(sweep, trial.number), source="optuna")
                with self._lock:
                    self._open[trial.number] = child
                previous, self._local.run = getattr(self._local, "run", None), child
                try:
                    result = func(trial, *args, **kwargs)
                except optuna.TrialPruned:
                    raise
                except BaseException as exc:
                    self._failed(sweep, trial, child, exc)
                    raise
                finally:
                    self._local.run = previous
                with self._lock:
                    self._returned[trial.number] = repr(result)[:200]
                return result

            return objective

        return decorator

    @property
    def experiment(self) -> Experiment:
        """The run of the trial this thread is running (inside an objective decorated by
        `track_in_specweave()`)."""
        run = getattr(self._local, "run", None)
        if run is None:
            raise InvalidInput("cb.experiment", "no trial running in this thread",
                               "use it inside an objective decorated with @cb.track_in_specweave()")
        return run

    def _failed(self, sweep: SharedSweep, trial: optuna.Trial, child: Experiment, exc: BaseException) -> None:
        """The objective raised: end its run now (Optuna calls no callback for an error it does not catch)."""
        child.log_params(dict(trial.params))
        child.set_fields(optuna={"study": trial.study.study_name, "trial": trial.number, "state": "FAIL"})
        if isinstance(exc, KeyboardInterrupt):
            child.end("killed", note="interrupted (KeyboardInterrupt)")
            return
        detail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip()
        child.end("failed", note=f"FAILED: {type(exc).__name__}: {exc}\n{detail}")

    # -- the callback: after each trial ---------------------------------------------------------------
    def _join(self, study: Any) -> SharedSweep:
        with self._lock:
            if self.sweep is None:
                first = study.get_trials(deepcopy=False)[0]  # alike in every worker of this study
                key = f"optuna\0{study.study_name}\0{first.datetime_start.isoformat()}"
                sweep = join_sweep(key, self.name or study.study_name, self.increment, root=self.root,
                                   description=f"Optuna study {study.study_name!r}")
                if sweep.parent is not None:
                    sweep.parent.log_params({"engine": "optuna", "study": study.study_name,
                                             "directions": [d.name.lower() for d in study.directions]})
                self.sweep = sweep
                if self.background:  # at exit (or SIGTERM) the trials still queued are written before the
                    # runs this process opened after now (a decorated trial's) are ended as left open
                    flusher.register(self, label=f"Optuna study {study.study_name!r}", tick=lambda: None,
                                     finish=lambda _status, _exc, _note: self.flush())
            return self.sweep

    @staticmethod
    def _child_name(sweep: SharedSweep, number: int) -> str:
        return f"{sweep.parent_id} trial {number}"

    def _metric_names(self, study: Any) -> list[str]:
        if self._names is None:  # asked once: with an RDB storage each ask is a query
            count = len(study.directions)
            self._names = list(study.metric_names or (["value"] if count == 1 else
                                                      [f"value_{i}" for i in range(count)]))
        return self._names

    def __call__(self, study: Any, trial: Any) -> None:
        """Optuna calls this after each trial, in the thread that ran it: the trial's run is written on this
        callback's writer thread (`background=False`: here), so the study's loop goes on meanwhile."""
        sweep = self._join(study)
        with self._lock:
            child = self._open.pop(trial.number, None)
            returned = self._returned.pop(trial.number, None)
        self._metric_names(study)
        if not self.background:
            self._record(study, sweep, trial, child, returned)
            return
        with self._lock:
            if self._queue is None:
                self._queue = queue.Queue()
                threading.Thread(target=self._writer, args=(self._queue,), name="specweave-optuna",
                                 daemon=True).start()
        self._queue.put(lambda: self._record(study, sweep, trial, child, returned))

    @staticmethod
    def _writer(jobs: queue.Queue[Callable[[], None]]) -> None:
        while True:
            job = jobs.get()
            try:
                job()
            except Exception as exc:  # noqa: BLE001 - a full disk, a damaged parent: the study goes on
                print(f"specweave: could not record an Optuna trial: {type(exc).__name__}: {exc}", file=sys.stderr)
            finally:
                jobs.task_done()

    def flush(self) -> None:
        """Wait until every trial finished so far is written (`finish` and the process's exit do this)."""
        if self._queue is not None:
            self._queue.join()

    def _record(self, study: Any, sweep: SharedSweep, trial: Any, child: Experiment | None,
                returned: str | None) -> None:
        if child is None:
            child = sweep.child(self._child_name(sweep, trial.number), source="optuna")
        child.log_params(dict(trial.params))
        for step, value in sorted(trial.intermediate_values.items()):
            child.log_metric("intermediate_value", value, step=step)
        if trial.values is not None:
            child.log_metrics(dict(zip(self._metric_names(study), trial.values)))
        if trial.duration is not None:
            child.log_metric("duration_s", trial.duration.total_seconds())
        child.set_fields(optuna={"study": study.study_name, "trial": trial.number, "state": trial.state.name})
        if trial.state == TrialState.PRUNED:
            child.add_tag("pruned")
            last = max(trial.intermediate_values, default=None)
            child.end("killed", note=f"pruned by Optuna at step {last}")
        elif trial.state == TrialState.FAIL:  # a run the decorator ended already keeps its traceback
            why = (f"Optuna failed the trial: the objective returned {returned}, not a usable value"
                   if returned is not None else "the trial failed (Optuna caught its error; see the worker's log)")
            child.end("failed", note=why)
        else:
            child.end()
        if trial.state != TrialState.COMPLETE:
            return
        signs = _signs(study)
        loss = [s * v for s, v in zip(signs, trial.values)]
        if not _feasible(trial) or self._beaten(loss):
            return  # never the best nor on the front, now or later: no need to find its run again
        sweep.register(str(trial.number), child)  # where any worker finds its run to tag it
        if len(signs) == 1:
            sweep.mark_best(lambda: self._best(study))
        else:
            entry = {"key": str(trial.number), "number": trial.number, "values": list(trial.values),
                     "run": child.id}
            sweep.mark_set(PARETO_FIELD, PARETO_TAG, lambda front: self._front_with(front, entry, signs))

    def _beaten(self, loss: list[float]) -> bool:
        """Whether a known complete trial beats (dominates) `loss`; else it is known from now on."""
        with self._lock:
            if any(_dominates(known, loss) for known in self._known):
                return True
            self._known = [known for known in self._known if not _dominates(loss, known)] + [loss]
            return False

    def _front_with(self, front: list[dict[str, Any]], entry: dict[str, Any],
                    signs: list[float]) -> list[dict[str, Any]] | None:
        for other in front:  # the front as recorded by every worker: known from now on
            self._beaten([s * v for s, v in zip(signs, other["values"])])
        return _front_with(front, entry, signs)

    def _best(self, study: Any) -> tuple[str, dict[str, Any]] | None:
        try:
            best = study.best_trial
        except ValueError:  # no complete trial yet
            return None
        self._beaten([_signs(study)[0] * best.value])  # the study's best so far: known from now on
        return str(best.number), {"number": best.number, "value": best.value, "params": dict(best.params)}

    def finish(self, study: Any) -> None:
        """Best trial (or the Pareto front, as `study.best_trials` has it) and importance onto the parent;
        ends it if this process created it."""
        sweep = self._join(study)
        self.flush()
        single = len(study.directions) == 1
        if single:
            sweep.mark_best(lambda: self._best(study))
        else:
            front = [{"key": str(t.number), "number": t.number, "values": list(t.values)}
                     for t in sorted(study.best_trials, key=lambda t: t.number)]
            sweep.mark_set(PARETO_FIELD, PARETO_TAG, lambda old: _final_front(old, front))
        parent = sweep.parent
        if parent is None:
            return
        trials = study.get_trials(deepcopy=False)
        complete = [t for t in trials if t.state == TrialState.COMPLETE]
        parent.log_params({"n_trials": len(trials), "n_complete": len(complete)})
        names = self._metric_names(study)
        if single and complete:
            parent.log_params({"best": dict(study.best_trial.params)})
            parent.log_metrics({names[0]: study.best_value})
            parent.log_params({"importance": _importance(study, None)})
        elif complete:
            # each objective judged as a loss (PED-ANOVA, Optuna's default, ranks params by low targets)
            losses = {name: (lambda t, i=i, s=s: s * t.values[i])
                      for i, (name, s) in enumerate(zip(names, _signs(study)))}
            parent.log_params({"pareto_front": [entry["number"] for entry in front],
                               "importance": {name: _importance(study, loss) for name, loss in losses.items()}})
        parent.end()


def _importance(study: Any, target: Callable[[Any], float] | None) -> dict[str, float]:
    try:
        with warnings.catch_warnings():  # "importance of low target values": the target is a loss already
            warnings.simplefilter("ignore", UserWarning)
            importance = optuna.importance.get_param_importances(study, target=target)
    except (RuntimeError, ValueError):  # too few trials or params to judge
        return {}
    return {k: float(v) for k, v in importance.items()}


# -- the Pareto front, kept trial by trial ------------------------------------------------------------------
# Dominance is transitive, so the front of (trials so far + one more) is the front so far plus the new trial,
# less what it dominates, unless something on the front dominates it: each complete trial passes here once,
# under the parent's lock, and the recorded front is the study's (Optuna's rule: no worse in every objective,
# better in one; infeasible trials of a constrained study left out).
def _signs(study: Any) -> list[float]:
    return [1.0 if d == optuna.study.StudyDirection.MINIMIZE else -1.0 for d in study.directions]


def _dominates(a: list[float], b: list[float]) -> bool:
    return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))


def _front_with(front: list[dict[str, Any]], entry: dict[str, Any], signs: list[float]) -> list[dict[str, Any]] | None:
    for index, e in enumerate(front):
        if e["key"] == entry["key"]:  # there already (finish() set it from the study): add its run's id
            return None if e.get("run") else [*front[:index], {**e, "run": entry["run"]}, *front[index + 1:]]
    loss = [s * v for s, v in zip(signs, entry["values"])]
    losses = [[s * v for s, v in zip(signs, e["values"])] for e in front]
    if any(_dominates(other, loss) for other in losses):
        return None
    return [e for e, other in zip(front, losses) if not _dominates(loss, other)] + [entry]


def _final_front(old: list[dict[str, Any]], front: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """The study's own front; entries keep the run ids they were recorded with."""
    runs = {e["key"]: e.get("run") for e in old}
    new = [{**e, **({"run": runs[e["key"]]} if runs.get(e["key"]) else {})} for e in front]
    return None if new == old else new


def _feasible(trial: Any) -> bool:
    constraints = getattr(trial, "constraints", None)  # optuna >= 5; before, a list in system_attrs
    values = constraints.values() if isinstance(constraints, dict) else trial.system_attrs.get("constraints") or ()
    return all(v <= 0.0 for v in values)
