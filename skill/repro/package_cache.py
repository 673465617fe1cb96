"""Each sys.path folder's installed packages, remembered between processes in the user's own cache.

Why: every process that opens a run lists its packages, and listing means a scan of each site-packages
folder and the first block of every METADATA file in it: about 5 ms of CPU with 200 packages, on every
start of every training script and on every rank of a job. A folder's list changes only when an entry
is added, removed or replaced (pip adds and removes `*.dist-info` folders; an upgrade replaces one), and
each of those changes the folder's mtime. So a folder's list is kept under its path with the folder's
device, inode and mtime, and used while those are unchanged.

- The file is the user's (`$XDG_CACHE_HOME/specweave-ml/packages.json`, else `~/.cache/...`), never a
  repository's: nothing a clone brings can say what is installed here.
- A folder changed in the last two seconds is not kept: a change within the same tick of the file
  system's clock would leave its mtime as it was (git's "racily clean" rule).
- Anything unexpected in the file (another shape, a bad entry, over 1 MB) is ignored and written anew
  (a bad entry is left out when the file is next written).
- A folder's list is one string, name and version on alternate lines (neither holds a line break: each
  is one header line): the file parses as a few dozen strings rather than thousands of little lists,
  and an entry's shape is checked without a pass over its packages (version 1's lists cost a run's
  start 4 ms of capture, and 7 ms whenever the file was written).
- The newest `MAX_FOLDERS` folders are kept, so many virtualenvs do not grow the file without bound.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

MAX_FOLDERS = 64
MAX_FILE_BYTES = 1 << 20
RACY_NS = 2_000_000_000
_VERSION = 2


def user_cache_home() -> Path:
    """The user's own cache folder for this tool (never inside a repository)."""
    base = os.environ.get("XDG_CACHE_HOME") or ""
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".cache"
    return root / "specweave-ml"


def cache_file() -> Path:
    return user_cache_home() / "packages.json"


Entry = dict  # {"key": [dev, ino, mtime_ns], "used": seconds, "packages": [[name, version], ...]}


def load() -> dict[str, Entry]:
    """The remembered folders as the file has them; {} when there is no usable file. An entry is checked
    for its shape (`good`) where it is used: a process uses the few folders on its own sys.path, and
    checking all 64 folders' lists took over a millisecond of every run's start."""
    try:
        with open(cache_file(), "rb") as handle:  # cache_file: RuntimeError with no home folder at all
            data = handle.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            return {}
        raw = json.loads(data)
    except (OSError, ValueError, RecursionError, RuntimeError):
        return {}
    if not isinstance(raw, dict) or raw.get("version") != _VERSION or not isinstance(raw.get("folders"), dict):
        return {}
    return raw["folders"]


def good(entry: object) -> bool:
    """An entry of the shape `save` writes (`Entry`)."""
    if not isinstance(entry, dict):
        return False
    key, used, packages = entry.get("key"), entry.get("used"), entry.get("packages")
    return (isinstance(key, list) and len(key) == 3 and all(type(k) is int for k in key)
            and isinstance(used, (int, float)) and isinstance(packages, str)
            and (not packages or packages.count("\n") % 2 == 1))  # pairs of lines: an odd count of breaks


def packed(pairs: list[tuple[str, str]]) -> str:
    """A folder's (name, version) pairs as the entry keeps them."""
    return "\n".join(part for pair in pairs for part in pair)


def unpacked(text: str) -> list[tuple[str, str]]:
    """The pairs of a `good` entry's packages, in order."""
    if not text:
        return []
    parts = iter(text.split("\n"))
    return list(zip(parts, parts))


def key_of(info: os.stat_result) -> list[int] | None:
    """The folder's identity, or None while it is too recently changed to be kept."""
    if time.time_ns() - info.st_mtime_ns < RACY_NS:
        return None
    return [info.st_dev, info.st_ino, info.st_mtime_ns]


def save(known: dict[str, Entry], fresh: dict[str, Entry]) -> None:
    """Add `fresh` to the file (best effort: a cache that cannot be written is only slower)."""
    from ..storage.atomic_writes import atomic_write

    folders = {**{folder: entry for folder, entry in known.items() if good(entry)}, **fresh}  # fresh: made here
    if len(folders) > MAX_FOLDERS:
        newest = sorted(folders, key=lambda f: folders[f]["used"], reverse=True)[:MAX_FOLDERS]
        folders = {f: folders[f] for f in newest}
    try:
        path = cache_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json.dumps({"version": _VERSION, "folders": folders}, separators=(",", ":")))
    except (OSError, RuntimeError):
        pass


__all__ = ["cache_file", "good", "key_of", "load", "packed", "save", "unpacked", "user_cache_home"]
