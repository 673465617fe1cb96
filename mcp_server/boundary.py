"""Where agent text meets the store: the project, the containment check, the one error mapping.

Every tool and resource goes through here, so the rules hold in one place:
nothing an argument says reaches outside `.specweave/`, and every error of
the `skill.errors` family becomes a one-line tool error instead of a crash.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import ParamSpec, TypeVar

from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, ToolAnnotations
from pydantic import ValidationError

from skill.controls import escape_controls
from skill.errors import AmbiguousReference, InvalidInput, NotFound, SpecweaveError
from skill.schemas.records import Increment
from skill.project import Project

P = ParamSpec("P")
R = TypeVar("R")

MAX_MESSAGE = 1000

# Annotations: hints for clients that decide what to run without asking.
READ = ToolAnnotations(read_only_hint=True, open_world_hint=False)
WRITE_IDEMPOTENT = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True,
                                   open_world_hint=False)
WRITE_APPEND = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False,
                               open_world_hint=False)


def one_line(text: object) -> str:
    """A message on one line, bounded: what a model reads first."""
    flat = escape_controls(" ".join(str(text).split()))
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


def default_increment(project: Project, ref: str | None) -> Increment | None:
    """The increment `ref` names (errors as usual), else the default one; None only when the
    project has no increment at all: an empty answer, not an error."""
    if ref:
        return project.increment(ref)
    try:
        return project.increment(None)
    except NotFound:
        if project.increments():
            raise
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
    """The same mapping for resources: what the caller asked wrongly (nothing found, an ambiguous or
    refused name: a model, a path out) is -32602 invalid params; the rest -32603; one line each."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await fn(*args, **kwargs)
        except NotFound as exc:
            raise ResourceNotFoundError(one_line(exc)) from None
        except (InvalidInput, AmbiguousReference) as exc:
            raise MCPError(code=INVALID_PARAMS, message=one_line(exc)) from None
        except (SpecweaveError, ValidationError, OSError) as exc:
            raise ResourceError(error_message(exc)) from None

    return wrapper


__all__ = ["READ", "WRITE_APPEND", "WRITE_IDEMPOTENT", "Project", "default_increment", "error_message", "one_line", "resource_errors",
           "tool_errors"]
