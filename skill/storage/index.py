"""A derived, rebuildable read cache: `.specweave/cache/index/<increment>.json`.

Listing thousands of experiments means parsing thousands of metadata.yaml
files (each carries the package list), which dominates a cold read. This
cache keeps, per increment, each experiment as read back, keyed by a
signature of its folder:

    `signatures.run_signature`: the folder's mtime (every atomic write
    renames into the folder, so it changes on every write this package
    makes) plus size, mtime and inode of metadata.yaml, params.json,
    metrics.json, metrics.jsonl and edits.jsonl (so an in-place hand edit
    is seen too).

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

from ..errors import DamagedFile
from ..layout import (
    CACHE_DIR,
    INDEX_DIR,
    LOGS_DIR,
    SPECWEAVE_DIR,
)
from ..schemas.records import ExperimentRecord, Increment
from .atomic_writes import atomic_write
from .cache_dir import ignore_cache
from .dead_ranks import ranks_running
from .encoding import decode_number, to_jsonable
from .safe_reads import read_bytes_nofollow
from .signatures import Signature, run_signature, signature_mtimes
from .store_dirs import make_store_dirs

CACHE_VERSION = 1
RACY_S = 2.0
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
    return root / SPECWEAVE_DIR / CACHE_DIR / INDEX_DIR / f"{increment_id}.json"


def _read_bytes(path: Path) -> bytes | None:
    try:
        return read_bytes_nofollow(path, None)  # ours, but never through a link planted in a clone
    except (OSError, DamagedFile):
        return None


def _parse_models(data: bytes | None) -> dict[str, _Entry] | None:
    if data is None:
        return None
    try:
        index = _IndexFile.model_validate_json(data)
    except (ValidationError, ValueError):
        return None  # damaged or from another version: rebuilt from the files
    if index.version != CACHE_VERSION:
        return None
    for entry in index.entries.values():
        record = entry.record
        record.metrics = {k: decode_number(v) for k, v in record.metrics.items()}
        if record.meta is not None and entry.packages:
            record.meta.packages = index.packages.get(entry.packages, {})
    return index.entries


def _parse_dicts(data: bytes | None) -> tuple[dict[str, Any], dict[str, Any]] | None:
    if data is None:
        return None
    try:
        index = json.loads(data)
        if index.get("version") != CACHE_VERSION:
            return None
        return index["entries"], index.get("packages") or {}
    except (ValueError, AttributeError, KeyError, TypeError):
        return None


def record_json(record: ExperimentRecord) -> dict[str, Any]:
    """A record as JSON-safe data: NaN/inf kept as the store's strings (pydantic's JSON mode would null them)."""
    data = record.model_dump(mode="json", exclude={"meta": {"packages"}, "params": True, "metrics": True})
    data["params"], data["metrics"] = to_jsonable(record.params), to_jsonable(record.metrics)  # the user's values
    data["path"] = record.path.name
    return data


def _write(path: Path, entries: dict[str, tuple[list[int], str | None, dict[str, Any]]],
           packages: dict[str, dict[str, str]]) -> None:
    out: dict[str, Any] = {"version": CACHE_VERSION, "packages": packages, "entries": {}}
    for name, (sig, ref, record) in entries.items():
        if record.get("meta") and "packages" in record["meta"]:
            record = {**record, "meta": {k: v for k, v in record["meta"].items() if k != "packages"}}
        out["entries"][name] = {"sig": sig, "packages": ref, "record": record}
    try:
        if not path.parent.is_dir():
            make_store_dirs(path.parent)
            ignore_cache(path.parent)  # a read in a fresh clone must not leave files for git to see
        atomic_write(path, json.dumps(out, ensure_ascii=False, separators=(",", ":"), allow_nan=False))
    except (OSError, ValueError, DamagedFile):  # DamagedFile: a folder on the way is a link a clone committed
        pass  # a read-only checkout or odd values: the cache is only an optimisation


def _packages_ref(record: ExperimentRecord, table: dict[str, dict[str, str]], seen: dict[Any, str]) -> str | None:
    """A short content hash naming the record's package list in the shared table (most runs share one)."""
    if record.meta is None or not record.meta.packages:
        return None
    # Runs of one environment file share its package dict (storage.environments caches it): known by
    # identity, it is sorted and hashed once, not once a run. The records stay alive through the refresh.
    same = seen.get(id(record.meta.packages))
    if same is not None:
        return same
    key = tuple(sorted(record.meta.packages.items()))
    ref = seen.get(key)
    if ref is None:
        ref = hashlib.sha256(json.dumps(key).encode()).hexdigest()[:16]
        seen[key] = ref
        table.setdefault(ref, record.meta.packages)
    seen[id(record.meta.packages)] = ref
    return ref


def _refresh(root: Path, increment: Increment, folders: list[Path],
             load: Callable[[Path, str, Path], ExperimentRecord], as_dicts: bool) -> list[Any]:
    """Shared by both readers: validate each entry's signature, re-read what changed, save."""
    path = index_path(root, increment.id)
    data = _read_bytes(path)
    models: dict[str, _Entry] = {}
    dicts: dict[str, Any] = {}
    packages: dict[str, dict[str, str]] = {}
    if as_dicts:
        parsed = _parse_dicts(data)
        if parsed is not None:
            dicts, packages = parsed[0], dict(parsed[1])
        old_count, ok = len(dicts), parsed is not None
    else:
        parsed_models = _parse_models(data)
        if parsed_models is not None:
            models = parsed_models
            for entry in models.values():
                if entry.packages and entry.record.meta is not None:
                    packages.setdefault(entry.packages, entry.record.meta.packages)
        old_count, ok = len(models), parsed_models is not None
    settled_ns = time.time_ns() - int(RACY_S * 1e9)
    keep: dict[str, tuple[list[int], str | None, Any]] = {}
    seen: dict[Any, str] = {}
    out: list[Any] = []
    changed = not ok and bool(folders)
    for folder in folders:
        name = folder.name
        sig = run_signature(folder)
        if as_dicts:
            raw = dicts.get(name)
            if raw is not None and sig is not None and raw.get("sig") == sig:
                keep[name] = (sig, raw.get("packages"), raw["record"])
                out.append(raw["record"])
                continue
        else:
            entry = models.get(name)
            if entry is not None and sig is not None and entry.sig == sig:
                entry.record.path = folder
                keep[name] = (sig, entry.packages, entry.record)
                out.append(entry.record)
                continue
        record = load(folder, increment.id, root)
        changed = True
        as_json = record_json(record) if as_dicts else None
        out.append(as_json if as_dicts else record)
        if sig is None or record.meta is None or record.meta.status == "running" or ranks_running(record.meta):
            continue
        if max(signature_mtimes(sig)) > settled_ns:
            continue  # too fresh to trust its timestamps yet
        keep[name] = (sig, _packages_ref(record, packages, seen), as_json or record)
    if len(keep) != old_count:
        changed = True
    if changed:
        used = {ref for _, ref, _ in keep.values() if ref}
        _write(path, {name: (sig, ref, rec if isinstance(rec, dict) else record_json(rec))
                      for name, (sig, ref, rec) in keep.items()},
               {k: v for k, v in packages.items() if k in used})
    return out


def cached_records(
    root: Path,
    increment: Increment,
    folders: list[Path],
    load: Callable[[Path, str, Path], ExperimentRecord],
) -> list[ExperimentRecord]:
    """The experiments in `folders`, from the cache where still valid, else from `load`."""
    if not enabled():
        return [load(folder, increment.id, root) for folder in folders]
    return _refresh(root, increment, folders, load, as_dicts=False)


def cached_dicts(
    root: Path,
    increment: Increment,
    folders: list[Path],
    load: Callable[[Path, str, Path], ExperimentRecord],
) -> list[dict[str, Any]]:
    """The same experiments as JSON-safe dicts (no model objects): the fast path for tables.

    `path` is the folder name; `meta.packages` is left out; NaN is the string "NaN".
    """
    if not enabled():
        return [record_json(load(folder, increment.id, root)) for folder in folders]
    return _refresh(root, increment, folders, load, as_dicts=True)


# --- Digests of long point logs -------------------------------------------------------------------
# A finished run's metrics.jsonl may hold millions of points. What readers derive from it by a full
# pass (the damage check, per-metric min/max/last/count) is kept in `.specweave/cache/logs/<increment>/
# <folder>.json`, keyed by the log's size, mtime and inode (it is append-only: any write changes one),
# so that pass runs once per change, not once per `show`. Only logs of LOG_DIGEST_MIN_BYTES or more
# are digested: a short log is read faster than a digest.

LOG_DIGEST_MIN_BYTES = 8 << 20
_DIGEST_MAX_BYTES = 4 << 20


def _digest_path(root: Path, folder: Path) -> Path:
    return root / SPECWEAVE_DIR / CACHE_DIR / LOGS_DIR / folder.parent.parent.name / f"{folder.name}.json"


def read_log_digest(root: Path | None, folder: Path, sig: Signature | None) -> dict[str, Any] | None:
    """What was derived from this folder's log while it had signature `sig` (None: nothing valid)."""
    if root is None or sig is None or not enabled():
        return None
    data = None
    try:
        data = json.loads(read_bytes_nofollow(_digest_path(root, folder), _DIGEST_MAX_BYTES))
    except (OSError, DamagedFile, ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or data.get("version") != CACHE_VERSION or data.get("sig") != list(sig):
        return None
    return data


def write_log_digest(root: Path | None, folder: Path, sig: Signature | None, data: dict[str, Any]) -> None:
    """Keep a digest of the log (a JSON-safe dict), unless the log is too fresh to trust its mtime."""
    if root is None or sig is None or not enabled():
        return
    if sig[1] > time.time_ns() - int(RACY_S * 1e9):
        return
    path = _digest_path(root, folder)
    try:
        if not path.parent.is_dir():
            make_store_dirs(path.parent)
            ignore_cache(path.parent)
        atomic_write(path, json.dumps({**data, "version": CACHE_VERSION, "sig": list(sig)}, ensure_ascii=False,
                                      separators=(",", ":"), allow_nan=False))
    except (OSError, ValueError, DamagedFile):
        pass  # a read-only checkout: the digest is only an optimisation


__all__ = ["cached_dicts", "cached_records", "enabled", "index_path", "read_log_digest", "record_json",
           "write_log_digest"]
