"""Where agent text meets the store: the project, the containment check, the one error mapping.

Every tool and resource goes through here, so the rules hold in one place:
nothing an argument says reaches outside `.specweave/`, and every error of
the `skill.errors` family becomes a one-line tool error instead of a crash.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
from mcp_types import ToolAnnotations
from pydantic import ValidationError

from skill.errors import NotFound, ReadOnly, SpecweaveError, UnsafePath
from skill.layout import SPECWEAVE_DIR
from skill.paths import contained

P = ParamSpec("P")
R = TypeVar("R")

MAX_MESSAGE = 1000

# Annotations: hints for clients that decide what to run without asking.
READ = ToolAnnotations(read_only_hint=True, open_world_hint=False)
WRITE_IDEMPOTENT = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True,
                                   open_world_hint=False)
WRITE_APPEND = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False,
                               open_world_hint=False)


@dataclass(frozen=True)
class Project:
    """The project a server serves: its root, and whether writes are allowed."""

    root: Path
    read_only: bool = False

    @property
    def store(self) -> Path:
        return self.root / SPECWEAVE_DIR

    def inside(self, path: Path) -> Path:
        """`path` resolved, refused unless it stays in `.specweave/` (links followed)."""
        return contained(path, self.store)

    def increment(self, ref: str | None) -> Any:
        """The increment a reference names (None: active, then newest), refused if a link takes it out."""
        from skill.increments import resolve_increment

        inc = resolve_increment(self.root, ref or None)
        self.inside(Path(inc.path))
        return inc

    def rel(self, path: Path) -> str:
        try:
            return path.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            raise UnsafePath(str(path), SPECWEAVE_DIR) from None

    def require_writable(self, action: str) -> None:
        if self.read_only:
            raise ReadOnly(action)


def one_line(text: object) -> str:
    """A message on one line, bounded: what a model reads first."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= MAX_MESSAGE else flat[: MAX_MESSAGE - 3] + "..."


def describe_validation(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "value"
        got = repr(err.get("input"))
        got = got if len(got) <= 40 else got[:37] + "..."
        parts.append(f"{where}: {err['msg']} (got {got})")
    return "; ".join(parts)


def error_message(exc: BaseException) -> str | None:
    """The one-line message for an anticipated failure; None for a crash."""
    if isinstance(exc, SpecweaveError):
        return one_line(exc)
    if isinstance(exc, ValidationError):
        return one_line("invalid value: " + describe_validation(exc))
    if isinstance(exc, OSError):
        return one_line(f"cannot access {Path(str(exc.filename)).name if exc.filename else 'a file'}: "
                        f"{exc.strerror or exc}")
    return None


def tool_errors(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Turn the skill.errors family (and OS and validation errors) into tool errors."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await fn(*args, **kwargs)
        except (SpecweaveError, ValidationError, OSError) as exc:
            raise ToolError(error_message(exc)) from None

    return wrapper


def resource_errors(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """The same mapping for resources: NotFound is -32602, the rest -32603, one line each."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await fn(*args, **kwargs)
        except NotFound as exc:
            raise ResourceNotFoundError(one_line(exc)) from None
        except (SpecweaveError, ValidationError, OSError) as exc:
            raise ResourceError(error_message(exc)) from None

    return wrapper


def jsonable(value: Any) -> Any:
    """Plain JSON data with NaN/inf encoded the way the store writes them."""
    from skill.fileio import to_jsonable

    return to_jsonable(value)


__all__ = ["READ", "WRITE_APPEND", "WRITE_IDEMPOTENT", "Project", "error_message", "one_line", "resource_errors",
           "tool_errors"]
