"""Keras 3: epoch (and optionally batch) metrics and the trained model, from one callback.

    from specweave.keras import SpecweaveCallback

    model.fit(X, y, epochs=10, callbacks=[SpecweaveCallback(increment="0042")])

`specweave.TensorBoardCallback` writes TensorBoard event files as well. Needs the `keras` extra and
a Keras backend (KERAS_BACKEND=torch or jax when TensorFlow is absent).
"""

from __future__ import annotations

from skill.extras import require

require("keras", "keras")

from skill.integrations.keras_cb import SpecweaveCallback  # noqa: E402

__all__ = ["SpecweaveCallback"]
