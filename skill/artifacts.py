"""Saving models and artifacts into an experiment folder, recording size and sha256.

Every write lands through a temp file and a rename. Reading never unpickles:
readers only see the record (name, size, sha256, class) kept in metadata.yaml.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from .errors import InvalidInput, UnsafePath
from .fileio import atomic_write, dumps_json, dumps_yaml, to_jsonable
from .integrations.optional import require
from .layout import RESERVED_FILES
from .models import ArtifactInfo
from .paths import contained, safe_relative


def artifact_target(folder: Path, name: str) -> tuple[str, Path]:
    """The checked relative name and absolute path of an artifact inside `folder`."""
    rel = safe_relative(name, "the experiment folder")
    if rel.as_posix() in RESERVED_FILES:
        raise InvalidInput(
            "artifact name", name,
            f"a name other than the experiment's own files ({', '.join(sorted(RESERVED_FILES))})",
        )
    target = folder / Path(*rel.parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    contained(target.parent, folder)  # a symlinked sub-folder must not lead out
    if target.is_symlink():
        raise UnsafePath(name, "the experiment folder")
    return rel.as_posix(), target


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _is_dataframe(obj: Any) -> bool:
    return type(obj).__module__.split(".", 1)[0] == "pandas" and type(obj).__name__ == "DataFrame"


def _is_figure(obj: Any) -> bool:
    return type(obj).__module__.startswith("matplotlib.") and hasattr(obj, "savefig")


def _dataframe_bytes(frame: Any, suffix: str, name: str) -> tuple[bytes, str]:
    if suffix == ".parquet":
        require("pyarrow", "parquet")
        buffer = io.BytesIO()
        frame.to_parquet(buffer)
        return buffer.getvalue(), "parquet"
    keep_index = type(frame.index).__name__ != "RangeIndex"
    if suffix == ".json":
        return frame.to_json(orient="records", indent=2).encode("utf-8") + b"\n", "json"
    return frame.to_csv(index=keep_index).encode("utf-8"), "csv"


def _figure_bytes(figure: Any, suffix: str) -> tuple[bytes, str]:
    fmt = suffix.lstrip(".") or "png"
    if fmt not in ("png", "svg", "pdf", "jpg", "jpeg"):
        fmt = "png"
    buffer = io.BytesIO()
    figure.savefig(buffer, format=fmt, bbox_inches="tight")
    return buffer.getvalue(), fmt


def _structured_bytes(obj: Any, suffix: str, name: str) -> tuple[bytes, str]:
    try:
        data = to_jsonable(obj)
    except TypeError as exc:
        raise InvalidInput(f"content of artifact {name!r}", type(obj).__name__, f"JSON-safe values ({exc})") from None
    if suffix in (".yaml", ".yml"):
        return dumps_yaml(data).encode("utf-8"), "yaml"
    return dumps_json(data).encode("utf-8"), "json"


def encode_artifact(obj: Any, name: str) -> tuple[bytes | Path, str]:
    """Bytes to write (or a file to copy) and the format used, chosen by type and extension."""
    suffix = Path(name).suffix.lower()
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return bytes(obj), "bytes"
    if isinstance(obj, os.PathLike):
        source = Path(obj)
        if not source.is_file():
            raise InvalidInput(f"path for artifact {name!r}", str(obj), "an existing file to copy")
        return source, "copy"
    if isinstance(obj, str):
        if "\n" not in obj and len(obj) < 4096 and os.path.isfile(obj):
            return Path(obj), "copy"
        return obj.encode("utf-8"), "text"
    if isinstance(obj, (dict, list, tuple)):
        return _structured_bytes(obj, suffix, name)
    if _is_dataframe(obj):
        return _dataframe_bytes(obj, suffix, name)
    if _is_figure(obj):
        return _figure_bytes(obj, suffix)
    return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL), "pickle"


def write_artifact(folder: Path, name: str, obj: Any, kind: str = "artifact") -> ArtifactInfo:
    rel, target = artifact_target(folder, name)
    payload, fmt = encode_artifact(obj, name)
    if isinstance(payload, Path):
        if payload.resolve() != target.resolve():
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
            os.close(fd)
            shutil.copyfile(payload, tmp)
            os.replace(tmp, target)
        size, sha = target.stat().st_size, _sha256_file(target)
    else:
        atomic_write(target, payload)
        size, sha = len(payload), hashlib.sha256(payload).hexdigest()
    return ArtifactInfo(name=rel, kind=kind, size=size, sha256=sha, format=fmt)  # type: ignore[arg-type]


def _library_of(model: Any) -> tuple[str, str | None]:
    top = type(model).__module__.split(".", 1)[0]
    version = getattr(sys.modules.get(top), "__version__", None)
    if version is None:
        try:
            from importlib.metadata import version as dist_version

            version = dist_version(top)
        except Exception:  # not every module is a distribution
            version = None
    return top, str(version) if version is not None else None


def _model_bytes(model: Any, suffix: str, name: str) -> tuple[bytes, str]:
    if suffix == ".joblib":
        joblib = require("joblib", "sklearn")
        buffer = io.BytesIO()
        joblib.dump(model, buffer)
        return buffer.getvalue(), "joblib"
    if suffix in (".pt", ".pth") and "torch" in sys.modules:  # a torch model means torch is loaded
        torch = sys.modules["torch"]
        buffer = io.BytesIO()
        torch.save(model, buffer)
        return buffer.getvalue(), "torch"
    if suffix in (".json", ".ubj") and hasattr(model, "save_model"):  # xgboost, lightgbm boosters
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"model{suffix}"
            model.save_model(str(path))
            return path.read_bytes(), "native"
    if suffix in (".keras", ".h5") and hasattr(model, "save"):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"model{suffix}"
            model.save(str(path))
            return path.read_bytes(), "keras"
    return pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL), "pickle"


def write_model(folder: Path, model: Any, filename: str) -> ArtifactInfo:
    """Save a model (pickle unless the extension says otherwise) and describe it."""
    rel, target = artifact_target(folder, filename)
    payload, fmt = _model_bytes(model, Path(rel).suffix.lower(), rel)
    atomic_write(target, payload)
    library, version = _library_of(model)
    return ArtifactInfo(
        name=rel, kind="model", size=len(payload), sha256=hashlib.sha256(payload).hexdigest(), format=fmt,
        model_class=f"{type(model).__module__}.{type(model).__qualname__}", library=library,
        library_version=version,
    )


