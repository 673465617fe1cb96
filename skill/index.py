"""A derived, rebuildable read cache: `.specweave/cache/index/<increment>.json`.

Listing thousands of experiments means parsing thousands of metadata.yaml
files (each carries the package list), which dominates a cold read. This
cache keeps, per increment, each experiment as read back, keyed by a
signature of its folder:

    the folder's mtime (every atomic write renames into the folder, so it
    changes on every write this package makes) plus mtime and size of
    metadata.yaml, params.json, metrics.json and metrics.jsonl (so an
    in-place hand edit is seen too).

An entry whose signature differs is re-read from the files. Entries are only
stored for experiments that are not running and whose files are older than
RACY_S seconds (the "racy git" rule: a file rewritten within the file system's
timestamp granularity could otherwise keep its old signature). The cache is
safe JSON (no pickle), never the only copy of anything, git-ignored, and
ignored silently when unreadable or unwritable. Set SPECWEAVE_NO_CACHE=1 to
bypass it.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from .fileio import atomic_write
from .ids import ensure_ignored
from .layout import CACHE_DIR, METADATA_FILE, METRICS_FILE, METRICS_LOG_FILE, PARAMS_FILE, SPECWEAVE_DIR
from .models import ExperimentRecord, Increment

CACHE_VERSION = 1
RACY_S = 2.0
_FILES = (METADATA_FILE, PARAMS_FILE, METRICS_FILE, METRICS_LOG_FILE)


class _Entry(BaseModel):
    sig: list[int]
    packages: str | None = None
    record: ExperimentRecord


class _IndexFile(BaseModel):
    version: int
    packages: dict[str, dict[str, str]] = Field(default_factory=dict)
    entries: dict[str, _Entry] = Field(default_factory=dict)


def enabled() -> bool:
    return not os.environ.get("SPECWEAVE_NO_CACHE")


def index_path(root: Path, increment_id: str) -> Path:
    return root / SPECWEAVE_DIR / CACHE_DIR / "index" / f"{increment_id}.json"


def signature(folder: Path) -> list[int] | None:
    """[dir mtime, (mtime, size) of each known file]; None when the folder is gone."""
    try:
        sig = [os.stat(folder).st_mtime_ns]
    except OSError:
        return None
    for name in _FILES:
        try:
            st = os.stat(folder / name)
            sig += (st.st_mtime_ns, st.st_size)
        except OSError:
            sig += (-1, -1)
    return sig


def _read(path: Path) -> _IndexFile | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    try:
        index = _IndexFile.model_validate_json(data)
    except (ValidationError, ValueError):
        return None  # damaged or from another version: rebuilt from the files
    return index if index.version == CACHE_VERSION else None


def _write(path: Path, entries: dict[str, _Entry], packages: dict[str, dict[str, str]]) -> None:
    out: dict[str, Any] = {"version": CACHE_VERSION, "packages": packages, "entries": {}}
    for name, entry in entries.items():
        record = entry.record.model_dump(mode="json")
        if record.get("meta"):
            record["meta"].pop("packages", None)
        record["path"] = name
        out["entries"][name] = {"sig": entry.sig, "packages": entry.packages, "record": record}
    try:
        if not path.parent.is_dir():
            path.parent.mkdir(parents=True, exist_ok=True)
            ensure_ignored(path.parent)  # a read in a fresh clone must not leave files for git to see
        atomic_write(path, json.dumps(out, ensure_ascii=False, separators=(",", ":"), allow_nan=False))
    except (OSError, ValueError):
        pass  # a read-only checkout or odd values: the cache is only an optimisation


def _packages_ref(record: ExperimentRecord, table: dict[str, dict[str, str]]) -> str | None:
    if record.meta is None or not record.meta.packages:
        return None
    text = json.dumps(record.meta.packages, sort_keys=True)
    ref = hashlib.sha256(text.encode()).hexdigest()[:16]
    table.setdefault(ref, record.meta.packages)
    return ref


def cached_records(
    root: Path,
    increment: Increment,
    folders: list[Path],
    load: Callable[[Path, str, Path], ExperimentRecord],
) -> list[ExperimentRecord]:
    """The experiments in `folders`, from the cache where still valid, else from `load`."""
    if not enabled():
        return [load(folder, increment.id, root) for folder in folders]
    path = index_path(root, increment.id)
    index = _read(path)
    old = index.entries if index else {}
    packages = dict(index.packages) if index else {}
    now_ns = time.time_ns()
    settled_ns = now_ns - int(RACY_S * 1e9)
    entries: dict[str, _Entry] = {}
    records: list[ExperimentRecord] = []
    changed = index is None and bool(folders)
    for folder in folders:
        sig = signature(folder)
        entry = old.get(folder.name)
        if entry is not None and sig is not None and entry.sig == sig:
            record = entry.record
            record.path = folder
            if record.meta is not None and entry.packages:
                record.meta.packages = packages.get(entry.packages, {})
            entries[folder.name] = entry
            records.append(record)
            continue
        record = load(folder, increment.id, root)
        records.append(record)
        changed = True
        if sig is None or record.meta is None or record.meta.status == "running":
            continue
        if max(sig[0], *sig[1::2]) > settled_ns:
            continue  # too fresh to trust its timestamps yet
        entries[folder.name] = _Entry(sig=sig, packages=_packages_ref(record, packages), record=record)
    if len(entries) != len(old):
        changed = True
    if changed:
        used = {e.packages for e in entries.values() if e.packages}
        _write(path, entries, {k: v for k, v in packages.items() if k in used})
    return records


__all__ = ["cached_records", "enabled", "index_path", "signature"]
