"""The store's warning sink: a problem that costs no data (a setting read with its default, points kept
in memory while the disk is full) is said once per process on stderr, never raised into a training loop."""

from __future__ import annotations

import sys


def warn(message: str, _seen: set[str] = set()) -> None:  # noqa: B006 - once per message per process
    if message not in _seen:
        _seen.add(message)
        print(f"specweave: {message}", file=sys.stderr)


__all__ = ["warn"]
