"""Cross-process locks for read-modify-write of the store's shared files.

Every change to metadata.yaml, decisions.jsonl, comparison.md and the living
docs takes an exclusive advisory lock, so that a training process, the CLI, the
MCP server and another Python process changing the same file one after the
other each see the others' changes: none writes an older picture over a newer
one. Lock files live in the git-ignored cache (`.specweave/cache/locks/`), never
beside the files people commit. `flock` on POSIX, `msvcrt.locking` on Windows;
both are released by the kernel when a process dies, so a SIGKILL never leaves
a lock behind.

The two locks every run takes (its metadata.yaml, and its live log when it is
settled) are held on what the run folder already has, on POSIX: the folder
itself for metadata.yaml, the folder's `.gitignore` marker (schema 3) for the
log. Creating a file is the dearest step of a run's write path on many disks,
and a lock file per run would also leave thousands in the cache; `flock` needs
neither write access nor a new file, and a folder or marker that cannot be
opened so (a link, an older run) falls back to a lock file.
"""

from __future__ import annotations

import errno
import functools
import hashlib
import os
import stat
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import DamagedFile
from ..layout import CACHE_DIR, LOCK_FREE_TARGETS, LOCKS_DIR, LOG_MARKER, METADATA_FILE
from .cache_dir import ignore_cache
from .safe_reads import NOFOLLOW
from .store_dirs import make_store_dirs, refuse_linked_parts, store_dir_of

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]
    import msvcrt

# flock is per open file, so threads of one process that each open the lock file exclude each other
# too; a thread that already holds a lock and asks again (nested helpers) must not wait on itself.
_held = threading.local()


@functools.lru_cache(maxsize=4096)
def lock_path(target: Path) -> Path:
    """Where the lock for `target` lives: the store's cache, else the system temp folder."""
    store = store_dir_of(target)
    if store is None:
        base = Path(tempfile.gettempdir()) / "specweave-locks"
        rel = str(target.resolve())
    else:
        base = store / CACHE_DIR / LOCKS_DIR
        rel = target.relative_to(store).as_posix()
    digest = hashlib.sha256(rel.encode("utf-8", "surrogatepass")).hexdigest()[:24]
    return base / f"{target.name[:40]}.{digest}.lock"


def _open_lock(path: Path, flags: int) -> int:
    try:
        return os.open(path, flags, 0o666)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise DamagedFile(str(path), "is a symbolic link; refusing to follow it out of the store") from None
        raise


def _held_in_folder(target: Path) -> tuple[str, int] | None:
    """(key, open fd) of the run folder's own lock for `target` (see the module's docstring), or None."""
    if fcntl is None:
        return None
    if target.name == METADATA_FILE:
        held, flags = target.parent, os.O_RDONLY | os.O_DIRECTORY
    else:
        held, flags = target.parent / LOG_MARKER, os.O_RDONLY | os.O_NONBLOCK
    try:
        refuse_linked_parts(held)
        fd = os.open(held, flags | NOFOLLOW | os.O_CLOEXEC)
    except (OSError, DamagedFile):
        return None
    if held.name == LOG_MARKER and not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    return f"{held}\0held", fd


def _acquire(fd: int) -> None:
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX)
        return
    while True:  # pragma: no cover - Windows: LK_LOCK itself gives up after ten seconds
        try:
            msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
            return
        except OSError:
            time.sleep(0.05)


def _lock_file(path: Path, in_store: bool) -> int:
    if in_store:  # a clone may commit `cache`, `locks` or the lock file itself as a link: none is followed
        refuse_linked_parts(path)
    flags = os.O_RDWR | os.O_CREAT | (NOFOLLOW if in_store else 0)
    try:
        return _open_lock(path, flags)
    except FileNotFoundError:
        if in_store:
            make_store_dirs(path.parent)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
        ignore_cache(path.parent)
        return _open_lock(path, flags)


@contextmanager
def file_lock(target: Path) -> Iterator[None]:
    """Hold the exclusive lock for `target` (a file of the store) for the duration of the block."""
    held: set[str] = _held.__dict__.setdefault("keys", set())
    own = _held_in_folder(target) if target.name in LOCK_FREE_TARGETS and store_dir_of(target) else None
    if own is not None:
        key, fd = own
        if key in held:
            os.close(fd)
            yield
            return
    else:
        path = lock_path(target)
        key = str(path)
        if key in held:
            yield
            return
        fd = _lock_file(path, store_dir_of(target) is not None)
    try:
        _acquire(fd)
        held.add(key)
        try:
            yield
        finally:
            held.discard(key)
    finally:
        os.close(fd)  # closing releases the lock


__all__ = ["file_lock", "lock_path"]
