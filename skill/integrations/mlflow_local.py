"""MLflow inside the increment: `configure_mlflow`.

    from specweave import configure_mlflow
    configure_mlflow(increment="0042")          # sqlite store in the increment's experiments/
    with mlflow.start_run(run_name="xgboost-v1"):
        mlflow.log_param("n_estimators", 100)

The store is `experiments/mlflow.db` with artifacts in `experiments/mlartifacts/`,
and the MLflow experiment is named after the increment id. With a team
server configured (SPECWEAVE_TRACKING_URI or `tracking_uri` in
`.specweave/ml.yaml`) MLflow is pointed at that server instead, under the
same experiment name.

The runs it logs are read back by `skill.storage.mlflow_store` (listed
beside the native experiments).
"""

from __future__ import annotations

import os

from pydantic import BaseModel

from ..config import team_tracking_uri
from ..extras import require
from ..storage import local_stores
from ..storage.mlflow_store import ensure_experiment, mlflow_client
from ..storage.increments import increment_for  # the same resolution (and zero-config creation) as logging
from ..storage.paths import find_root


class MlflowTarget(BaseModel):
    """Where `configure_mlflow` pointed MLflow."""

    increment: str
    tracking_uri: str
    experiment_name: str
    experiment_id: str
    artifact_location: str
    local: bool

    def __str__(self) -> str:
        return f"MLflow experiment {self.experiment_name!r} at {self.tracking_uri}"


def configure_mlflow(
    increment: str | None = None,
    *,
    root: str | os.PathLike[str] | None = None,
    tracking_uri: str | None = None,
) -> MlflowTarget:
    """Point MLflow (in this process) at the increment: its own sqlite store, or the team server.

    `increment` is "0042", a full id, or None for the active increment (one is
    created when the project has none, as `track_experiment` does). The MLflow
    experiment is named after the increment id. Returns where MLflow now logs.
    """
    mlflow = require("mlflow", "mlflow")

    project = find_root(root)
    inc, _created = increment_for(project, increment)
    uri = tracking_uri or team_tracking_uri(project)
    if uri:
        exp = ensure_experiment(mlflow_client(uri), inc.id)
        local = False
    else:
        local_stores.ensure_ignored(inc)
        uri = local_stores.sqlite_uri(local_stores.mlflow_db(inc))
        artifacts = local_stores.mlflow_artifacts(inc)
        # Explicit, or MLflow puts artifacts in ./mlruns of whatever the working directory is.
        exp = ensure_experiment(mlflow_client(uri), inc.id, artifacts.resolve().as_uri())
        local = True
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment(experiment_id=exp.experiment_id)
    return MlflowTarget(increment=inc.id, tracking_uri=uri, experiment_name=exp.name,
                        experiment_id=exp.experiment_id, artifact_location=exp.artifact_location, local=local)


__all__ = ["MlflowTarget", "configure_mlflow"]
