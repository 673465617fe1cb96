"""The store's cache folder (`.specweave/.cache`) is derived and per-clone: it ignores itself in git."""

from __future__ import annotations

import os
from pathlib import Path

from ..layout import CACHE_DIR, SPECWEAVE_DIR


def ignore_cache(folder: Path) -> None:
    """Make the cache folder above `folder` ignore itself in git: it is derived and per-clone."""
    for parent in (folder, *folder.parents):
        if parent.name == CACHE_DIR and parent.parent.name == SPECWEAVE_DIR:
            marker = parent / ".gitignore"
            try:  # created, never opened through a link planted there (O_EXCL does not follow one)
                fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            except FileExistsError:
                return
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write("# derived and rebuildable: never committed\n*\n")
            return


__all__ = ["ignore_cache"]
