"""Ray Tune and Ray Train.

Tune: one run per trial under a sweep parent, from one logger callback:

    from specweave.ray import SpecweaveLoggerCallback

    tuner = tune.Tuner(trainable, param_space=space,
                       tune_config=tune.TuneConfig(metric="score", mode="max"),
                       run_config=tune.RunConfig(callbacks=[SpecweaveLoggerCallback(metric="score", mode="max")]))

Train: inside `train_loop_per_worker`, the worker of rank 0 writes the run, the others log into a no-op:

    from specweave.ray import setup_specweave

    def train_loop(config):
        with setup_specweave(config, "resnet", increment="0042", root="/path/to/project") as exp:
            ...
            exp.log_metric("loss", loss, step=epoch)

Needs the `ray` extra.
"""

from __future__ import annotations

from skill.extras import require

require("ray.tune", "ray")

from skill.integrations.ray_cb import SpecweaveLoggerCallback
from skill.integrations.ray_train import setup_specweave

__all__ = ["SpecweaveLoggerCallback", "setup_specweave"]
