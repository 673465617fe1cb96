"""Keras 3: `model.fit(..., callbacks=[SpecweaveCallback()])`.

A `keras.callbacks.Callback`: the model's name, size and optimizer settings as params, every epoch's
logs at step = epoch (batch logs too with `log_batches=True`, at the global batch), and the trained
model as `model.keras` (which `load_model` returns). Beside it, `TensorBoardCallback` also writes
TensorBoard event files.
"""

from __future__ import annotations

from typing import Any

import keras

from ..tracking.experiment import Experiment
from .framework_runs import end_run, numbers, open_run


class SpecweaveCallback(keras.callbacks.Callback):
    """Log a Keras `fit`; `model_file=None` skips saving the model."""

    def __init__(self, name: str | None = None, increment: str | None = None, *, log_batches: bool = False,
                 model_file: str | None = "model.keras", tags: list[str] | None = None, root: str | None = None,
                 experiment: Experiment | None = None) -> None:
        super().__init__()
        self.run_name, self.log_batches, self.model_file = name, log_batches, model_file
        self._options = {"increment": increment, "tags": tags, "root": root}
        self._given = experiment
        self.experiment: Experiment | None = experiment
        self._batch = 0

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        model = self.model
        self.experiment = open_run(self.run_name or f"keras-{model.name}", experiment=self._given, source="keras",
                                   **self._options)
        self._batch = 0
        params: dict[str, Any] = {"model": model.name, "n_params": model.count_params(),
                                  "fit": {k: v for k, v in (self.params or {}).items() if v is not None}}
        optimizer = getattr(model, "optimizer", None)
        if optimizer is not None:
            params["optimizer"] = {k: v for k, v in optimizer.get_config().items() if isinstance(v, (int, float, str))}
        self.experiment.log_params(params)

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self.log_batches and logs:
            self.experiment.log_metrics({f"batch/{k}": v for k, v in numbers(logs).items()}, step=self._batch)
        self._batch += 1

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs:
            self.experiment.log_metrics(numbers(logs), step=epoch)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.experiment is None:
            return
        if self.model_file:
            self.experiment.save_model(self.model, self.model_file)
        if self._given is None:
            end_run(self.experiment)
