"""Optuna: one run per trial under a sweep parent, the best trial marked, from one callback.

    from specweave.optuna import SpecweaveCallback

    callback = SpecweaveCallback()
    study.optimize(objective, n_trials=50, callbacks=[callback])
    callback.finish(study)  # optional: importance and the best trial on the parent

Works with several workers sharing one RDB storage. Needs the `optuna` extra.
"""

from __future__ import annotations

from skill.extras import require

require("optuna", "optuna")

from skill.integrations.optuna_cb import SpecweaveCallback  # noqa: E402

__all__ = ["SpecweaveCallback"]
