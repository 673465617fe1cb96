"""Where other trackers keep their files inside an increment, and keeping them out of git.

    experiments/
      .gitignore       written here: the lines below, once
      mlflow.db        MLflow's sqlite store (binary: conflicts on every merge)
      mlartifacts/     MLflow's artifacts (models: large)
      wandb/           W&B's run folders (logs, binary history, debug files)

These are per-machine caches of another tool, read by `skill.storage.external` on
this machine; what is shared through git is the plain experiment folders
(the `specweave.mlflow` / `specweave.wandb` wrappers write one per run) and,
for a team, an MLflow server (`sw-ml push`).
"""

from __future__ import annotations

from pathlib import Path

from ..layout import EXPERIMENTS_DIR, MLFLOW_DB
from ..schemas.records import Increment
from .gitfiles import ensure_lines
from .store_dirs import make_store_dirs

MLFLOW_ARTIFACTS = "mlartifacts"
WANDB_DIR = "wandb"

_IGNORE_HEADER = (
    "# Written by specweave: other trackers' local stores (binary, large, per machine) stay out of git.\n"
    "# Share their runs with a team MLflow server (`sw-ml push --to URI`) or log through\n"
    "# specweave.mlflow / specweave.wandb, which also write plain experiment folders.\n"
)
_IGNORE_LINES = (f"/{MLFLOW_DB}", f"/{MLFLOW_DB}-*", f"/{MLFLOW_ARTIFACTS}/", f"/{WANDB_DIR}/")


def experiments_dir(increment: Increment) -> Path:
    return increment.path / EXPERIMENTS_DIR


def mlflow_db(increment: Increment) -> Path:
    return experiments_dir(increment) / MLFLOW_DB


def mlflow_artifacts(increment: Increment) -> Path:
    return experiments_dir(increment) / MLFLOW_ARTIFACTS


def wandb_root(increment: Increment) -> Path:
    """The folder given to W&B as WANDB_DIR: it makes `wandb/` inside it."""
    return experiments_dir(increment)


def made_wandb_root(increment: Increment) -> Path:
    """`wandb_root`, git-ignored and made (never through a folder a clone committed as a link)."""
    ensure_ignored(increment)
    return make_store_dirs(wandb_root(increment))


def sqlite_uri(path: Path) -> str:
    return f"sqlite:///{path.resolve()}"


def ensure_ignored(increment: Increment) -> Path:
    """Add the ignore lines to `experiments/.gitignore`, keeping whatever a person wrote there."""
    path = experiments_dir(increment) / ".gitignore"
    ensure_lines(path, _IGNORE_LINES, _IGNORE_HEADER)
    return path


__all__ = [
    "MLFLOW_ARTIFACTS",
    "MLFLOW_DB",
    "WANDB_DIR",
    "ensure_ignored",
    "experiments_dir",
    "mlflow_artifacts",
    "mlflow_db",
    "sqlite_uri",
    "wandb_root",
]
