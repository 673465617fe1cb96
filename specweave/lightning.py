"""PyTorch Lightning: `Trainer(logger=SpecweaveLogger())` logs hparams, metrics and checkpoints.

    from specweave.lightning import SpecweaveLogger

    trainer = Trainer(logger=SpecweaveLogger(increment="0042", log_checkpoints="best"))

Needs the `lightning` extra.
"""

from __future__ import annotations

from skill.extras import require

require("lightning", "lightning")

from skill.integrations.lightning_logger import SpecweaveLogger  # noqa: E402

__all__ = ["SpecweaveLogger"]
