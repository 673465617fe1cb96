"""Optuna: one run per trial under a sweep parent, the best trial (or the Pareto front) marked.

    from specweave.optuna import SpecweaveCallback

    cb = SpecweaveCallback()
    study.optimize(objective, n_trials=50, callbacks=[cb])
    cb.finish(study)  # optional: importance and the best trial on the parent

To log from inside the objective, decorate it: each trial is then its own run while it runs, and
`cb.experiment` is that run (the callback completes it; an exception ends it failed with its traceback):

    @cb.track_in_specweave()
    def objective(trial):
        x = trial.suggest_float("x", -4, 4)
        for step in range(10):
            cb.experiment.log_metric("loss", (x - 1) ** 2 / (step + 1), step=step)
        return (x - 1) ** 2

    study.optimize(objective, n_trials=50, callbacks=[cb])

Works with several workers sharing one RDB storage. Needs the `optuna` extra.
"""

from __future__ import annotations

from skill.extras import require

require("optuna", "optuna")

from skill.integrations.optuna_cb import SpecweaveCallback

__all__ = ["SpecweaveCallback"]
