"""Opening the store's files without following a link (O_NOFOLLOW on the file, `store_dirs` for the folders
above it), refusing what is not a plain file or is shared by hard links, and reading at most a bounded size."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from ..errors import DamagedFile
from .store_dirs import outer_store, refuse_linked_parts


def refuse_hard_linked(fd: int, path: Path) -> None:
    """DamagedFile when the open file has more than one hard link: writing to it in place (an append) would
    change the other names too, and reading it shows a file the store does not own."""
    if os.fstat(fd).st_nlink > 1:
        raise DamagedFile(str(path), "has more than one hard link; refusing to use a file shared with another "
                                     "path (copy it: `cp --remove-destination` or rewrite it)")


MAX_READ_BYTES = 16 << 20
"""The largest params.json, metrics.json or metadata.yaml read (they are a few kilobytes when written here)."""


_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # a FIFO planted in the store must not hang the open


# --- Bounded, link-refusing reads ------------------------------------------------------------------
# Every file of the store that is read whole goes through these: a file planted in a cloned repository
# (a link out of the store, a FIFO, gigabytes, `[[[[...` 100,000 deep, a YAML alias bomb) becomes a
# DamagedFile with one line saying why, never a traceback, a hang, or gigabytes of memory.

# Opening with this flag fails (ELOOP) when the last part of the path is a symbolic link: a link planted
# in a cloned store never leads a reader or an appender out of it. Windows has no such flag (and
# creating links there needs privileges); an lstat check stands in.
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def open_nofollow(path: Path, flags: int = os.O_RDONLY, mode: int = 0o666) -> int:  # less the umask
    """os.open that refuses a symbolic link with DamagedFile (one line) instead of following it."""
    refuse_linked_parts(path)
    if not NOFOLLOW and os.path.islink(path):  # pragma: no cover - Windows
        raise DamagedFile(str(path), "is a symbolic link; refusing to follow it out of the store")
    try:
        fd = os.open(path, flags | NOFOLLOW, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise DamagedFile(str(path), "is a symbolic link; refusing to follow it out of the store") from None
        raise
    if flags & (os.O_WRONLY | os.O_RDWR) and outer_store(path) is not None:
        try:  # an append or an in-place write through a second name would change a file outside
            refuse_hard_linked(fd, path)
        except BaseException:
            os.close(fd)
            raise
    return fd


def read_text_nofollow(path: Path, max_bytes: int | None = MAX_READ_BYTES) -> str:
    """A store file's text (UTF-8): never through a link, only a regular file, bounded in size."""
    return decode_utf8(path, read_bytes_nofollow(path, max_bytes))


def _size(n: int) -> str:
    return f"{n / (1 << 20):.1f} MB" if n >= 1 << 20 else f"{n} bytes"


def too_large(size: int, limit: int) -> str:
    return f"too large ({_size(size)}; at most {_size(limit)} is read)"


def open_regular_nofollow(path: Path, *, shared_ok: bool = False) -> int:
    """A read-only descriptor of a regular file, refusing a link (DamagedFile) and anything that is not a
    plain file (a folder, a FIFO, a device), without blocking on a FIFO. A file of the store with more
    than one hard link is refused too, unless `shared_ok` (objects, which are checked by their hash)."""
    return _open_regular(path, shared_ok)[0]


def _open_regular(path: Path, shared_ok: bool) -> tuple[int, os.stat_result]:
    fd = open_nofollow(path, os.O_RDONLY | _NONBLOCK)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise DamagedFile(str(path), "not a regular file; refusing to read it")
        if st.st_nlink > 1 and not shared_ok and outer_store(path) is not None:  # git never makes one; a shared file is not ours
            refuse_hard_linked(fd, path)
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def read_bytes_nofollow(path: Path, max_bytes: int | None = MAX_READ_BYTES) -> bytes:
    """A store file's bytes: never through a symbolic link, only a regular file, at most `max_bytes`
    (None: no bound). FileNotFoundError when it is missing; DamagedFile (one line) for the rest."""
    # Plain os.read on the descriptor: a listing reads three small files a run, and a buffered file
    # object around each cost more than the read itself (about 11 us of 16).
    fd, st = _open_regular(path, False)
    try:
        size = st.st_size
        if max_bytes is not None and size > max_bytes:
            raise DamagedFile(str(path), too_large(size, max_bytes))
        data = os.read(fd, size + 1)  # what the file holds (+1 to see it grew): read(n) allocates n up front
        if len(data) != size:  # it grew since the fstat (or a short read): read on to its end, up to the bound
            parts, total = [data], len(data)
            while (max_bytes is None or total <= max_bytes) and (chunk := os.read(fd, 1 << 20)):
                parts.append(chunk)
                total += len(chunk)
            data = b"".join(parts)
    finally:
        os.close(fd)
    if max_bytes is not None and len(data) > max_bytes:
        raise DamagedFile(str(path), too_large(len(data), max_bytes))
    return data


def decode_utf8(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DamagedFile(str(path), f"not UTF-8 ({exc.reason})") from None


__all__ = ["MAX_READ_BYTES", "NOFOLLOW", "decode_utf8", "open_nofollow", "open_regular_nofollow",
           "read_bytes_nofollow", "read_text_nofollow", "refuse_hard_linked", "too_large"]
