"""Stat signatures: how every cache in the core tells that a file or folder may have changed.

One order everywhere: a file is (size, mtime_ns, inode), read with lstat (a planted link is signed as
the link, never followed); its identity adds ctime_ns (a rewrite that restores size and mtime still
shows). A folder's signature is its own mtime_ns followed by the signatures of the files it is known to
hold, (-1, -1, -1) for one that is absent: every atomic write renames into the folder (its mtime moves)
and an in-place hand edit moves the file's own size or mtime.

Why not a content hash: the caches exist to avoid reading the files; a stat is what a reader can afford
for every experiment of every listing.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

from ..layout import EDITS_FILE, METADATA_FILE, METRICS_FILE, METRICS_LOG_FILE, PARAMS_FILE

Signature = tuple[int, int, int]
Identity = tuple[int, int, int, int]
ABSENT: Signature = (-1, -1, -1)


def stat_signature(st: os.stat_result) -> Signature:
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def file_signature(path: Path | str, *, regular: bool = False, follow: bool = False) -> Signature | None:
    """(size, mtime_ns, inode) of `path`; None when it is absent (or, with `regular`, not a plain file).
    `follow` signs what a link points to (only for a file the user keeps, such as ml.yaml)."""
    try:
        st = os.stat(path) if follow else os.lstat(path)
    except OSError:
        return None
    if regular and not stat.S_ISREG(st.st_mode):
        return None
    return stat_signature(st)


def file_identity(path: Path | str) -> Identity | None:
    """The file's signature and its ctime_ns: the file a writer left is still the one there."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return (*stat_signature(st), st.st_ctime_ns)


def folder_signature(folder: Path | str, names: Iterable[str]) -> list[int] | None:
    """[folder mtime_ns, then size, mtime_ns, inode of each named file]; None when the folder is gone."""
    base = os.fspath(folder)
    lstat = os.lstat
    try:
        sig = [lstat(base).st_mtime_ns]
    except OSError:
        return None
    for name in names:  # plain strings: this runs for every experiment of every listing
        try:
            st = lstat(f"{base}/{name}")
            sig += (st.st_size, st.st_mtime_ns, st.st_ino)
        except OSError:
            sig += ABSENT
    return sig


def signature_mtimes(sig: list[int]) -> list[int]:
    """The mtimes a folder signature holds (the folder's and each present file's), for the racy-write rule."""
    return [sig[0], *(m for m in sig[2::3] if m >= 0)]


def mtime_ns(path: Path | str) -> int:
    """A folder's mtime_ns, -1 when it is gone: a listing's structure is the mtimes of its folders."""
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return -1


RUN_FILES = (METADATA_FILE, PARAMS_FILE, METRICS_FILE, METRICS_LOG_FILE, EDITS_FILE)


def run_signature(folder: Path | str) -> list[int] | None:
    """An experiment folder's signature over the files a record is read from (the read cache's and the
    memo's key)."""
    return folder_signature(folder, RUN_FILES)


__all__ = ["ABSENT", "RUN_FILES", "Identity", "Signature", "file_identity", "file_signature", "folder_signature",
           "mtime_ns", "run_signature", "signature_mtimes", "stat_signature"]
