"""A progress bar for long helpers, shown only when stdout is a terminal.

tqdm draws it when installed (the `dev` extra has it); otherwise a one-line
counter does. Scripts, CI logs and captured output get nothing.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


def wanted(show: bool | None) -> bool:
    """`show` wins when given; else on only when stdout is a terminal and the user did not ask for quiet."""
    if show is not None:
        return bool(show)
    if os.environ.get("SPECWEAVE_QUIET"):
        return False
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):  # replaced or closed stdout
        return False


def _plain(items: Iterable[T], total: int, desc: str) -> Iterator[T]:
    stream = sys.stdout
    width = 30
    for done, item in enumerate(items, 1):
        yield item
        filled = int(width * done / total) if total else width
        stream.write(f"\r{desc} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        stream.flush()
    stream.write("\n")
    stream.flush()


def progress(items: Iterable[T], total: int, desc: str, show: bool | None = None) -> Iterable[T]:
    """Wrap `items` in a bar when one is wanted."""
    if not wanted(show):
        return items
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _plain(items, total, desc)
    bar: Any = tqdm(items, total=total, desc=desc, file=sys.stdout, leave=True)
    return bar
