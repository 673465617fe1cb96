"""Finding the project root, and keeping every path inside `.specweave/`."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath, PureWindowsPath

from ..errors import DamagedFile, UnsafePath
from ..layout import SPECWEAVE_DIR

ROOT_ENV_VARS = ("SPECWEAVE_ROOT", "CLAUDE_PROJECT_DIR")


def find_root(root: str | os.PathLike[str] | None = None, *, cwd: Path | None = None) -> Path:
    """The project root: `root`, then SPECWEAVE_ROOT, CLAUDE_PROJECT_DIR, then walk up.

    Walking up from the working directory stops at the first folder holding
    `.specweave/`, like git looks for `.git/`, but never crosses a repository
    boundary: a folder holding `.git` is the root when no store was found at
    or below it, so a fresh repository gets its store at its top and never
    writes into an enclosing project's. With neither, the working directory
    itself is the root.
    """
    return _own_store(_find_root(root, cwd))


def _own_store(root: Path) -> Path:
    """`root`, unless its `.specweave` is a symbolic link (a clone can commit one, to another project's
    store or anywhere): then nothing is read or written through it, by any face (DamagedFile, one line)."""
    if (root / SPECWEAVE_DIR).is_symlink():
        raise DamagedFile(str(root / SPECWEAVE_DIR), "is a symbolic link; refusing to read or write through "
                                                     "it (replace it with a folder)")
    return root


def _find_root(root: str | os.PathLike[str] | None, cwd: Path | None) -> Path:
    if root is not None:
        return Path(root).expanduser().resolve()
    for var in ROOT_ENV_VARS:
        value = os.environ.get(var)
        if value:
            return Path(value).expanduser().resolve()
    start = (cwd or Path.cwd()).resolve()
    chain = [start, *start.parents]
    for folder in chain:
        if (folder / SPECWEAVE_DIR).is_dir() or (folder / SPECWEAVE_DIR).is_symlink() or (folder / ".git").exists():
            return folder
    return start


def safe_relative(name: str, base_label: str) -> PurePosixPath:
    """Validate a user-given relative name (artifact, export file) before it touches disk.

    Refused: empty names, absolute paths (POSIX or Windows, drive letters too),
    any `..` part, NUL bytes. Why here: this is the boundary where text from a
    script or an agent becomes a path.
    """
    if not isinstance(name, str) or not name.strip() or "\x00" in name:
        raise UnsafePath(str(name), base_label)
    if PureWindowsPath(name).drive or PureWindowsPath(name).root or name.startswith(("/", "\\", "~")):
        raise UnsafePath(name, base_label)
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if not parts or any(part in ("..", "") for part in parts):
        raise UnsafePath(name, base_label)
    cleaned = [p for p in parts if p != "."]
    if not cleaned:
        raise UnsafePath(name, base_label)
    return PurePosixPath(*cleaned)


def contained(path: Path, base: Path) -> Path:
    """Resolve `path` (following links) and refuse it unless it stays under `base`."""
    resolved_base = base.resolve()
    resolved = path.resolve()
    if resolved != resolved_base and resolved_base not in resolved.parents:
        raise UnsafePath(str(path), str(base))
    return resolved


def make_dirs_within(base: Path, parts: tuple[str, ...] | list[str], label: str) -> Path:
    """Create `base/part/part/...` folder by folder, refusing any part that is a link or not a folder.

    Why not `mkdir(parents=True)` and a check afterwards: a link planted in a cloned store
    (`exports -> /etc`) would have had folders created through it before the check refused.
    """
    if base.is_symlink():
        raise UnsafePath(base.name, f"{label} (it is a symbolic link)")
    current = base
    for part in parts:
        current = current / part
        try:
            os.mkdir(current)
            continue
        except FileExistsError:
            pass
        if current.is_symlink() or not current.is_dir():
            raise UnsafePath(str(current.relative_to(base)), f"{label} (a part of it is a link or a file)")
    return current
