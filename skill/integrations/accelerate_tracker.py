"""Hugging Face accelerate: `Accelerator(log_with=SpecweaveTracker())` or, registered, `log_with="specweave"`.

A `GeneralTracker`: `init_trackers`' config as params, `accelerator.log(values, step=...)` as metrics,
`end_training` ends the run. Main process only (accelerate's rule, and the tracker's own rank rule).
"""

from __future__ import annotations

from typing import Any

from accelerate.tracking import GeneralTracker, on_main_process

from ..tracking.experiment import Experiment
from .framework_runs import end_run, numbers, open_run


class SpecweaveTracker(GeneralTracker):
    """An accelerate tracker writing one specweave run; `run_name` is the experiment's name (accelerate
    passes `init_trackers`' project name here when the tracker is chosen by name)."""

    name = "specweave"
    requires_logging_directory = False
    main_process_only = True

    def __init__(self, run_name: str = "accelerate", increment: str | None = None, *, tags: list[str] | None = None,
                 root: str | None = None, system_metrics: bool | float | None = None,
                 experiment: Experiment | None = None) -> None:
        super().__init__()
        self.run_name = run_name
        self._options = {"increment": increment, "tags": tags, "root": root, "system_metrics": system_metrics}
        self._given = experiment
        self.experiment: Experiment | None = experiment

    @on_main_process
    def start(self) -> None:
        if self.experiment is None:
            self.experiment = open_run(self.run_name, source="accelerate", **self._options)

    @property
    def tracker(self) -> Experiment | None:
        return self.experiment

    @on_main_process
    def store_init_configuration(self, values: dict[str, Any]) -> None:
        self.start()
        self.experiment.log_params(dict(values))

    @on_main_process
    def log(self, values: dict[str, Any], step: int | None = None, **kwargs: Any) -> None:
        self.start()
        self.experiment.log_metrics(numbers(values), step=step)

    @on_main_process
    def finish(self) -> None:
        if self.experiment is not None and self._given is None:
            end_run(self.experiment)
