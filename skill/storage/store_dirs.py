"""The store's folders: which `.specweave` holds a path, folders made one at a time, and no symbolic link on
the way to any file the store reads or writes."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

from ..errors import DamagedFile
from ..layout import SPECWEAVE_DIR


def store_dir_of(path: Path) -> Path | None:
    """The `.specweave` folder that holds `path` (the innermost one), or None when it is outside any store.
    On the path's text: every write asks, and walking `path.parents` built a Path per folder."""
    text = _SEP + os.fspath(path)  # a relative `.specweave/...` starts with the name, not a separator
    at = text.rfind(_STORE_PART)
    while at >= 0:
        end = at + len(_STORE_PART)
        if end == len(text) or text[end] == _SEP:
            return Path(text[1:end])
        at = text.rfind(_STORE_PART, 0, at)
    return None


# --- No link anywhere on the path -----------------------------------------------------------------
# Everything from `.specweave` down arrived by git, so any folder on the way to a file may be a symbolic link
# a clone committed (`.specweave -> ../other-project/.specweave`, `cache -> /tmp/x`, `experiments -> ~`).
# O_NOFOLLOW guards only the last part of a path; these checks guard the rest, for every reader and writer
# of the store (they all open, create or rename through this module). The folders above `.specweave` are the
# user's own choice (a project under a linked home folder is fine).

_SEP = os.sep


_STORE_PART = _SEP + SPECWEAVE_DIR


def _store_at(text: str) -> int:
    """Where the outermost `.specweave` folder on the path `text` ends (an index into it), or -1."""
    at = text.find(_STORE_PART)
    while at >= 0:
        end = at + len(_STORE_PART)
        if end == len(text) or text[end] == _SEP:
            return end
        at = text.find(_STORE_PART, end)
    return -1


def outer_store(path: Path) -> Path | None:
    """The outermost `.specweave` folder on `path` (a folder named so inside a store is the clone's)."""
    text = os.fspath(path)
    lead = "" if os.path.isabs(text) else _SEP  # a relative `.specweave/...` starts with the name
    end = _store_at(lead + text)
    return Path(text[: end - len(lead)]) if end >= 0 else None


def linked_part(path: Path) -> Path | None:
    """The first of `.specweave` and the folders below it on the way to `path` (not `path` itself) that is a
    symbolic link, or None. A part that does not exist ends the check: nothing below it exists either.
    Plain string slicing and one lstat per folder: this runs for every file the store reads or writes."""
    text = os.path.abspath(path) if not os.path.isabs(path) else os.fspath(path)
    end = _store_at(text)
    if end < 0:
        return None
    last = text.rfind(_SEP)
    now = time.monotonic()
    if now - _checked.get(text[:last], -_RECHECK_S) < _RECHECK_S:
        return None
    lstat, islink = os.lstat, stat.S_ISLNK
    while True:
        prefix = text[:end]
        if now - _checked.get(prefix, -_RECHECK_S) >= _RECHECK_S:
            try:
                if islink(lstat(prefix).st_mode):
                    return Path(prefix)
            except (FileNotFoundError, NotADirectoryError):
                return None
            if len(_checked) > 50_000:
                _checked.clear()
            _checked[prefix] = now
        if end >= last:
            return None
        end = text.find(_SEP, end + 1)
        if end < 0 or end > last:
            return None


# Folders found not to be links, and when: reading a run's three files, or a thousand runs of one increment,
# checks each folder on the way once, not once per file. The threat is what a clone committed, which is on
# disk before any command starts; a second is far shorter than any `git pull` followed by a command.
_RECHECK_S = 1.0


_checked: dict[str, float] = {}


def refuse_linked_parts(path: Path) -> None:
    """DamagedFile (one line) when a folder on the way to `path`, `.specweave` included, is a symbolic link."""
    link = linked_part(path)
    if link is not None:
        raise DamagedFile(str(link), "is a symbolic link; refusing to read or write through it "
                                     "(replace it with a folder)")


def make_store_dirs(folder: Path) -> Path:
    """Create `folder` (inside a store) and the folders above it down from `.specweave`, one at a time,
    refusing any part that is a symbolic link or not a folder (`mkdir(parents=True)` would create folders
    through a planted link before any check). Outside a store: a plain `mkdir(parents=True)`."""
    store = outer_store(folder)
    if store is None:
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    text = os.fspath(folder)
    now = time.monotonic()
    if now - _made.get(text, -_RECHECK_S) < _RECHECK_S:  # checked a moment ago: one mkdir says it is still there
        try:
            os.mkdir(text)
            return folder
        except FileExistsError:
            return folder
        except FileNotFoundError:
            pass  # a folder above it was removed since: the whole walk below
    if not os.path.isdir(store.parent):
        store.parent.mkdir(parents=True, exist_ok=True)  # the project root: the user's own folder
    current = store
    for step in ("", *folder.relative_to(store).parts):
        if step:
            current = current / step
        try:
            os.mkdir(current)
            continue
        except FileExistsError:
            pass
        mode = os.lstat(current).st_mode
        if stat.S_ISLNK(mode):
            raise DamagedFile(str(current), "is a symbolic link; refusing to read or write through it "
                                            "(replace it with a folder)")
        if not stat.S_ISDIR(mode):
            raise DamagedFile(str(current), "is not a folder")
    if len(_made) > 10_000:
        _made.clear()
    _made[text] = now
    return folder


# Folders `make_store_dirs` walked and found to be folders, and when (the same window as `_checked`): a run
# writes into the same few folders a dozen times, and each walk cost a mkdir and an lstat per part.
_made: dict[str, float] = {}


__all__ = ["linked_part", "make_store_dirs", "outer_store", "refuse_linked_parts", "store_dir_of"]
