"""A source's artifact files read in place: every regular file under a folder, links never followed."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

MAX_ARTIFACTS = 10_000  # files imported per run at most


def local_artifacts(folder: Path) -> Iterator[tuple[str, Path]]:
    """(name, path) of every regular file under `folder`, by name; links are never followed."""
    found = []
    for dirpath, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not os.path.islink(os.path.join(dirpath, d)))
        for name in files:
            full = Path(dirpath) / name
            if not full.is_symlink() and full.is_file():
                found.append((full.relative_to(folder).as_posix(), full))
        if len(found) > MAX_ARTIFACTS:
            break
    yield from sorted(found)[:MAX_ARTIFACTS]


__all__ = ["MAX_ARTIFACTS", "local_artifacts"]
