"""The project's own settings: `.specweave/ml.yaml`, optional, safe-loaded.

    # .specweave/ml.yaml
    tracking_uri: http://mlflow.example.com:5000   # a team MLflow server (reads include its runs)
    primary_metric: auc                             # what "best" means when comparing

Environment variables outrank the file: `SPECWEAVE_TRACKING_URI`.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import DamagedFile
from .layout import SPECWEAVE_DIR
from .storage.fileio import read_yaml

CONFIG_FILE = "ml.yaml"
TRACKING_URI_ENV = "SPECWEAVE_TRACKING_URI"


class ProjectConfig(BaseModel):
    """Settings read from `.specweave/ml.yaml`; unknown keys are kept for other tools."""

    model_config = ConfigDict(extra="allow")

    tracking_uri: str | None = None
    primary_metric: str | None = None


_cache: dict[str, tuple[tuple[int, int], ProjectConfig]] = {}


def config_path(root: Path) -> Path:
    return root / SPECWEAVE_DIR / CONFIG_FILE


def load_config(root: Path) -> ProjectConfig:
    """The project config (defaults when the file is absent); cached until the file changes."""
    path = config_path(root)
    try:
        st = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return ProjectConfig()
    key = (st.st_mtime_ns, st.st_size)
    cached = _cache.get(str(path))
    if cached and cached[0] == key:
        return cached[1]
    data = read_yaml(path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise DamagedFile(str(path), "expected a mapping of setting: value")
    try:
        config = ProjectConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "document"
        raise DamagedFile(str(path), f"{where}: {first['msg']}") from None
    _cache[str(path)] = (key, config)
    return config


def team_tracking_uri(root: Path) -> str | None:
    """The team MLflow server, if any: SPECWEAVE_TRACKING_URI, then `tracking_uri` in ml.yaml."""
    env = os.environ.get(TRACKING_URI_ENV, "").strip()
    if env:
        return env
    uri = load_config(root).tracking_uri
    return uri.strip() if uri and uri.strip() else None


__all__ = ["CONFIG_FILE", "TRACKING_URI_ENV", "ProjectConfig", "config_path", "load_config", "team_tracking_uri"]
