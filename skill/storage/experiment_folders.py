"""The one scan of an increment's `experiments/` folder: its experiment folders, and those that are links.

A link is never followed: a folder linked from a cloned store could lead anywhere, so it is reported
(the listing shows it as damaged) and never read; a linked `experiments/` folder holds nothing for the
same reason. Names that are not experiment folders (decisions.jsonl, comparison.md, a person's notes)
are left out. (The id allocator, `ids.allocate`, reads every name instead: a number is never reused,
whatever holds it.)
"""

from __future__ import annotations

import os
from pathlib import Path

from .ids import parse_dir


def scan_experiments(experiments_dir: Path) -> tuple[list[str], list[str]]:
    """(experiment folder names, names that are symbolic links), each by number then uid."""
    found, linked = [], []
    try:
        if experiments_dir.is_symlink():
            return [], []
        with os.scandir(experiments_dir) as entries:
            for entry in entries:
                parsed = parse_dir(entry.name)
                if not parsed:
                    continue
                if entry.is_symlink():
                    linked.append((parsed[0], parsed[2], entry.name))
                elif entry.is_dir(follow_symlinks=False):
                    found.append((parsed[0], parsed[2], entry.name))
    except (FileNotFoundError, NotADirectoryError):
        return [], []
    found.sort()
    linked.sort()
    return [name for _, _, name in found], [name for _, _, name in linked]


__all__ = ["scan_experiments"]
