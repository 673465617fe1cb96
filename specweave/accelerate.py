"""Hugging Face accelerate: a tracker that writes one specweave run from the main process.

    from specweave.accelerate import SpecweaveTracker

    accelerator = Accelerator(log_with=SpecweaveTracker("finetune", increment="0042"))
    accelerator.init_trackers("finetune", config={"lr": 1e-4})
    accelerator.log({"loss": loss}, step=step)
    accelerator.end_training()

Importing this module also registers the tracker by name, so `Accelerator(log_with="specweave")`
works (accelerate >= 1.13). Needs the `accelerate` extra.
"""

from __future__ import annotations

from skill.extras import require

_tracking = require("accelerate.tracking", "accelerate")

from skill.integrations.accelerate_tracker import SpecweaveTracker  # noqa: E402

if hasattr(_tracking, "register_tracker_class"):
    _tracking.register_tracker_class(SpecweaveTracker)

__all__ = ["SpecweaveTracker"]
