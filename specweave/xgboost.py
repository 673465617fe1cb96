"""XGBoost: per-iteration metrics, the best iteration and the booster, from one callback.

    from specweave.xgboost import SpecweaveCallback

    xgb.train(params, dtrain, evals=[(dvalid, "valid")], callbacks=[SpecweaveCallback("xgb")])

Needs the `xgboost` extra (the CPU-only `xgboost-cpu` wheel is enough).
"""

from __future__ import annotations

from skill.extras import require

require("xgboost", "xgboost")

from skill.integrations.xgboost_cb import SpecweaveCallback  # noqa: E402

__all__ = ["SpecweaveCallback"]
