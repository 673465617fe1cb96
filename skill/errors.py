"""Typed errors: one family, mapped once per face (CLI exit code, MCP tool error).

Each error builds its own one-line message from its fields, naming what was
wrong and what would be right.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class SpecweaveError(Exception):
    """Base of every error this package raises on purpose."""

    exit_code = 1

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidInput(SpecweaveError, ValueError):
    """An argument is malformed: a bad name, value, filter or option."""

    exit_code = 2

    def __init__(self, what: str, got: object, expected: str):
        self.what, self.got, self.expected = what, got, expected
        shown = repr(got)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        super().__init__(f"invalid {what} {shown}: expected {expected}")


class UnsafePath(InvalidInput):
    """A name would read or write outside the folder it belongs to."""

    def __init__(self, name: str, base: str):
        super().__init__(
            "path", name, f"a relative name inside {base} (no '..', no absolute path, no link out)"
        )


class NotFound(SpecweaveError, LookupError):
    """A reference matched nothing."""

    exit_code = 3

    def __init__(self, kind: str, ref: str, candidates: Iterable[str] = ()):
        self.kind, self.ref = kind, ref
        self.candidates = list(candidates)
        msg = f"no {kind} matches {ref!r}"
        if self.candidates:
            shown = self.candidates[:10]
            more = f" (and {len(self.candidates) - 10} more)" if len(self.candidates) > 10 else ""
            msg += f"; known: {', '.join(shown)}{more}"
        else:
            msg += f"; there is no {kind} yet"
        super().__init__(msg)


class AmbiguousReference(SpecweaveError, LookupError):
    """A reference matched several things; the message lists them."""

    exit_code = 3

    def __init__(self, kind: str, ref: str, candidates: Iterable[str]):
        self.kind, self.ref = kind, ref
        self.candidates = list(candidates)
        super().__init__(
            f"{kind} reference {ref!r} is ambiguous; use one of: {', '.join(self.candidates)}"
        )


class DamagedFile(SpecweaveError):
    """A file in the store does not parse; names the file and line."""

    exit_code = 4

    def __init__(self, path: str, problem: str, line: int | None = None):
        self.path, self.problem, self.line = path, problem, line
        where = f"{path}:{line}" if line else path
        super().__init__(f"damaged file {where}: {problem}")


def schema_problem(exc: Any) -> str:
    """`where: what` of a pydantic ValidationError's first error (`document` for the whole file): the
    one line a damaged file's problem gives."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "document"
    return f"{where}: {first['msg']}"


class MissingExtra(SpecweaveError, ImportError):
    """An optional integration's library is not installed."""

    exit_code = 5

    def __init__(self, module: str, extra: str):
        self.module, self.extra = module, extra
        super().__init__(
            f"{module} is not installed; install it with: pip install 'specweave-ml[{extra}]'"
        )


class ReadOnly(SpecweaveError):
    """A write was asked of something that cannot be written: a read-only store, another tool's run."""

    exit_code = 6

    def __init__(self, action: str, why: str = "the store is read-only"):
        super().__init__(f"{action} is not allowed: {why}")


class ObjectMissing(NotFound):
    """A recorded artifact whose bytes live in the object store, and the store here does not have them
    (a fresh clone that has not pulled): one line naming the command that brings them."""

    def __init__(self, name: str, experiment: str, sha256: str):
        super().__init__(f"object of {name!r}", sha256)
        self.name, self.experiment, self.sha256 = name, experiment, sha256
        self.message = (f"{name} of {experiment} is kept in the object store and is not in this clone "
                        f"(sha256 {sha256[:12]}...): run `sw-ml artifacts pull {experiment}` to fetch it")
        self.args = (self.message,)


class UnconfirmedRemote(SpecweaveError):
    """ml.yaml names a remote the user has not confirmed for this repository."""

    exit_code = 2

    def __init__(self, url: str):
        self.url = url
        super().__init__(f"the artifacts remote {url!r} comes from .specweave/ml.yaml, which anyone who commits "
                         "to this repository can change; confirm it once with `sw-ml artifacts allow-remote`, or "
                         "name a remote yourself with --to/--from URL or SPECWEAVE_ARTIFACTS_REMOTE")


class RemoteFailed(SpecweaveError):
    """The artifacts remote answered with an error (a refusal, an unsupported operation, no connection)."""

    exit_code = 1

    def __init__(self, url: str, what: str, exc: BaseException):
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        super().__init__(f"the artifacts remote {url} failed while {what}: {type(exc).__name__}: {first}")


class CannotReproduce(SpecweaveError):
    """A run cannot be rerun as recorded; the message says why, in one line, before anything heavy."""

    exit_code = 7

    def __init__(self, ref: str, why: str):
        self.ref, self.why = ref, why
        super().__init__(f"cannot reproduce {ref}: {why}")


__all__ = [
    "AmbiguousReference",
    "CannotReproduce",
    "DamagedFile",
    "InvalidInput",
    "MissingExtra",
    "NotFound",
    "ObjectMissing",
    "ReadOnly",
    "RemoteFailed",
    "SpecweaveError",
    "UnconfirmedRemote",
    "UnsafePath",
    "schema_problem",
]
