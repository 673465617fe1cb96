"""specweave-ml: experiment tracking that lives in your repository.

    from specweave import track_experiment

    with track_experiment("baseline") as exp:
        exp.log_param("lr", 0.1)
        exp.log_metric("accuracy", 0.87)

Names load on first use, so `import specweave` costs almost nothing.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "track_experiment": "skill.tracking.track",
    "Experiment": "skill.tracking.experiment",
    "ExperimentMetadata": "skill.schemas.records",
    "SpecweaveError": "skill.errors",
    "InvalidInput": "skill.errors",
    "NotFound": "skill.errors",
    "AmbiguousReference": "skill.errors",
    "MissingExtra": "skill.errors",
    "list_increments": "specweave._api",
    "list_experiments": "specweave._api",
    "get_experiment": "specweave._api",
    "compare_experiments": "specweave._api",
    "log_decision": "specweave._api",
    "read_decisions": "specweave._api",
    "sync_living_docs": "specweave._api",
    "export_experiments": "specweave._api",
    "experiments_dataframe": "specweave._api",
    "metric_history_dataframe": "specweave._api",
    "load_model": "specweave._api",
    "diff_experiments": "specweave._api",
    "import_runs": "specweave._api",
    "parse_where": "specweave._api",
    "configure_mlflow": "skill.integrations.mlflow_local",
    "configure_wandb": "skill.integrations.wandb_mirror",
    "TensorBoardCallback": "skill.integrations.tensorboard_cb",
    "autolog": "skill.integrations.sklearn_autolog",
    "AutoTracker": "skill.workflows.autotrack",
    "track_hyperparameters": "skill.workflows.sweeps",
    "track_grid_search": "skill.workflows.sweeps",
    "track_cross_validation": "skill.workflows.crossval",
    "compare_models": "skill.workflows.model_compare",
    "ExperimentPipeline": "skill.workflows.pipeline",
    "track_artifacts": "skill.workflows.artifact_capture",
}

# the public API, spelled out (a test keeps it equal to _EXPORTS)
__all__ = [
    "__version__",
    "AmbiguousReference",
    "autolog",
    "AutoTracker",
    "compare_experiments",
    "compare_models",
    "configure_mlflow",
    "configure_wandb",
    "diff_experiments",
    "Experiment",
    "ExperimentMetadata",
    "ExperimentPipeline",
    "experiments_dataframe",
    "export_experiments",
    "get_experiment",
    "import_runs",
    "InvalidInput",
    "list_experiments",
    "list_increments",
    "load_model",
    "log_decision",
    "metric_history_dataframe",
    "MissingExtra",
    "NotFound",
    "parse_where",
    "read_decisions",
    "SpecweaveError",
    "sync_living_docs",
    "TensorBoardCallback",
    "track_artifacts",
    "track_cross_validation",
    "track_experiment",
    "track_grid_search",
    "track_hyperparameters",
]

if TYPE_CHECKING:
    from skill.errors import AmbiguousReference, InvalidInput, MissingExtra, NotFound, SpecweaveError
    from skill.integrations.mlflow_local import configure_mlflow
    from skill.integrations.sklearn_autolog import autolog
    from skill.integrations.tensorboard_cb import TensorBoardCallback
    from skill.integrations.wandb_mirror import configure_wandb
    from skill.schemas.records import ExperimentMetadata
    from skill.tracking.experiment import Experiment
    from skill.tracking.track import track_experiment
    from skill.workflows.artifact_capture import track_artifacts
    from skill.workflows.autotrack import AutoTracker
    from skill.workflows.crossval import track_cross_validation
    from skill.workflows.model_compare import compare_models
    from skill.workflows.pipeline import ExperimentPipeline
    from skill.workflows.sweeps import track_grid_search, track_hyperparameters

    from ._api import (
        compare_experiments,
        experiments_dataframe,
        export_experiments,
        get_experiment,
        import_runs,
        list_experiments,
        list_increments,
        log_decision,
        parse_where,
        read_decisions,
        sync_living_docs,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'specweave' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
