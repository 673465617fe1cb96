"""Saving models and artifacts into an experiment folder, recording size and sha256.

Every write lands through a temp file and a rename. Reading never unpickles:
readers only see the record (name, size, sha256, class) kept in metadata.yaml.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import socket
import sys
import tempfile
from pathlib import Path
from collections.abc import Callable
from typing import Any

from .errors import InvalidInput, UnsafePath
from .fileio import atomic_write, dumps_json, dumps_yaml, replace_into, temp_file_for, to_jsonable
from .integrations.optional import require
from .layout import CACHE_DIR, RESERVED_FILES, TMP_DIR
from .liveness import pid_alive
from .locks import store_dir_of
from .models import ArtifactInfo
from .paths import make_dirs_within, safe_relative


def artifact_target(folder: Path, name: str) -> tuple[str, Path]:
    """The checked relative name and absolute path of an artifact inside `folder`."""
    rel = safe_relative(name, "the experiment folder")
    if rel.as_posix() in RESERVED_FILES:
        raise InvalidInput(
            "artifact name", name,
            f"a name other than the experiment's own files ({', '.join(sorted(RESERVED_FILES))})",
        )
    if folder.is_symlink():
        raise UnsafePath(name, "the experiment folder (the folder itself is a symbolic link)")
    parent = make_dirs_within(folder, rel.parts[:-1], "the experiment folder")  # no link followed out
    target = parent / rel.parts[-1]
    if target.is_symlink():
        raise UnsafePath(name, "the experiment folder")
    return rel.as_posix(), target


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


Record = Callable[[ArtifactInfo], None]
_HOST = socket.gethostname()


def _stage(target: Path, payload: bytes | Path) -> tuple[str, int, str]:
    """Write (or copy) the artifact to a temp file in the store's git-ignored cache and hash exactly
    those bytes; returns (temp name, size, sha256)."""
    fd, tmp = temp_file_for(target)
    digest = hashlib.sha256()
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            if isinstance(payload, Path):
                with open(payload, "rb") as source:
                    for block in iter(lambda: source.read(1 << 20), b""):
                        digest.update(block)
                        out.write(block)
                        size += len(block)
            else:
                digest.update(payload)
                out.write(payload)
                size = len(payload)
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp, size, digest.hexdigest()


def _journal_prefix(folder: Path) -> tuple[Path, str] | None:
    store = store_dir_of(folder)
    if store is None:
        return None
    digest = hashlib.sha256(folder.relative_to(store).as_posix().encode("utf-8", "surrogatepass")).hexdigest()
    return store / CACHE_DIR / TMP_DIR, f"pending-{digest[:24]}."


def _place(tmp: str, target: Path, folder: Path, info: ArtifactInfo, record: Record | None) -> ArtifactInfo:
    """Rename the staged bytes into place and record them. A save killed between the two steps leaves a
    journal in the git-ignored cache; the next write of the experiment's metadata settles it
    (`settle_saves`), so the recorded sha256 is always that of the bytes in place."""
    journal = None
    where = _journal_prefix(folder) if record is not None else None
    if where is not None:
        journal = where[0] / f"{where[1]}{hashlib.sha256(info.name.encode()).hexdigest()[:12]}.json"
        atomic_write(journal, dumps_json({"pid": os.getpid(), "host": _HOST, "artifact": info.model_dump(mode="json")}))
    try:
        replace_into(tmp, target)
        if record is not None:
            record(info)
    finally:
        if journal is not None:
            journal.unlink(missing_ok=True)
    return info


def settle_saves(folder: Path, artifacts: list[ArtifactInfo]) -> list[ArtifactInfo] | None:
    """Finish saves whose process died between placing the bytes and recording them: the artifact list
    with each such record in place, or None when there was nothing to settle. A journal of a live
    process (this one included) is a save in progress and is left alone."""
    where = _journal_prefix(folder)
    if where is None:
        return None
    base, prefix = where
    try:
        with os.scandir(base) as entries:
            journals = [Path(e.path) for e in entries if e.name.startswith(prefix)]
    except (FileNotFoundError, NotADirectoryError):
        return None
    changed = None
    for journal in journals:
        try:
            entry = json.loads(journal.read_text(encoding="utf-8"))
            info = ArtifactInfo.model_validate(entry["artifact"])
        except (OSError, ValueError, KeyError, TypeError):
            journal.unlink(missing_ok=True)
            continue
        if entry.get("host") == _HOST and (entry.get("pid") == os.getpid() or pid_alive(int(entry.get("pid", 0)))):
            continue
        target = folder / info.name
        try:
            in_place = not target.is_symlink() and _sha256_of(target) == info.sha256
        except OSError:
            in_place = False
        if in_place:
            changed = [a for a in (changed if changed is not None else artifacts) if a.name != info.name] + [info]
        journal.unlink(missing_ok=True)
    return changed


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_artifact(folder: Path, name: str, obj: Any, kind: str = "artifact", *,
                   record: Record | None = None) -> ArtifactInfo:
    """Save an artifact under `name` in `folder`; `record` (if given) adds it to the metadata."""
    rel, target = artifact_target(folder, name)
    payload, fmt = encode_artifact(obj, name)
    tmp, size, sha = _stage(target, payload)
    info = ArtifactInfo(name=rel, kind=kind, size=size, sha256=sha, format=fmt)  # type: ignore[arg-type]
    return _place(tmp, target, folder, info, record)


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


def write_model(folder: Path, model: Any, filename: str, *, record: Record | None = None) -> ArtifactInfo:
    """Save a model (pickle unless the extension says otherwise) and describe it."""
    rel, target = artifact_target(folder, filename)
    payload, fmt = _model_bytes(model, Path(rel).suffix.lower(), rel)
    tmp, size, sha = _stage(target, payload)
    library, version = _library_of(model)
    info = ArtifactInfo(
        name=rel, kind="model", size=size, sha256=sha, format=fmt,
        model_class=f"{type(model).__module__}.{type(model).__qualname__}", library=library,
        library_version=version,
    )
    return _place(tmp, target, folder, info, record)
