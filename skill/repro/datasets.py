"""`exp.log_dataset(name, source)`: a fingerprint of the data a run used.

- a file: its size and sha256; a folder: its file count, total size, and a sha256 over its files'
  relative names and hashes (links are not followed, `.git` is skipped);
- a path DVC tracks (a `<path>.dvc` file beside it, or an output in a `dvc.lock` of its folder or one
  above, up to the repository root): DVC's own hash, read from that file, with no rehash of the data;
- a DataFrame (pandas): rows, columns with dtypes, and a sha256 of columns, dtypes, index and values.

Hashing a multi-GB file once is unavoidable; after that a cache in `.specweave/cache/fingerprints.json`
answers while the file's size, mtime and inode are the ones it was hashed at (git's own rule for its
index), so a run that logs the same data again costs a `stat`.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

from ..errors import InvalidInput
from ..layout import CACHE_DIR, SPECWEAVE_DIR
from ..schemas.records import DatasetInfo
from ..storage.validate import MAX_NAME, validate_text

CACHE_FILE = "fingerprints.json"
MAX_CACHE_ENTRIES = 50_000
_CHUNK = 1 << 20
_SKIP_DIRS = {".git", ".specweave", "__pycache__", ".dvc"}
_lock = threading.Lock()


class _HashCache:
    """path -> (size, mtime_ns, inode, sha256), loaded once per call, written back when it changed."""

    def __init__(self, root: Path):
        self.path = root / SPECWEAVE_DIR / CACHE_DIR / CACHE_FILE
        self.entries: dict[str, list[Any]] = {}
        self.changed = False
        try:
            loaded = json.loads(self.path.read_text(encoding="utf-8")) if not self.path.is_symlink() else {}
            if isinstance(loaded, dict):
                self.entries = loaded
        except (OSError, ValueError):
            pass

    def sha256(self, path: Path, st: os.stat_result) -> str:
        key = str(path)
        known = self.entries.get(key)
        stamp = [st.st_size, st.st_mtime_ns, st.st_ino]
        if isinstance(known, list) and len(known) == 4 and known[:3] == stamp and isinstance(known[3], str):
            return known[3]
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
        value = digest.hexdigest()
        self.entries[key] = [*stamp, value]
        self.changed = True
        return value

    def save(self) -> None:
        if not self.changed or not (self.path.parent.parent.is_dir()):
            return
        from ..storage.atomic_writes import atomic_write
        from ..storage.cache_dir import ignore_cache
        from ..storage.paths import make_dirs_within

        if len(self.entries) > MAX_CACHE_ENTRIES:  # keep the newest-written half
            self.entries = dict(list(self.entries.items())[-MAX_CACHE_ENTRIES // 2:])
        try:
            folder = make_dirs_within(self.path.parent.parent, (CACHE_DIR,), "the store")
            ignore_cache(folder)
            atomic_write(folder / CACHE_FILE, json.dumps(self.entries, separators=(",", ":")))
        except (OSError, ValueError):
            pass  # a cache: the next run hashes again


def _shown(path: Path, base: Path) -> str:
    try:
        return path.relative_to(base.resolve()).as_posix()
    except ValueError:
        return str(path)


def _dvc_md5(path: Path, top: Path) -> str | None:
    """DVC's hash of `path`: from `<path>.dvc`, else from a dvc.lock in its folder or above (to `top`)."""
    from ..storage.bounded_parsing import read_yaml

    def md5_of(out: Any) -> str | None:
        if isinstance(out, dict):
            value = out.get("md5") or out.get("etag") or out.get("checksum")
            return str(value) if value else None
        return None

    sidecar = path.with_name(path.name + ".dvc")
    if sidecar.is_file():
        try:
            data = read_yaml(sidecar)
        except Exception:  # a broken .dvc file: fall back to hashing the data
            data = None
        outs = data.get("outs") if isinstance(data, dict) else None
        for out in outs if isinstance(outs, list) else []:
            if isinstance(out, dict) and Path(str(out.get("path", ""))).name == path.name and md5_of(out):
                return md5_of(out)
    for folder in [path.parent, *path.parent.parents]:
        lock = folder / "dvc.lock"
        if lock.is_file():
            try:
                data = read_yaml(lock)
            except Exception:
                data = None
            stages = data.get("stages") if isinstance(data, dict) else None
            for stage in stages.values() if isinstance(stages, dict) else []:
                outs = stage.get("outs") if isinstance(stage, dict) else None
                for out in outs if isinstance(outs, list) else []:
                    if isinstance(out, dict) and (folder / str(out.get("path", ""))).resolve() == path and md5_of(out):
                        return md5_of(out)
        if folder == top or folder == folder.parent:
            break
    return None


def _frame(name: str, frame: Any) -> DatasetInfo:
    import pandas as pd

    columns = {str(c): str(t) for c, t in frame.dtypes.items()}
    digest = hashlib.sha256(json.dumps(list(columns.items())).encode("utf-8"))
    try:
        digest.update(pd.util.hash_pandas_object(frame, index=True).values.tobytes())
    except TypeError:  # unhashable cells (lists, dicts): their text form
        digest.update(frame.to_csv(index=True).encode("utf-8", "surrogateescape"))
    return DatasetInfo(name=name, kind="dataframe", rows=int(len(frame)), columns=columns, sha256=digest.hexdigest())


def fingerprint(root: Path, name: str, source: Any, base: Path | None = None) -> DatasetInfo:
    """The fingerprint of `source` (a path, as `open()` reads it, or a DataFrame); `base` is the folder
    paths are shown relative to (the repository root; a rerun's worktree)."""
    name = validate_text("dataset name", name, MAX_NAME, single_line=True).strip()
    base = base or root
    if hasattr(source, "dtypes") and hasattr(source, "columns") and hasattr(source, "index"):
        return _frame(name, source)
    if not isinstance(source, (str, os.PathLike)) or not str(source).strip():
        raise InvalidInput("dataset source", type(source).__name__,
                           "a file or folder path, a pandas DataFrame, or a DVC-tracked path")
    path = Path(os.path.abspath(os.fspath(source)))
    dvc = _dvc_md5(path, base.resolve())
    shown = _shown(path, base)
    if dvc:
        size = path.stat().st_size if path.is_file() else None
        return DatasetInfo(name=name, kind="dvc", path=shown, size=size, dvc_md5=dvc)
    try:
        st = os.stat(path)
    except OSError:
        raise InvalidInput("dataset source", str(source), "an existing file or folder, a DataFrame, or a path "
                           "DVC tracks (a .dvc file beside it or a dvc.lock output)") from None
    with _lock:
        cache = _HashCache(root)
        try:
            if not path.is_dir():
                return DatasetInfo(name=name, kind="file", path=shown, size=st.st_size,
                                   sha256=cache.sha256(path, st))
            digest, files, size = hashlib.sha256(), 0, 0
            for folder, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
                for file in sorted(names):
                    full = Path(folder, file)
                    fst = os.lstat(full)
                    if not os.path.isfile(full) or os.path.islink(full):
                        continue
                    rel = full.relative_to(path).as_posix()
                    digest.update(f"{rel}\0{cache.sha256(full, fst)}\n".encode("utf-8", "surrogateescape"))
                    files += 1
                    size += fst.st_size
            return DatasetInfo(name=name, kind="folder", path=shown, size=size, files=files, sha256=digest.hexdigest())
        finally:
            cache.save()


def describe(info: DatasetInfo) -> str:
    """One line: `file data/train.csv, 1.2 MB, sha256 1a2b3c4d5e6f`."""
    parts = [info.kind + (f" {info.path}" if info.path else "")]
    if info.rows is not None:
        parts.append(f"{info.rows} rows x {len(info.columns or {})} columns")
    if info.files is not None:
        parts.append(f"{info.files} files")
    if info.size is not None:
        parts.append(f"{info.size} bytes")
    if info.dvc_md5:
        parts.append(f"dvc md5 {info.dvc_md5[:12]}")
    elif info.sha256:
        parts.append(f"sha256 {info.sha256[:12]}")
    return ", ".join(parts)


__all__ = ["describe", "fingerprint"]
