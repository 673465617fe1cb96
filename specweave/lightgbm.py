"""lightgbm: per-iteration metrics, the best iteration and the model, from one callback.

    from specweave.lightgbm import SpecweaveCallback

See skill/integrations/lightgbm_cb.py for what is logged. Needs the `lightgbm` extra.
"""

from __future__ import annotations

from skill.extras import require

require("lightgbm", "lightgbm")

from skill.integrations.lightgbm_cb import SpecweaveCallback  # noqa: E402

__all__ = ["SpecweaveCallback"]
