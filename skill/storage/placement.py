"""Where a save's bytes go and how they get there: the checked name in the experiment folder, the bytes
staged in the store's cache and hashed as written, the route (the folder, in git, or the object store) by
`.specweave/ml.yaml`, and the stale folder copy removed once the object store holds the bytes.

Where they go (`stored` in the record): models and binary files go to the
git-ignored object store (`objects.py`); text artifacts (json, csv, md, ...)
stay in the experiment folder, in git, up to `artifacts.in_git_max_bytes` of
`.specweave/ml.yaml` (256 KiB by default, see skill/config.py) and go to the
store above it. `in_git=True/False` on a save forces either place; with
`artifacts.lfs` a file Git LFS takes (objects.LFS_SUFFIXES) stays in the folder.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import stat
from pathlib import Path
from typing import Any

from ..config import ArtifactSettings, load_config
from ..errors import DamagedFile, InvalidInput, UnsafePath
from ..layout import RESERVED_FILES, SPECWEAVE_DIR
from .atomic_writes import temp_file_for
from .notices import warn
from .objects import lfs_tracked
from .paths import make_dirs_within, safe_relative
from .store_dirs import store_dir_of


def artifact_target(folder: Path, name: str) -> tuple[str, Path]:
    """The checked relative name and absolute path of an artifact inside `folder`."""
    rel = safe_relative(name, "the experiment folder")
    if rel.as_posix() in RESERVED_FILES:
        raise InvalidInput(
            "artifact name", name,
            f"a name other than the experiment's own files ({', '.join(sorted(RESERVED_FILES))})",
        )
    if folder.is_symlink():
        raise UnsafePath(name, "the experiment folder (the folder itself is a symbolic link)")
    parent = make_dirs_within(folder, rel.parts[:-1], "the experiment folder")  # no link followed out
    target = parent / rel.parts[-1]
    if target.is_symlink():
        raise UnsafePath(name, "the experiment folder")
    return rel.as_posix(), target


class TextProbe:
    """Whether bytes fed in blocks are text (UTF-8 with no NUL, as git would diff them), looked at only while
    there are at most `limit` of them: beyond that the answer is no (they are too large for git anyway)."""

    def __init__(self, limit: int):
        self.limit, self.seen, self.text = limit, 0, limit > 0
        self._decoder = codecs.getincrementaldecoder("utf-8")()

    def feed(self, block: bytes, final: bool = False) -> None:
        if not self.text:
            return
        self.seen += len(block)
        try:
            if self.seen > self.limit or b"\0" in block:
                self.text = False
            else:
                self._decoder.decode(block, final)
        except UnicodeDecodeError:
            self.text = False


def stage(target: Path, payload: bytes | Path, probe: int = 0) -> tuple[str, int, str, bool]:
    """Write (or copy) the artifact to a temp file in the store's git-ignored cache and hash exactly
    those bytes; returns (temp name, size, sha256, whether they are text of at most `probe` bytes)."""
    fd, tmp = temp_file_for(target)
    digest = hashlib.sha256()
    text = TextProbe(probe)
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            if isinstance(payload, Path):
                with open(payload, "rb") as source:
                    for block in iter(lambda: source.read(1 << 20), b""):
                        digest.update(block)
                        text.feed(block)
                        out.write(block)
                        size += len(block)
            else:
                digest.update(payload)
                text.feed(payload)
                out.write(payload)
                size = len(payload)
        text.feed(b"", final=True)
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp, size, digest.hexdigest(), text.text


def settings_of(folder: Path) -> Any:
    """The `artifacts:` settings of the store holding `folder`; None outside a store (then everything stays
    in the folder, as before the object store). A broken ml.yaml never loses a save: it is said once and
    the defaults apply."""
    store = store_dir_of(folder)
    if store is None or store.name != SPECWEAVE_DIR:
        return None
    try:
        return load_config(store.parent).artifacts
    except DamagedFile as exc:
        warn(f"{exc}; saving with the default artifact settings")
        return ArtifactSettings()


def probe_limit(settings: Any, kind: str, in_git: bool | None) -> int:
    """How many bytes to look at to tell text from binary (0: the place does not depend on it)."""
    if settings is None or in_git is not None or kind == "model":
        return 0
    return settings.in_git_max_bytes


def route(settings: Any, kind: str, name: str, size: int, text: bool, in_git: bool | None) -> str:
    """Where a save's bytes go: `git` (the experiment folder) or `objects` (the object store).

    `in_git` decides when given; with LFS on, a file LFS takes stays in the folder; models and binary files
    go to the store, and text too once it is larger than `in_git_max_bytes`.
    """
    if in_git is not None and not isinstance(in_git, bool):
        raise InvalidInput("in_git", in_git, "True (keep it in the experiment folder, in git), False (the object "
                           "store) or None (by the rule in .specweave/ml.yaml)")
    if settings is None:
        return "git"
    if in_git is not None:
        return "git" if in_git else "objects"
    if settings.lfs and lfs_tracked(name):
        return "git"
    if kind == "model" or not text or size > settings.in_git_max_bytes:
        return "objects"
    return "git"


def drop_stale(target: Path, folder: Path) -> None:
    """Remove the folder's copy of an artifact now kept in the object store (an earlier save in git), so
    the folder holds nothing binary, and the sub-folders its name made if they are empty now; only a plain
    file and empty folders are removed, never through a link."""
    try:
        if stat.S_ISREG(os.lstat(target).st_mode):
            os.unlink(target)
    except (FileNotFoundError, NotADirectoryError):
        pass
    parent = target.parent
    while parent != folder and folder in parent.parents:
        try:
            os.rmdir(parent)  # only an empty folder (a link is no folder to rmdir: it fails and stays)
        except OSError:
            return
        parent = parent.parent


def store_of(folder: Path) -> Path:
    store = store_dir_of(folder)
    if store is None:  # pragma: no cover - route() keeps saves outside a store in their folder
        raise InvalidInput("experiment folder", str(folder), "a folder inside a .specweave store")
    return store


__all__ = ["TextProbe", "artifact_target", "drop_stale", "probe_limit", "route", "settings_of", "stage", "store_of"]
