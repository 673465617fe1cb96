"""The object store: models and binary artifacts kept out of git, each named by its sha256.

    .specweave/objects/
      .gitignore              `*`: nothing in here is ever committed
      sha256/ab/cdef0123...   the bytes whose sha256 is abcdef0123... (made read-only once placed)

The experiment folder keeps what git shares, the record in metadata.yaml (name, size, sha256,
`stored: objects`); the bytes travel through a remote (`sw-ml artifacts push/pull`, see `remote.py`),
laid out there the same way. Which saves land here is `artifacts.py`'s routing rule.

An object is placed by renaming bytes that were staged in the git-ignored cache and hashed exactly as
they were written, so an object's name is the hash of its bytes; the same bytes saved by two runs are
kept once. Nothing here follows a link: a cloned repository can carry `.specweave/objects` (or a folder
below it) as a committed link, since this folder's own `.gitignore` is not in the clone, so every step
of an object's path is checked before it is read or written.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import DamagedFile, InvalidInput, ObjectMissing, UnsafePath
from ..layout import OBJECTS_DIR, OBJECTS_HASH
from .atomic_writes import replace_into, temp_file_for
from .gitfiles import ignore_folder
from .paths import make_dirs_within
from .safe_reads import open_regular_nofollow

HASH_RE = re.compile(r"^[0-9a-f]{64}$")
# With `artifacts: {lfs: true}` (`sw-ml init --lfs`), files with these extensions stay in the experiment
# folder and `.specweave/.gitattributes` hands them to Git LFS; other binaries still come here. Matched
# exactly (git's attribute patterns are case-sensitive): `model.PKL` is not `*.pkl` to git either.
LFS_SUFFIXES = (
    ".pkl", ".pickle", ".joblib", ".pt", ".pth", ".onnx", ".keras", ".h5", ".hdf5", ".ubj", ".cbm",
    ".safetensors", ".ckpt", ".npy", ".npz", ".parquet", ".feather", ".arrow", ".bin", ".pb", ".tflite",
    ".gguf", ".mlmodel", ".png", ".jpg", ".jpeg", ".gif", ".webp", ".pdf", ".zip", ".gz", ".tar",
)


def lfs_rules() -> list[str]:
    """The `.specweave/.gitattributes` lines that send those files of experiment folders through LFS."""
    return [f"increments/**/experiments/**/*{suffix} filter=lfs diff=lfs merge=lfs -text" for suffix in LFS_SUFFIXES]


def lfs_tracked(name: str) -> bool:
    return any(name.endswith(suffix) for suffix in LFS_SUFFIXES)
_LABEL = "the object store (.specweave/objects)"
_WHY = "the object store: models and binary artifacts by sha256, shared by `sw-ml artifacts push/pull`, never committed"


def check_hash(sha256: str) -> str:
    if not isinstance(sha256, str) or not HASH_RE.match(sha256):
        raise InvalidInput("sha256", sha256, "64 lowercase hexadecimal digits")
    return sha256


def objects_root(store: Path) -> Path:
    """`.specweave/objects` of the store folder `store`."""
    return store / OBJECTS_DIR


def object_key(sha256: str) -> str:
    """`sha256/ab/cdef...`: where an object lies below the store's objects folder and below a remote."""
    check_hash(sha256)
    return f"{OBJECTS_HASH}/{sha256[:2]}/{sha256[2:]}"


def object_path(store: Path, sha256: str) -> Path:
    """The object's path (not checked: see `checked_object_path` before reading or writing it)."""
    return objects_root(store).joinpath(*object_key(sha256).split("/"))


def checked_object_path(store: Path, sha256: str) -> Path:
    """The object's path, refusing (UnsafePath) a link anywhere from `.specweave` down to its folder.
    The object itself is opened without following a link by whoever reads it."""
    path = object_path(store, sha256)
    for step in (store, *reversed(path.parents[:4])):
        if step.is_symlink():
            raise UnsafePath(str(step), f"{_LABEL} (a folder on the way is a symbolic link)")
    return path


_ignored: set[Path] = set()


def _folder_for(store: Path, sha256: str) -> Path:
    """Create the object's folder, step by step without following a link, and the store's .gitignore."""
    if store.is_symlink():
        raise UnsafePath(str(store), f"{_LABEL} (.specweave is a symbolic link)")
    root = make_dirs_within(store, [OBJECTS_DIR], _LABEL)
    if root not in _ignored:
        ignore_folder(root, _WHY)
        _ignored.add(root)
    return make_dirs_within(root, [OBJECTS_HASH, sha256[:2]], _LABEL)


def place_object(tmp: str, store: Path, sha256: str) -> Path:
    """Rename a staged temp file whose bytes hash to `sha256` into the store, read-only; the temp file is
    gone afterwards whatever happens. Placing an object that is already there replaces it with these
    bytes (the same ones, unless the old copy was damaged): the rename is atomic either way."""
    try:
        check_hash(sha256)
        target = _folder_for(store, sha256) / sha256[2:]
        os.chmod(tmp, stat.S_IMODE(os.stat(tmp).st_mode) & ~0o222)  # an object never changes
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    replace_into(tmp, target)
    return target


def object_state(store: Path, sha256: str, size: int | None = None) -> str:
    """`present` (a regular file, of `size` bytes when given), `missing`, or `damaged` (the wrong size,
    a link, not a plain file); a link on the way is UnsafePath."""
    path = checked_object_path(store, sha256)
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return "missing"
    if not stat.S_ISREG(st.st_mode) or (size is not None and st.st_size != size):
        return "damaged"
    return "present"


def place_note(store: Path, info: Any) -> str:
    """What a listing adds after an artifact's size and hash: nothing for bytes in git, else where they are."""
    if getattr(info, "stored", "git") != "objects":
        return ""
    try:
        state = object_state(store, info.sha256, info.size)
    except (InvalidInput, UnsafePath):
        state = "damaged"
    if state == "present":
        return ", in the object store"
    if state == "missing":
        return ", in the object store, not in this clone: sw-ml artifacts pull"
    return ", in the object store, damaged here (a link, or not the recorded size): sw-ml artifacts pull"


def open_object(store: Path, sha256: str) -> int:
    """A read-only descriptor of the object, never through a link (DamagedFile for a link or anything
    that is not a plain file, FileNotFoundError when it is not here)."""
    return open_regular_nofollow(checked_object_path(store, sha256), shared_ok=True)


def stage_stream(source: BinaryIO, near: Path, limit: int | None = None) -> tuple[str, int, str]:
    """Copy a stream into a temp file in the cache of the store holding `near`, hashing exactly the bytes
    written; (temp name, size, sha256). More than `limit` bytes stops the copy (DamagedFile)."""
    fd, tmp = temp_file_for(near)
    digest = hashlib.sha256()
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            for block in iter(lambda: source.read(1 << 20), b""):
                size += len(block)
                if limit is not None and size > limit:
                    raise DamagedFile(str(near), f"is longer than the {limit} bytes recorded; not kept")
                digest.update(block)
                out.write(block)
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp, size, digest.hexdigest()


def sha256_of_fd(fd: int) -> tuple[int, str]:
    """(size, sha256) of what an open descriptor reads from its current position to the end; closes it."""
    digest = hashlib.sha256()
    size = 0
    with os.fdopen(fd, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


def local_objects(store: Path) -> Iterator[tuple[str, int]]:
    """(sha256, size) of every object here, skipping whatever is not a regular file with a hash name."""
    base = objects_root(store) / OBJECTS_HASH
    if store.is_symlink() or objects_root(store).is_symlink() or base.is_symlink():
        return
    try:
        prefixes = sorted(os.scandir(base), key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return
    for prefix in prefixes:
        if len(prefix.name) != 2 or not prefix.is_dir(follow_symlinks=False):
            continue
        with os.scandir(prefix.path) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                sha = prefix.name + entry.name
                if HASH_RE.match(sha) and entry.is_file(follow_symlinks=False):
                    yield sha, entry.stat(follow_symlinks=False).st_size


__all__ = [
    "HASH_RE",
    "LFS_SUFFIXES",
    "ObjectMissing",
    "check_hash",
    "checked_object_path",
    "lfs_rules",
    "lfs_tracked",
    "local_objects",
    "object_key",
    "object_path",
    "object_state",
    "objects_root",
    "open_object",
    "place_note",
    "place_object",
    "sha256_of_fd",
    "stage_stream",
]
