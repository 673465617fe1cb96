"""Writing the store's files: always through a temp file (in the store's git-ignored cache) and a rename, so
that a reader never sees half a file; appends land whole or not at all.

Renderers elsewhere return strings; this module is the one place that turns a string into a file."""

from __future__ import annotations

import errno
import os
import random
import shutil
import time
from pathlib import Path

from ..layout import CACHE_DIR, TMP_DIR
from .cache_dir import ignore_cache
from .store_dirs import make_store_dirs, refuse_linked_parts, store_dir_of


def _temp_dir(path: Path) -> Path:
    """Where a temp file for `path` is made: the store's git-ignored cache/tmp for files of a store
    (so a process killed mid-write leaves nothing that `git add` picks up), else the target's folder."""
    known = _temp_dir_of.get(path.parent)
    if known is not None and known in _temp_dirs_made:
        return known
    found = _find_temp_dir(path)
    _temp_dir_of[path.parent] = found
    return found


_temp_dir_of: dict[Path, Path] = {}


def _find_temp_dir(path: Path) -> Path:
    store = store_dir_of(path.parent)
    if store is None:
        return path.parent
    tmp = store / CACHE_DIR / TMP_DIR
    if tmp not in _temp_dirs_made:
        make_store_dirs(tmp)
        ignore_cache(tmp)
        _sweep_stale(tmp)
        _temp_dirs_made.add(tmp)
    return tmp


_temp_dirs_made: set[Path] = set()


STALE_TEMP_S = 3600.0


def _sweep_stale(folder: Path) -> None:
    """Once per process: remove temp files that a killed writer left (older than an hour, so that no
    write in progress in another process loses its file)."""
    cutoff = time.time() - STALE_TEMP_S
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.startswith(".") and entry.name.endswith(".tmp") and entry.stat().st_mtime < cutoff:
                    os.unlink(entry.path)
    except OSError:
        pass  # best effort: the cache is git-ignored either way


# Temp names need only be unlikely to collide (O_EXCL settles the rest), not secret: one generator seeded
# from the OS per process (again in a forked child) instead of a getrandom call per write.
_names = random.Random()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_names.seed)


def _new_temp(folder: Path, name: str) -> tuple[int, str]:
    """Create `folder/.<name>.<random>.tmp` exclusively, mode 0666 less the umask: the file renamed
    into the repository gets the permissions any other tool gives a new file there (0644 under
    umask 022), where mkstemp's 0600 would make committed files private."""
    for _ in range(100):
        tmp = os.path.join(folder, f".{name[:60]}.{_names.getrandbits(48):012x}.tmp")
        try:
            return os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
                           | getattr(os, "O_BINARY", 0), 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(folder))


def temp_file_for(path: Path) -> tuple[int, str]:
    """An open temp file (fd, name) to be renamed over `path` by `replace_into`."""
    refuse_linked_parts(path)
    try:
        return _new_temp(_temp_dir(path), path.name)
    except FileNotFoundError:  # the cache was removed while this process ran
        _temp_dirs_made.clear()
        _temp_dir_of.clear()
        return _new_temp(_temp_dir(path), path.name)


def replace_into(tmp: str, path: Path) -> None:
    """Rename a temp file over `path`; the temp file is gone afterwards whatever happens.

    An OSError names `path`, never the temp file (`.<name>.XXXX.tmp` in the git-ignored cache): that name
    means nothing to the person reading the error."""
    renamed = False
    try:
        try:
            refuse_linked_parts(path)  # checked again right before the rename: the cheapest guard
            os.replace(tmp, path)
            renamed = True
        except OSError as exc:
            if exc.errno != errno.EXDEV:  # the cache on another file system: copy beside, then rename
                raise
            beside = path.parent / f".{path.name[:60]}.{os.getpid()}.tmp"
            try:
                shutil.copyfile(tmp, beside)
                os.replace(beside, path)
            except BaseException:
                try:
                    os.unlink(beside)
                except OSError:
                    pass
                raise
    except OSError as exc:
        named = exc.filename is None or str(exc.filename) == str(tmp) or (
            os.path.basename(str(exc.filename)).startswith(".") and str(exc.filename).endswith(".tmp"))
        if exc.errno is None or not named:
            raise
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from None  # same errno, same subclass
    finally:
        if not renamed:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass


def append_whole(fd: int, data: bytes, start: int) -> None:
    """Write all of `data` to `fd` (opened O_APPEND, `start` bytes long before). A short or failed write
    (a full disk) is truncated back to `start` and re-raised, so no half record is ever left for the next
    append to glue onto."""
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(fd, view):]
    except OSError:
        try:
            os.ftruncate(fd, start)
        except OSError:
            pass
        raise


def atomic_write(path: Path, text: str | bytes) -> None:
    """Write through a temp file and rename it over the target: a reader never sees half a file, and a
    failed write (a full disk) leaves the old file as it was and no temp file behind.

    An OSError (a full disk, a folder that cannot be written) names `path`, never the temp file."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    try:
        fd, tmp = temp_file_for(path)
        try:
            try:
                view = memoryview(data)
                while view:  # os.write, not a file object: no buffer, no tty check, no seek
                    view = view[os.write(fd, view):]
            finally:
                os.close(fd)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError as exc:
        named = exc.filename is None or (
            os.path.basename(str(exc.filename)).startswith(".") and str(exc.filename).endswith(".tmp"))
        if exc.errno is None or not named:
            raise
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from None  # same errno, same subclass
    replace_into(tmp, path)


__all__ = ["STALE_TEMP_S", "append_whole", "atomic_write", "replace_into", "temp_file_for"]
