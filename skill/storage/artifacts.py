"""Saving models and artifacts, and loading a saved model back: the three doors, each a few lines over
the modules that hold the rules (`placement`: where the bytes go; `save_journal`: a save killed half-way;
`artifact_values` and `codecs`: the formats; `verification`: the recorded bytes, checked).

Every write lands through a temp file and a rename. Reading never unpickles:
readers only see the record (name, size, sha256, class) kept in metadata.yaml.
The one exception is `load_model`, for the Python API (no MCP tool calls it),
which checks the file's sha256 against that record before it unpickles.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from ..schemas.records import ArtifactInfo
from .artifact_values import encode_artifact
from .codecs import decode_model, model_codec
from .codecs.base import top_module
from .placement import artifact_target, probe_limit, route, settings_of, stage
from .save_journal import Record, place_recorded
from .verification import artifact_file, read_verified


def write_artifact(folder: Path, name: str, obj: Any, kind: str = "artifact", *,
                   record: Record | None = None, in_git: bool | None = None) -> ArtifactInfo:
    """Save an artifact under `name` of the experiment `folder`, in the folder or the object store (see
    `route`; `in_git` forces either); `record` (if given) adds it to the metadata."""
    rel, target = artifact_target(folder, name)
    settings = settings_of(folder)
    route(settings, kind, rel, 0, True, in_git)  # a bad in_git is refused before anything is written
    payload, fmt = encode_artifact(obj, name)
    tmp, size, sha, text = stage(target, payload, probe_limit(settings, kind, in_git))
    stored = route(settings, kind, rel, size, text, in_git)
    info = ArtifactInfo(name=rel, kind=kind, size=size, sha256=sha, format=fmt, stored=stored)  # type: ignore[arg-type]
    return place_recorded(tmp, target, folder, info, record)


def _library_of(top: str) -> tuple[str, str | None]:
    """The library `top` (a top-level package) and its version."""
    version = getattr(sys.modules.get(top), "__version__", None)
    if version is None:
        try:
            from importlib.metadata import version as dist_version

            version = dist_version(top)
        except Exception:  # not every module is a distribution
            version = None
    return top, str(version) if version is not None else None


def write_model(folder: Path, model: Any, filename: str, *, record: Record | None = None,
                in_git: bool | None = None) -> ArtifactInfo:
    """Save a model (pickle unless the extension says otherwise) and describe it; it goes to the object
    store unless `in_git=True` (or LFS takes its extension)."""
    rel, target = artifact_target(folder, filename)
    settings = settings_of(folder)
    route(settings, "model", rel, 0, False, in_git)  # a bad in_git is refused before anything is written
    suffix = Path(rel).suffix.lower()
    payload, fmt = model_codec(model, suffix, rel).encode(model, suffix, rel)
    tmp, size, sha, _ = stage(target, payload)
    if isinstance(model, os.PathLike):  # a file the library wrote (a checkpoint): no class to name
        model_class, (library, version) = None, _library_of(fmt)  # the one codec copying files: torch's
    else:
        model_class = f"{type(model).__module__}.{type(model).__qualname__}"
        library, version = _library_of(top_module(model))
    info = ArtifactInfo(
        name=rel, kind="model", size=size, sha256=sha, format=fmt, model_class=model_class, library=library,
        library_version=version, stored=route(settings, "model", rel, size, False, in_git),  # type: ignore[arg-type]
    )
    return place_recorded(tmp, target, folder, info, record)


def load_model(record: Any, name: str = "model.pkl") -> Any:
    """Load a model that `save_model` saved in the experiment `record` (an ExperimentRecord).

    Only a file recorded in the experiment's metadata is loaded, from the experiment folder or the object
    store (`artifact_file`); its bytes are read without following a link (a linked file or folder is
    refused), and their size and sha256 are checked against the record BEFORE anything is unpickled: a
    file changed since it was saved (tampered, or overwritten by hand) is refused in one line. The format
    recorded at save time decides how it is loaded (pickle, joblib, torch, keras, a booster's native
    format, onnx). The check proves the file is the one metadata.yaml describes; trusting metadata.yaml
    itself is what reviewing it in git is for.
    """
    info, path = artifact_file(record, name)
    return decode_model(info, read_verified(info, path))  # nothing is decoded before the check


__all__ = ["load_model", "write_artifact", "write_model"]
