"""MLflow with specweave: each run is also a plain experiment folder in the increment.

    from specweave import mlflow as sw_mlflow

    with sw_mlflow.start_run("xgboost", increment="0042"):
        sw_mlflow.log_param("n_estimators", 100)
        sw_mlflow.log_metric("auc", 0.87)

`configure_mlflow(increment="0042")` points plain `mlflow` at the increment
instead (its own sqlite store, or the team server). Needs the `mlflow` extra.
"""

from __future__ import annotations

from skill.integrations.mlflow_local import MlflowTarget, configure_mlflow
from skill.integrations.mlflow_mirror import (
    MirroredRun,
    active_run,
    end_run,
    log_artifact,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    set_tag,
    set_tags,
    start_run,
)

__all__ = [
    "MirroredRun",
    "MlflowTarget",
    "active_run",
    "configure_mlflow",
    "end_run",
    "log_artifact",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "set_tag",
    "set_tags",
    "start_run",
]
