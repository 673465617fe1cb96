"""MCP tools: diff_experiments."""

from __future__ import annotations

from typing import Any


def register(server: Any, project: Any) -> None:
    """Register this module's tools on `server`."""
