"""`sw-ml` commands: diff, reproduce. Registered by `specweave.cli.build_parser`."""

from __future__ import annotations

from typing import Any


def register(add: Any, **parents: Any) -> None:
    """Add this module's commands with `add(name, func, help, example, parents)`."""
