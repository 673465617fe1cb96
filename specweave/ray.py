"""Ray Tune: one run per trial under a sweep parent, from one logger callback.

    from specweave.ray import SpecweaveLoggerCallback

    tuner = tune.Tuner(trainable, param_space=space,
                       tune_config=tune.TuneConfig(metric="score", mode="max"),
                       run_config=tune.RunConfig(callbacks=[SpecweaveLoggerCallback(metric="score", mode="max")]))

Needs the `ray` extra.
"""

from __future__ import annotations

from skill.extras import require

require("ray.tune", "ray")

from skill.integrations.ray_cb import SpecweaveLoggerCallback  # noqa: E402

__all__ = ["SpecweaveLoggerCallback"]
