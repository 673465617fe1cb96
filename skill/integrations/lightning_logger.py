"""Lightning: `Trainer(logger=SpecweaveLogger())`; Fabric: `Fabric(loggers=[SpecweaveLogger()])`.

Params, metrics at their step, checkpoints on request, the end from `finalize` (the Trainer calls it;
Fabric: `finalize("success")`, `with`, or the program's end). Rank 0 writes.
"""

from __future__ import annotations

from argparse import Namespace
from pathlib import Path
from typing import Any

from lightning.pytorch.loggers.logger import Logger, rank_zero_experiment
from lightning.pytorch.utilities.rank_zero import rank_zero_only

from ..tracking.experiment import Experiment
from .framework_runs import end_run, file_stem, numbers, open_run

_STATUS = {"failed": "failed", "aborted": "killed", "interrupted": "killed"}


class SpecweaveLogger(Logger):
    """`log_checkpoints`: False, "best" (at the end) or "all" (as saved), as `checkpoints/<name>.pt`
    (`load_model` gives the dict). `experiment`: a run you opened."""

    def __init__(self, name: str = "lightning", increment: str | None = None, *, log_checkpoints: bool | str = False,
                 tags: list[str] | None = None, root: str | None = None, system_metrics: bool | float | None = None,
                 experiment: Experiment | None = None) -> None:
        super().__init__()
        if log_checkpoints not in (False, True, "best", "all"):
            raise ValueError(f'log_checkpoints={log_checkpoints!r}: expected False, "best" or "all"')
        self._name, self._options = name, {"increment": increment, "tags": tags, "root": root,
                                           "system_metrics": system_metrics}
        self._log_checkpoints = "best" if log_checkpoints is True else log_checkpoints
        self._exp, self._owned = experiment, experiment is None  # its opener ends a run passed in
        self._saved: dict[str, float] = {}
        self._callback: Any = None

    @property
    def name(self) -> str:  # Lightning's checkpoint folder
        return "lightning_logs"

    @property
    def version(self) -> str | None:
        return self._exp.id if self._exp is not None else None

    @property
    @rank_zero_experiment
    def experiment(self) -> Experiment:
        if self._exp is None:
            self._exp = open_run(self._name, source="lightning", **self._options)
        return self._exp

    @rank_zero_only
    def log_hyperparams(self, params: dict[str, Any] | Namespace, *args: Any, **kwargs: Any) -> None:
        items = vars(params) if isinstance(params, Namespace) else dict(params)
        self.experiment.log_params({str(k): v for k, v in items.items()})

    @rank_zero_only
    def log_metrics(self, metrics: dict[str, Any], step: int | None = None) -> None:
        self.experiment.log_metrics(numbers(metrics), step=step)

    @rank_zero_only
    def after_save_checkpoint(self, checkpoint_callback: Any) -> None:
        self._callback = checkpoint_callback
        if self._log_checkpoints == "all":
            for path in (checkpoint_callback.best_model_path, checkpoint_callback.last_model_path,
                         *checkpoint_callback.best_k_models):
                self._save_checkpoint(path)

    def _save_checkpoint(self, path: str, as_name: str | None = None) -> None:
        file = Path(path or "")
        key, stamp = as_name or file.name, file.stat().st_mtime if path and file.is_file() else None
        if stamp is None or self._saved.get(key) == stamp:
            return
        self.experiment.save_model(file, f"checkpoints/{as_name or file_stem(file.stem)}.pt")  # copied, not loaded
        self._saved[key] = stamp

    @rank_zero_only
    def finalize(self, status: str) -> None:
        if self._exp is None:
            return
        callback = self._callback
        if callback is not None and self._log_checkpoints in ("best", "all") and callback.best_model_path:
            self._save_checkpoint(callback.best_model_path, "best")
            score = callback.best_model_score
            self._exp.set_fields(best_checkpoint={"monitor": callback.monitor, "score": None if score is None else
                                                  float(score), "path": Path(callback.best_model_path).name})
        if self._owned:
            end_run(self._exp, _STATUS.get(status, "completed"))

    def __enter__(self) -> SpecweaveLogger:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        self.finalize("success" if exc is None else "failed")  # notes the traceback
