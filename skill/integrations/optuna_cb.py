"""Optuna: `study.optimize(objective, callbacks=[SpecweaveCallback()])`.

One child run per finished trial under one sweep parent: params, value(s), intermediate values at
their steps, and the state (pruned: status `killed`, tag `pruned`; failed). Optuna's best trial is
tagged `best` and recorded on the parent. Workers sharing one RDB storage share the parent (the first
creates it). `finish(study)` adds parameter importance and ends the parent (else it ends at exit).
"""

from __future__ import annotations

from typing import Any

from optuna.trial import TrialState

from ..workflows.sweeps import SharedSweep, join_sweep


class SpecweaveCallback:
    """Log every finished trial of a study as a run under one sweep parent."""

    def __init__(self, name: str | None = None, increment: str | None = None, *, root: str | None = None) -> None:
        self.name, self.increment, self.root = name, increment, root
        self.sweep: SharedSweep | None = None

    def _join(self, study: Any) -> SharedSweep:
        if self.sweep is None:
            first = study.get_trials(deepcopy=False)[0]  # alike in every worker of this study
            key = f"optuna\0{study.study_name}\0{first.datetime_start.isoformat()}"
            self.sweep = join_sweep(key, self.name or study.study_name, self.increment, root=self.root,
                                    description=f"Optuna study {study.study_name!r}")
            if self.sweep.parent is not None:
                self.sweep.parent.log_params({"engine": "optuna", "study": study.study_name,
                                              "directions": [d.name.lower() for d in study.directions]})
        return self.sweep

    @staticmethod
    def _metric_names(study: Any) -> list[str]:
        count = len(study.directions)
        return list(study.metric_names or (["value"] if count == 1 else [f"value_{i}" for i in range(count)]))

    def __call__(self, study: Any, trial: Any) -> None:
        sweep = self._join(study)
        child = sweep.child(f"{sweep.parent_id} trial {trial.number}", source="optuna")
        child.log_params(dict(trial.params))
        for step, value in sorted(trial.intermediate_values.items()):
            child.log_metric("intermediate_value", value, step=step)
        if trial.values is not None:
            child.log_metrics(dict(zip(self._metric_names(study), trial.values)))
        if trial.duration is not None:
            child.log_metric("duration_s", trial.duration.total_seconds())
        child.set_fields(optuna={"study": study.study_name, "trial": trial.number, "state": trial.state.name})
        sweep.register(str(trial.number), child)
        if trial.state == TrialState.PRUNED:
            child.add_tag("pruned")
            last = max(trial.intermediate_values, default=None)
            child.end("killed", note=f"pruned by Optuna at step {last}")
        elif trial.state == TrialState.FAIL:
            child.end("failed", note="the trial failed (Optuna caught its error; see the worker's log)")
        else:
            child.end()
        if trial.state == TrialState.COMPLETE and len(study.directions) == 1:
            sweep.mark_best(lambda: self._best(study))

    @staticmethod
    def _best(study: Any) -> tuple[str, dict[str, Any]] | None:
        try:
            best = study.best_trial
        except ValueError:  # no complete trial yet
            return None
        return str(best.number), {"number": best.number, "value": best.value, "params": dict(best.params)}

    def finish(self, study: Any) -> None:
        """Best trial and importance onto the parent; ends it if this process created it."""
        import optuna

        sweep = self._join(study)
        if len(study.directions) == 1:
            sweep.mark_best(lambda: self._best(study))
        parent = sweep.parent
        if parent is None:
            return
        trials = study.get_trials(deepcopy=False)
        complete = [t for t in trials if t.state == TrialState.COMPLETE]
        parent.log_params({"n_trials": len(trials), "n_complete": len(complete)})
        if len(study.directions) == 1 and complete:
            parent.log_params({"best": dict(study.best_trial.params)})
            parent.log_metrics({self._metric_names(study)[0]: study.best_value})
            try:
                importance = optuna.importance.get_param_importances(study)
            except (RuntimeError, ValueError):  # too few trials or params to judge
                importance = {}
            parent.log_params({"importance": {k: float(v) for k, v in importance.items()}})
        parent.end()
