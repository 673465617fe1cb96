"""catboost: per-iteration metrics, the best iteration and the model, from one callback.

    from specweave.catboost import SpecweaveCallback

See skill/integrations/catboost_cb.py for what is logged. Needs the `catboost` extra.
"""

from __future__ import annotations

from skill.extras import require

require("catboost", "catboost")

from skill.integrations.catboost_cb import SpecweaveCallback  # noqa: E402

__all__ = ["SpecweaveCallback"]
