"""Where the package's data folders (`templates/`, `prompts/`, the page sources in `dashboard/`) live.

Installed from a wheel they are `skill/_data/<name>` (pyproject force-includes
them there); in a checkout they are the repository's top-level folders.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


@lru_cache(maxsize=None)
def data_dir(name: str) -> Path:
    """The folder holding `name` ("templates", "prompts", "dashboard", "SKILL.md"), wheel first, then checkout."""
    if name not in ("templates", "prompts", "dashboard", "SKILL.md"):
        raise ValueError(f"unknown data folder {name!r}")
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"{name} not found in {_PACKAGE / '_data'} or {_PACKAGE.parent}")


__all__ = ["data_dir"]
