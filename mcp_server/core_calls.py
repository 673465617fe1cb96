"""How the MCP face calls the core: off the event loop, with the core's errors turned into MCP errors.

One thread policy. The core is blocking code (file reads under locks, YAML, jinja2, pandas), so it
never runs on the event loop, where one slow call would hold every other request of the session
(and over HTTP, of every client). A tool, resource or prompt body is a plain function: the SDK runs
plain functions on a worker thread (`anyio.to_thread.run_sync`), so the body calls the core and
formats its answer there, with no await to forget. The few places that must stay async (the
completion handler, the resource listing) call the core through `in_worker`, the same mechanism.
The core's file locks are per thread and its memo takes concurrent readers, so calls may overlap.

One error mapping. Every error of the `skill.errors` family (and OS and validation errors) becomes a
one-line tool error (`tool_errors`) or resource error (`resource_errors`) instead of a crash.

And the hints each tool declares about what its call does (`READ`, `WRITE_IDEMPOTENT`, `WRITE_APPEND`).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, ToolAnnotations
from pydantic import ValidationError

from skill.controls import escape_controls
from skill.errors import AmbiguousReference, InvalidInput, NotFound, SpecweaveError

P = ParamSpec("P")
R = TypeVar("R")

MAX_MESSAGE = 1000

# Annotations: hints for clients that decide what to run without asking.
READ = ToolAnnotations(read_only_hint=True, open_world_hint=False)
WRITE_IDEMPOTENT = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True,
                                   open_world_hint=False)
WRITE_APPEND = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False,
                               open_world_hint=False)


async def in_worker(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """`fn(*args, **kwargs)` on a worker thread: how async code of this face calls the core."""
    import anyio.to_thread

    return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))


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


def _as_tool_error(exc: SpecweaveError | ValidationError | OSError) -> ToolError:
    return ToolError(error_message(exc))


def _as_resource_error(exc: SpecweaveError | ValidationError | OSError) -> Exception:
    """What the caller asked wrongly (nothing found, an ambiguous or refused name: a model, a path out)
    is -32602 invalid params; the rest -32603; one line each."""
    if isinstance(exc, NotFound):
        return ResourceNotFoundError(one_line(exc))
    if isinstance(exc, (InvalidInput, AmbiguousReference)):
        return MCPError(code=INVALID_PARAMS, message=one_line(exc))
    return ResourceError(error_message(exc))


def _mapped(fn: Callable[..., Any], convert: Callable[[Any], Exception]) -> Callable[..., Any]:
    """`fn` with the anticipated errors converted; a plain function stays plain (the SDK then runs
    it on a worker thread), an async one stays async."""
    caught = (SpecweaveError, ValidationError, OSError)
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def waiting(*args: Any, **kwargs: Any) -> Any:
            try:
                return await fn(*args, **kwargs)
            except caught as exc:
                raise convert(exc) from None

        return waiting

    @functools.wraps(fn)
    def plain(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except caught as exc:
            raise convert(exc) from None

    return plain


def tool_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn the skill.errors family (and OS and validation errors) into tool errors."""
    return _mapped(fn, _as_tool_error)


def resource_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """The same mapping for resources (see `_as_resource_error`)."""
    return _mapped(fn, _as_resource_error)


__all__ = ["READ", "WRITE_APPEND", "WRITE_IDEMPOTENT", "describe_validation", "error_message", "in_worker",
           "one_line", "resource_errors", "tool_errors"]
