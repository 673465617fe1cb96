"""Weights & Biases with specweave: each run is also a plain experiment folder in the increment.

    from specweave import wandb as sw_wandb

    run = sw_wandb.init(increment="0042", name="xgboost")
    run.log({"auc": 0.87})
    run.log_model("model.pkl")
    run.finish()

`configure_wandb(increment="0042")` sets the W&B project to the increment id,
keeps W&B's files under the increment, and mirrors plain `wandb.init` runs
too. Works offline (WANDB_MODE=offline). Needs the `wandb` extra.
"""

from __future__ import annotations

from skill.integrations.wandb_mirror import MirroredWandbRun, WandbTarget, configure_wandb, init

__all__ = ["MirroredWandbRun", "WandbTarget", "configure_wandb", "init"]
