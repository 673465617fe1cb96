"""Saving models and artifacts, recording size, sha256 and where the bytes live.

Where they go (`stored` in the record): models and binary files go to the
git-ignored object store (`objects.py`); text artifacts (json, csv, md, ...)
stay in the experiment folder, in git, up to `artifacts.in_git_max_bytes` of
`.specweave/ml.yaml` (256 KiB by default, see skill/config.py) and go to the
store above it. `in_git=True/False` on a save forces either place; with
`artifacts.lfs` a file Git LFS takes (objects.LFS_SUFFIXES) stays in the folder.

Every write lands through a temp file and a rename. Reading never unpickles:
readers only see the record (name, size, sha256, class) kept in metadata.yaml.
The one exception is `load_model`, for the Python API (no MCP tool calls it),
which checks the file's sha256 against that record before it unpickles.
"""

from __future__ import annotations

import codecs
import functools
import hashlib
import io
import json
import os
import pickle
import socket
import stat
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import InvalidInput, ObjectMissing, UnsafePath
from ..extras import require
from ..layout import CACHE_DIR, METADATA_FILE, RESERVED_FILES, SPECWEAVE_DIR, TMP_DIR
from ..schemas.records import ArtifactInfo
from .fileio import atomic_write, dumps_json, dumps_yaml, replace_into, store_dir_of, temp_file_for, to_jsonable
from .liveness import pid_alive
from .notices import warn
from .objects import checked_object_path, lfs_tracked, place_object
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


class _TextProbe:
    """Whether bytes fed in blocks are text (UTF-8 with no NUL, as git would diff them), looked at only while
    there are at most `limit` of them: beyond that the answer is no (they are too large for git anyway)."""

    def __init__(self, limit: int):
        self.limit, self.seen, self.text = limit, 0, limit > 0
        self._decoder = codecs.getincrementaldecoder("utf-8")()

    def feed(self, block: bytes, final: bool = False) -> None:
        if not self.text:
            return
        self.seen += len(block)
        try:
            if self.seen > self.limit or b"\0" in block:
                self.text = False
            else:
                self._decoder.decode(block, final)
        except UnicodeDecodeError:
            self.text = False


def _stage(target: Path, payload: bytes | Path, probe: int = 0) -> tuple[str, int, str, bool]:
    """Write (or copy) the artifact to a temp file in the store's git-ignored cache and hash exactly
    those bytes; returns (temp name, size, sha256, whether they are text of at most `probe` bytes)."""
    fd, tmp = temp_file_for(target)
    digest = hashlib.sha256()
    text = _TextProbe(probe)
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            if isinstance(payload, Path):
                with open(payload, "rb") as source:
                    for block in iter(lambda: source.read(1 << 20), b""):
                        digest.update(block)
                        text.feed(block)
                        out.write(block)
                        size += len(block)
            else:
                digest.update(payload)
                text.feed(payload)
                out.write(payload)
                size = len(payload)
        text.feed(b"", final=True)
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp, size, digest.hexdigest(), text.text


def _settings(folder: Path) -> Any:
    """The `artifacts:` settings of the store holding `folder`; None outside a store (then everything stays
    in the folder, as before the object store). A broken ml.yaml never loses a save: it is said once and
    the defaults apply."""
    store = store_dir_of(folder)
    if store is None or store.name != SPECWEAVE_DIR:
        return None
    from ..config import ArtifactSettings, load_config
    from ..errors import DamagedFile

    try:
        return load_config(store.parent).artifacts
    except DamagedFile as exc:
        warn(f"{exc}; saving with the default artifact settings")
        return ArtifactSettings()


def _probe_limit(settings: Any, kind: str, in_git: bool | None) -> int:
    """How many bytes to look at to tell text from binary (0: the place does not depend on it)."""
    if settings is None or in_git is not None or kind == "model":
        return 0
    return settings.in_git_max_bytes


def route(settings: Any, kind: str, name: str, size: int, text: bool, in_git: bool | None) -> str:
    """Where a save's bytes go: `git` (the experiment folder) or `objects` (the object store).

    `in_git` decides when given; with LFS on, a file LFS takes stays in the folder; models and binary files
    go to the store, and text too once it is larger than `in_git_max_bytes`.
    """
    if in_git is not None and not isinstance(in_git, bool):
        raise InvalidInput("in_git", in_git, "True (keep it in the experiment folder, in git), False (the object "
                           "store) or None (by the rule in .specweave/ml.yaml)")
    if settings is None:
        return "git"
    if in_git is not None:
        return "git" if in_git else "objects"
    if settings.lfs and lfs_tracked(name):
        return "git"
    if kind == "model" or not text or size > settings.in_git_max_bytes:
        return "objects"
    return "git"


@functools.lru_cache(maxsize=4096)
def _journal_prefix(folder: Path) -> tuple[Path, str] | None:
    store = store_dir_of(folder)
    if store is None:
        return None
    digest = hashlib.sha256(folder.relative_to(store).as_posix().encode("utf-8", "surrogatepass")).hexdigest()
    return store / CACHE_DIR / TMP_DIR, f"pending-{digest[:24]}."


def _drop_stale(target: Path, folder: Path) -> None:
    """Remove the folder's copy of an artifact now kept in the object store (an earlier save in git), so
    the folder holds nothing binary, and the sub-folders its name made if they are empty now; only a plain
    file and empty folders are removed, never through a link."""
    try:
        if stat.S_ISREG(os.lstat(target).st_mode):
            os.unlink(target)
    except (FileNotFoundError, NotADirectoryError):
        pass
    parent = target.parent
    while parent != folder and folder in parent.parents:
        try:
            os.rmdir(parent)  # only an empty folder (a link is no folder to rmdir: it fails and stays)
        except OSError:
            return
        parent = parent.parent


def _place(tmp: str, target: Path, folder: Path, info: ArtifactInfo, record: Record | None) -> ArtifactInfo:
    """Rename the staged bytes into place (the folder or the object store, as `info.stored` says) and
    record them. A save killed between the two steps leaves a journal in the git-ignored cache; the next
    write of the experiment's metadata settles it (`settle_saves`), so the recorded sha256 is always that
    of the bytes in place."""
    journal = None
    where = _journal_prefix(folder) if record is not None else None
    if where is not None:
        journal = where[0] / f"{where[1]}{hashlib.sha256(info.name.encode()).hexdigest()[:12]}.json"
        try:
            atomic_write(journal, dumps_json({"pid": os.getpid(), "host": _HOST,
                                              "artifact": info.model_dump(mode="json")}))
        except BaseException:
            os.unlink(tmp)
            raise
    try:
        if info.stored == "objects":
            place_object(tmp, _store_of(folder), info.sha256)
            _drop_stale(target, folder)
        else:
            replace_into(tmp, target)
        if record is not None:
            record(info)
    finally:
        if journal is not None:
            journal.unlink(missing_ok=True)
    return info


def _store_of(folder: Path) -> Path:
    store = store_dir_of(folder)
    if store is None:  # pragma: no cover - route() keeps saves outside a store in their folder
        raise InvalidInput("experiment folder", str(folder), "a folder inside a .specweave store")
    return store


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
        try:
            target = folder.joinpath(*safe_relative(info.name, "the experiment folder").parts)
            kept = checked_object_path(base.parent.parent, info.sha256) if info.stored == "objects" else target
            in_place = not kept.is_symlink() and _sha256_of(kept) == info.sha256
        except (OSError, InvalidInput):
            in_place = False
        if in_place:
            if info.stored == "objects":
                _drop_stale(target, folder)
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
                   record: Record | None = None, in_git: bool | None = None) -> ArtifactInfo:
    """Save an artifact under `name` of the experiment `folder`, in the folder or the object store (see
    `route`; `in_git` forces either); `record` (if given) adds it to the metadata."""
    rel, target = artifact_target(folder, name)
    settings = _settings(folder)
    route(settings, kind, rel, 0, True, in_git)  # a bad in_git is refused before anything is written
    payload, fmt = encode_artifact(obj, name)
    tmp, size, sha, text = _stage(target, payload, _probe_limit(settings, kind, in_git))
    stored = route(settings, kind, rel, size, text, in_git)
    info = ArtifactInfo(name=rel, kind=kind, size=size, sha256=sha, format=fmt, stored=stored)  # type: ignore[arg-type]
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


_PICKLE_SUFFIXES = ("", ".pkl", ".pickle")
_NATIVE_SUFFIXES = {".json": None, ".ubj": None, ".txt": "lightgbm", ".cbm": "catboost"}  # suffix -> only library
_USE_PICKLE = "or name it .pkl/.joblib to pickle it"
# extensions that name a format save_model cannot produce from an object that does not offer it
_FOREIGN_FORMATS = {
    ".onnx": ("ONNX", ("export it with torch.onnx.export or skl2onnx and save_artifact the .onnx file "
                       "(or pass the onnx.ModelProto itself)")),
    ".pt": ("a PyTorch file", "torch.save writes it, and torch is not loaded (so this is no torch model)"),
    ".pth": ("a PyTorch file", "torch.save writes it, and torch is not loaded (so this is no torch model)"),
    ".json": ("a booster's JSON model", ("only an object with save_model (XGBoost, CatBoost) writes it; "
                                         "save_artifact writes data as JSON")),
    ".ubj": ("an XGBoost UBJSON model", "only an object with save_model (XGBoost) writes it"),
    ".txt": ("a LightGBM text model", ("only a lightgbm Booster (with save_model) writes it; "
                                       "save_artifact writes text")),
    ".cbm": ("a CatBoost model", "only a CatBoost model (with save_model) writes it"),
    ".keras": ("a Keras file", "only a Keras model (with save) writes it"),
    ".h5": ("a Keras/HDF5 file", "only a Keras model (with save) writes it"),
    ".hdf5": ("an HDF5 file", "write it with h5py or Keras and save_artifact the file"),
    ".safetensors": ("safetensors", "write it with safetensors' save_file and save_artifact the file"),
    ".pb": ("a TensorFlow graph", "export it with tf.saved_model.save and save_artifact the files"),
    ".tflite": ("a TensorFlow Lite model", "convert it with tf.lite.TFLiteConverter and save_artifact the file"),
    ".ckpt": ("a checkpoint", "write it with the framework's checkpoint call and save_artifact the file"),
    ".npy": ("a NumPy array file", "np.save it and save_artifact the file"),
    ".npz": ("a NumPy archive", "np.savez it and save_artifact the file"),
    ".gguf": ("a GGUF model", "convert it with its own tools and save_artifact the file"),
    ".pmml": ("PMML", "export it with a PMML exporter (sklearn2pmml) and save_artifact the file"),
    ".mlmodel": ("a Core ML model", "convert it with coremltools and save_artifact the file"),
}


def _is_onnx_proto(model: Any) -> bool:
    """An onnx.ModelProto (what onnx.load and the exporters' in-memory results are)."""
    return (type(model).__module__.split(".", 1)[0] == "onnx" and type(model).__name__ == "ModelProto"
            and callable(getattr(model, "SerializeToString", None)))


def _refuse_format(model: Any, name: str, suffix: str) -> InvalidInput:
    """One line: this extension names a format we cannot write from this object (never a pickle under
    another format's name), and what would work."""
    known = _FOREIGN_FORMATS.get(suffix)
    if known is not None:
        what, hint = known
        problem = f"{suffix} is {what}, which save_model cannot produce from this object"
    else:
        problem = f"save_model knows no format named {suffix}"
        hint = ("it writes pickle (.pkl, .pickle), joblib (.joblib), torch (.pt/.pth), boosters' own "
                "(.json/.ubj/.txt/.cbm), Keras (.keras/.h5) and ONNX protos (.onnx); write other formats "
                "yourself and save_artifact the file")
    err = InvalidInput("model file name", name, hint)
    err.message = (f"cannot save a {type(model).__name__} as {name!r}: {problem} (it will not write a pickle "
                   f"under that name); {hint}, {_USE_PICKLE}")
    err.args = (err.message,)
    return err


def _model_bytes(model: Any, suffix: str, name: str) -> tuple[bytes, str]:
    """The bytes of a model and their format, chosen by the extension; an extension that names a format
    this object cannot be written in is refused (InvalidInput) rather than pickled under that name."""
    if suffix in _PICKLE_SUFFIXES:
        return pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL), "pickle"
    if suffix == ".onnx" and _is_onnx_proto(model):
        return model.SerializeToString(), "onnx"
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
    only = _NATIVE_SUFFIXES.get(suffix, "-")
    if (suffix in _NATIVE_SUFFIXES and callable(getattr(model, "save_model", None))
            and (only is None or type(model).__module__.split(".", 1)[0] == only)):  # xgboost, lightgbm, catboost
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"model{suffix}"
            model.save_model(str(path))
            return path.read_bytes(), "native"
    if suffix in (".keras", ".h5") and hasattr(model, "save"):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"model{suffix}"
            model.save(str(path))
            return path.read_bytes(), "keras"
    raise _refuse_format(model, name, suffix)


def write_model(folder: Path, model: Any, filename: str, *, record: Record | None = None,
                in_git: bool | None = None) -> ArtifactInfo:
    """Save a model (pickle unless the extension says otherwise) and describe it; it goes to the object
    store unless `in_git=True` (or LFS takes its extension)."""
    rel, target = artifact_target(folder, filename)
    settings = _settings(folder)
    route(settings, "model", rel, 0, False, in_git)  # a bad in_git is refused before anything is written
    payload, fmt = _model_bytes(model, Path(rel).suffix.lower(), rel)
    tmp, size, sha, _ = _stage(target, payload)
    library, version = _library_of(model)
    info = ArtifactInfo(
        name=rel, kind="model", size=size, sha256=sha, format=fmt,
        model_class=f"{type(model).__module__}.{type(model).__qualname__}", library=library,
        library_version=version, stored=route(settings, "model", rel, size, False, in_git),  # type: ignore[arg-type]
    )
    return _place(tmp, target, folder, info, record)


# -- loading a saved model back (the Python API only: no MCP tool and no reader ever unpickles) ----------
_NATIVE_LIBRARIES = ("xgboost", "lightgbm", "catboost")  # the only classes a `native` record may name


def _missing(module: str, what: str) -> Exception:
    from ..errors import MissingExtra

    err = MissingExtra(module, module)
    err.message = f"{what} needs {module}, which is not installed; install it with: pip install {module}"
    err.args = (err.message,)
    return err


def _native_class(info: ArtifactInfo) -> Any:
    from importlib import import_module

    parts = (info.model_class or "").split(".")
    if parts[0] not in _NATIVE_LIBRARIES or len(parts) < 2:
        raise InvalidInput(f"recorded class of {info.name!r}", info.model_class,
                           f"a model class of {', '.join(_NATIVE_LIBRARIES)} (the libraries whose native "
                           f"format save_model writes)")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            value: Any = import_module(".".join(parts[:cut]))
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.split(".", 1)[0] == parts[0]:
                raise _missing(parts[0], f"loading {info.name!r}") from None
            continue
        for attr in parts[cut:]:
            value = getattr(value, attr, None)
        if isinstance(value, type):
            return value
    raise InvalidInput(f"recorded class of {info.name!r}", info.model_class, "a class that its library defines")


def _decode_model(info: ArtifactInfo, data: bytes) -> Any:
    """The model object from bytes whose sha256 has been checked, by the format recorded at save time."""
    fmt, suffix = info.format, Path(info.name).suffix.lower()
    if fmt == "pickle":
        return pickle.loads(data)  # verified against the recorded sha256 first
    if fmt == "joblib":
        return require("joblib", "sklearn").load(io.BytesIO(data))
    if fmt == "torch":
        try:
            import torch
        except ModuleNotFoundError:
            raise _missing("torch", f"loading {info.name!r}") from None
        try:
            return torch.load(io.BytesIO(data), weights_only=False)  # a whole model, as torch.save wrote it
        except TypeError:  # torch before 1.13 has no weights_only
            return torch.load(io.BytesIO(data))
    if fmt == "onnx":
        try:
            import onnx
        except ModuleNotFoundError:
            raise _missing("onnx", f"loading {info.name!r}") from None
        return onnx.load_model_from_string(data)
    if fmt in ("keras", "native"):
        cls = _native_class(info) if fmt == "native" else None
        keras = require("keras", "keras") if fmt == "keras" else None
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"model{suffix}"
            path.write_bytes(data)  # a private copy of the checked bytes: the library reads this one
            if keras is not None:
                return keras.models.load_model(str(path))
            if cls.__module__.split(".", 1)[0] == "lightgbm" and cls.__name__ == "Booster":
                return cls(model_file=str(path))
            model = cls()
            model.load_model(str(path))
            return model
    raise InvalidInput(f"format of {info.name!r}", fmt,
                       "a model saved by save_model (pickle, joblib, torch, keras, native or onnx); this one is "
                       "an artifact: read the file itself")


def artifact_file(record: Any, name: str) -> tuple[ArtifactInfo, Path]:
    """The record of the artifact `name` of the experiment `record` and the path of its bytes: in the
    experiment folder, or in the object store when `stored: objects` (a folder without the field was
    written before the store existed: its bytes are in the folder).

    Only a recorded artifact is found (NotFound names the recorded ones); a link on the way is refused
    (UnsafePath), and so is the file itself when it is a link or not a plain file (DamagedFile); bytes kept
    in the object store and not in this clone are ObjectMissing, one line naming `sw-ml artifacts pull`.
    """
    from ..errors import DamagedFile, NotFound

    meta = getattr(record, "meta", None)
    exp_id = getattr(record, "id", "the experiment")
    if meta is None:
        raise DamagedFile(str(getattr(record, "path", exp_id)), "no readable metadata.yaml, so no artifact is "
                          "recorded; refusing to read an unrecorded file")
    rel = safe_relative(name, "the experiment folder").as_posix()
    info = next((a for a in meta.artifacts if a.name == rel), None)
    if info is None:
        models = [a.name for a in meta.artifacts if a.kind == "model"] or [a.name for a in meta.artifacts]
        raise NotFound(f"recorded artifact of {exp_id} (an unrecorded file is never read)", name, models)
    folder = Path(record.path)
    if info.stored == "objects":
        store = store_dir_of(folder)
        if store is None:
            raise DamagedFile(str(folder / METADATA_FILE), f"records {rel} in the object store, but the folder is "
                              "not inside a .specweave store")
        target = checked_object_path(store, info.sha256)
        missing: Exception = ObjectMissing(rel, f"{record.increment}/{exp_id}" if getattr(record, "increment", None)
                                           else exp_id, info.sha256)
    else:
        target = folder.joinpath(*rel.split("/"))
        for step in [folder, *(folder.joinpath(*rel.split("/")[:i]) for i in range(1, rel.count("/") + 1))]:
            if step.is_symlink():
                raise UnsafePath(name, "the experiment folder (a folder on the way is a symbolic link)")
        missing = DamagedFile(str(target), "is recorded in metadata.yaml but missing")
    try:
        st = os.lstat(target)
    except (FileNotFoundError, NotADirectoryError):
        raise missing from None
    if stat.S_ISLNK(st.st_mode):
        raise DamagedFile(str(target), "is a symbolic link; refusing to follow it out of the store")
    if not stat.S_ISREG(st.st_mode):
        raise DamagedFile(str(target), "not a regular file; refusing to read it")
    return info, target


def read_verified(info: ArtifactInfo, path: Path) -> bytes:
    """The bytes at `path`, read without following a link, refused (DamagedFile, one line) unless their
    size and sha256 are the ones recorded in `info`."""
    from ..errors import DamagedFile
    from .fileio import open_regular_nofollow

    fd = open_regular_nofollow(path)  # DamagedFile, one line, for a link or anything not a plain file
    with os.fdopen(fd, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size != info.size:
            raise DamagedFile(str(path), f"is {size} bytes, but {info.size} were recorded when it was saved; "
                              "refusing to load a file that changed")
        data = handle.read(info.size + 1)
    digest = hashlib.sha256(data).hexdigest()
    if len(data) != info.size or digest != info.sha256:
        raise DamagedFile(str(path), f"sha256 {digest[:16]}... differs from the recorded {info.sha256[:16]}...; "
                          "refusing to load a file that changed since it was saved")
    return data


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
    return _decode_model(info, read_verified(info, path))
