"""The project's own settings: `.specweave/ml.yaml`, optional, safe-loaded.

    # .specweave/ml.yaml
    tracking_uri: http://mlflow.example.com:5000   # a team MLflow server (reads include its runs)
    primary_metric: auc                             # what "best" means when comparing
    artifacts:                                      # the object store (skill/storage/objects.py)
      remote: s3://bucket/prefix                    # where `sw-ml artifacts push/pull` copy objects (fsspec URL)
      storage_options: {endpoint_url: ...}          # passed to fsspec for the remote (keep secrets out: env)
      in_git_max_bytes: 256KiB                      # text artifacts up to this stay in the folder, in git
      lfs: false                                    # true (`sw-ml init --lfs`): binaries stay in the folder via LFS

Environment variables outrank the file: `SPECWEAVE_TRACKING_URI`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import DamagedFile, schema_problem
from .layout import SPECWEAVE_DIR
from .storage.bounded_parsing import read_yaml
from .storage.signatures import file_signature

CONFIG_FILE = "ml.yaml"
TRACKING_URI_ENV = "SPECWEAVE_TRACKING_URI"


# Text artifacts (json, csv, md, yaml) up to this size stay in the experiment folder, in git; larger ones,
# models and binary files go to the object store. 256 KiB keeps in git what a person reviews in a diff
# (configs, reports, metric tables, a few thousand rows of predictions) and sends to the store the data
# dumps that are rewritten whole on every run and nobody reads line by line.
DEFAULT_IN_GIT_MAX_BYTES = 256 * 1024
_SIZE_RE = re.compile(r"^\s*(\d+)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1000, "kib": 1024, "m": 1 << 20, "mb": 10**6, "mib": 1 << 20,
          "g": 1 << 30, "gb": 10**9, "gib": 1 << 30}


class ArtifactSettings(BaseModel):
    """`artifacts:` in ml.yaml: where models and artifacts live, and the remote that shares them."""

    model_config = ConfigDict(extra="forbid")  # a misspelt key would silently change where bytes go

    remote: str | None = Field(None, description="fsspec URL of the remote for `sw-ml artifacts push/pull`")
    storage_options: dict[str, Any] = Field(default_factory=dict, description="fsspec options for the remote")
    in_git_max_bytes: int = Field(DEFAULT_IN_GIT_MAX_BYTES, ge=0,
                                  description="text artifacts up to this many bytes stay in git")
    lfs: bool = Field(False, description="binaries with the extensions `sw-ml init --lfs` routes through Git "
                      "LFS stay in the experiment folder")

    @field_validator("in_git_max_bytes", mode="before")
    @classmethod
    def _size(cls, value: Any) -> Any:
        """`262144`, `256KiB`, `1 MB`."""
        if isinstance(value, str):
            match = _SIZE_RE.match(value)
            if not match:
                raise ValueError("expected a size like 262144, 256KiB or 1MB")
            return int(match.group(1)) * _UNITS[(match.group(2) or "").lower()]
        return value


class ProjectConfig(BaseModel):
    """Settings read from `.specweave/ml.yaml`; unknown keys are kept for other tools."""

    model_config = ConfigDict(extra="allow")

    tracking_uri: str | None = None
    primary_metric: str | None = None
    artifacts: ArtifactSettings = Field(default_factory=ArtifactSettings)


_cache: dict[str, tuple[tuple[int, int], ProjectConfig]] = {}


def config_path(root: Path) -> Path:
    return root / SPECWEAVE_DIR / CONFIG_FILE


def load_config(root: Path) -> ProjectConfig:
    """The project config (defaults when the file is absent); cached until the file changes."""
    path = config_path(root)
    key = file_signature(path, follow=True)
    if key is None:
        return ProjectConfig()
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
        raise DamagedFile(str(path), schema_problem(exc)) from None
    _cache[str(path)] = (key, config)
    return config


def team_tracking_uri(root: Path) -> str | None:
    """The team MLflow server, if any: SPECWEAVE_TRACKING_URI, then `tracking_uri` in ml.yaml."""
    env = os.environ.get(TRACKING_URI_ENV, "").strip()
    if env:
        return env
    uri = load_config(root).tracking_uri
    return uri.strip() if uri and uri.strip() else None


__all__ = ["CONFIG_FILE", "DEFAULT_IN_GIT_MAX_BYTES", "TRACKING_URI_ENV", "ArtifactSettings", "ProjectConfig",
           "config_path", "load_config", "team_tracking_uri"]
