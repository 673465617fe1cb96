"""A save's crash journal: the record of bytes being placed, kept in the git-ignored cache between the rename
into place and the write of metadata.yaml, so a save killed half-way is finished by the next metadata write
(`settle_saves`) and the recorded sha256 is always that of the bytes in place."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import socket
from collections.abc import Callable
from pathlib import Path

from ..errors import InvalidInput
from ..layout import CACHE_DIR, TMP_DIR
from ..schemas.records import ArtifactInfo
from .atomic_writes import atomic_write, replace_into
from .encoding import dumps_json
from .liveness import pid_alive
from .objects import checked_object_path, place_object
from .paths import safe_relative
from .placement import drop_stale, store_of
from .store_dirs import store_dir_of

Record = Callable[[ArtifactInfo], None]
_HOST = socket.gethostname()


@functools.lru_cache(maxsize=4096)
def _journal_prefix(folder: Path) -> tuple[Path, str] | None:
    store = store_dir_of(folder)
    if store is None:
        return None
    digest = hashlib.sha256(folder.relative_to(store).as_posix().encode("utf-8", "surrogatepass")).hexdigest()
    return store / CACHE_DIR / TMP_DIR, f"pending-{digest[:24]}."


def place_recorded(tmp: str, target: Path, folder: Path, info: ArtifactInfo, record: Record | None) -> ArtifactInfo:
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
            place_object(tmp, store_of(folder), info.sha256)
            drop_stale(target, folder)
        else:
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
        try:
            target = folder.joinpath(*safe_relative(info.name, "the experiment folder").parts)
            kept = checked_object_path(base.parent.parent, info.sha256) if info.stored == "objects" else target
            in_place = not kept.is_symlink() and _sha256_of(kept) == info.sha256
        except (OSError, InvalidInput):
            in_place = False
        if in_place:
            if info.stored == "objects":
                drop_stale(target, folder)
            changed = [a for a in (changed if changed is not None else artifacts) if a.name != info.name] + [info]
        journal.unlink(missing_ok=True)
    return changed


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


__all__ = ["Record", "place_recorded", "settle_saves"]
