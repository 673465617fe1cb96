"""Optuna: `callbacks=[cb]`, one run per trial under a sweep parent; `@cb.track_in_specweave()` on the
objective opens the trial's run first, to log in (`cb.experiment`)."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import optuna
from optuna.trial import TrialState

from ..workflows.trial_runs import TrialRuns


class SpecweaveCallback(TrialRuns):
    """One run per finished trial, under one sweep parent."""

    experiment = TrialRuns.current

    def track_in_specweave(self) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorate the objective: each trial its own run while it runs (`cb.experiment`)."""
        return lambda func: self.decorate(func, self._key, "optuna", (optuna.TrialPruned,),
                                          lambda trial, run: self._fields(run, trial, "FAIL"))

    def _key(self, trial: Any) -> str:
        self._join(trial.study)
        return str(trial.number)

    def _join(self, study: Any) -> None:
        if self.sweep is None:
            first = self.first(study.get_trials(deepcopy=False), study.study_name)  # alike in every worker
            count, self.study = len(study.directions), study.study_name
            self.names = study.metric_names or (["value"] if count == 1 else [f"value_{i}" for i in range(count)])
            self.signs = [1.0 if d.name == "MINIMIZE" else -1.0 for d in study.directions]
            self.join(f"optuna\0{self.study}\0{first.datetime_start.isoformat()}", self.study,
                      f"Optuna study {self.study!r}",
                      lambda: {"engine": "optuna", "study": self.study, "directions": [
                          "minimize" if s > 0 else "maximize" for s in self.signs]})

    def _fields(self, run: Any, trial: Any, state: str) -> None:
        run.log_params(dict(trial.params))
        run.set_fields(optuna={"study": self.study, "trial": trial.number, "state": state})

    def __call__(self, study: Any, trial: Any) -> None:
        self._join(study)
        self.submit(lambda: self._record(study, trial, self.child(str(trial.number), "optuna")))

    def _record(self, study: Any, trial: Any, run: Any) -> None:
        steps = trial.intermediate_values
        for step, value in sorted(steps.items()):
            run.log_metric("intermediate_value", value, step=step)
        run.log_metrics(dict(zip(self.names, trial.values or ())))
        if trial.duration is not None:
            run.log_metric("duration_s", trial.duration.total_seconds())
        self._fields(run, trial, trial.state.name)
        self.end_trial(run, trial.state.name.lower(), "Optuna", max(steps, default=None))
        feasible = all(v <= 0 for v in getattr(trial, "constraints", {}).values())  # optuna >= 5
        if trial.state == TrialState.COMPLETE and feasible:
            self.mark(str(trial.number), run, list(trial.values), self.signs, lambda: _best(study))

    def finish(self, study: Any, importance: bool = True) -> None:
        """Best trial or front, counts, importance (`importance=False`: none, no scikit-learn import) onto
        the parent, which ends if this process made it."""
        self._join(study)
        trials, one = study.get_trials(deepcopy=False), len(self.names) == 1
        self.conclude(
            {"n_trials": len(trials), "n_complete": sum(t.state == TrialState.COMPLETE for t in trials)},
            lambda: _best(study),
            None if one else [{"key": str(t.number), "number": t.number, "values": list(t.values)}
                              for t in sorted(study.best_trials, key=lambda t: t.number)],
            None if not importance else _importance(study, None) if one else {
                n: _importance(study, lambda t, i=i, s=s: s * t.values[i])
                for i, (n, s) in enumerate(zip(self.names, self.signs))},
            self.names[0])


def _best(study: Any) -> tuple[str, dict[str, Any]] | None:
    try:
        best = study.best_trial
    except ValueError:  # no complete feasible trial yet
        return None
    return str(best.number), {"number": best.number, "value": best.value, "params": dict(best.params)}


def _importance(study: Any, target: Any) -> dict[str, float]:
    try:
        with warnings.catch_warnings():  # "low target values": the target is a loss
            warnings.simplefilter("ignore", UserWarning)
            return {k: float(v) for k, v in optuna.importance.get_param_importances(study, target=target).items()}
    except (RuntimeError, ValueError):  # too few trials or params
        return {}
