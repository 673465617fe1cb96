"""Hugging Face transformers: `Trainer(..., callbacks=[SpecweaveCallback()])`.

A `TrainerCallback` (so TRL's and sentence-transformers' trainers, which subclass `Trainer`, work too):
TrainingArguments and the model config as params, every `on_log` dict (training loss, learning rate,
eval metrics) at the global step, the epoch once a step (Trainer repeats it in each log of a step), the
final model on request; `evaluate()` alone makes a run too. Main process only. `report_to` is a closed
list inside transformers, so the callback is passed in `callbacks`, beside `report_to="none"`.
"""

from __future__ import annotations

from typing import Any

from transformers import TrainerCallback

from ..tracking.experiment import Experiment
from .framework_runs import end_run, numbers, open_run


class SpecweaveCallback(TrainerCallback):
    """Log a transformers `Trainer` run; `log_model=True` saves the trained model as `model.pt`."""

    def __init__(self, name: str = "transformers", increment: str | None = None, *, log_model: bool = False,
                 tags: list[str] | None = None, root: str | None = None, system_metrics: bool | float | None = None,
                 experiment: Experiment | None = None) -> None:
        self.name, self.log_model = name, log_model
        self._options = {"increment": increment, "tags": tags, "root": root, "system_metrics": system_metrics}
        self._given, self._eval_only = experiment, False
        self._epoch_step: int | None = None  # the step whose epoch is logged: one point a step
        self.experiment: Experiment | None = experiment

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        if not state.is_world_process_zero:
            return
        if self.experiment is None or (self._given is None and self.experiment.status != "running"):
            self.experiment = open_run(self.name, experiment=self._given, source="transformers", **self._options)
            self._epoch_step = None
        params: dict[str, Any] = {"args": args.to_dict()}
        config = getattr(model, "config", None)
        if config is not None:
            params["model"] = config if isinstance(config, dict) else config.to_dict()
            params["model_class"] = type(model).__name__
        self.experiment.log_params(params)

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None,
               model: Any = None, **kwargs: Any) -> None:
        if not state.is_world_process_zero or not logs:
            return
        if self.experiment is None:  # evaluate() before any train(): a run of its own, ended by on_evaluate
            self.on_train_begin(args, state, control, model=model)
            self._eval_only = True
        values, step = numbers(logs), state.global_step
        epoch = values.pop("epoch", None)
        if epoch is None and state.epoch is not None:
            epoch = float(state.epoch)
        if epoch is not None and step != self._epoch_step:  # Trainer repeats it in each log of a step
            values["epoch"], self._epoch_step = epoch, step
        self.experiment.log_metrics(values, step=step)

    def on_evaluate(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self._eval_only:  # a later evaluate() adds to this run, as one after train() adds to that one
            self._eval_only = False
            if self._given is None:
                end_run(self.experiment)  # type: ignore[arg-type]

    def on_train_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        if self.experiment is None or not state.is_world_process_zero:
            return
        if self.log_model and model is not None:
            self.experiment.save_model(model, "model.pt")
        if state.best_model_checkpoint:
            self.experiment.set_fields(best_checkpoint={"path": state.best_model_checkpoint,
                                                        "metric": state.best_metric})
        if self._given is None:
            end_run(self.experiment)
