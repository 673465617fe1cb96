"""Finding a recorded artifact's bytes (the experiment folder or the object store, never through a link) and
reading them only when their size and sha256 are the ones recorded at save time."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path
from typing import Any

from ..errors import DamagedFile, NotFound, ObjectMissing, UnsafePath
from ..layout import METADATA_FILE
from ..schemas.records import ArtifactInfo
from .objects import checked_object_path
from .paths import safe_relative
from .safe_reads import open_regular_nofollow
from .store_dirs import store_dir_of


def artifact_file(record: Any, name: str) -> tuple[ArtifactInfo, Path]:
    """The record of the artifact `name` of the experiment `record` and the path of its bytes: in the
    experiment folder, or in the object store when `stored: objects` (a folder without the field was
    written before the store existed: its bytes are in the folder).

    Only a recorded artifact is found (NotFound names the recorded ones); a link on the way is refused
    (UnsafePath), and so is the file itself when it is a link or not a plain file (DamagedFile); bytes kept
    in the object store and not in this clone are ObjectMissing, one line naming `sw-ml artifacts pull`.
    """
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


__all__ = ["artifact_file", "read_verified"]
