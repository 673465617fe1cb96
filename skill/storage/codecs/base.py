"""What a codec is: one model or artifact format, written from an object and (for models) read back."""

from __future__ import annotations

from typing import Any

from ...errors import InvalidInput, MissingExtra
from ...schemas.records import ArtifactInfo


class Codec:
    """One format. `format` is what the record keeps (`ArtifactInfo.format`); `accepts` says whether this
    codec writes `obj` under a name ending in `suffix`; `encode` gives the bytes and the format recorded;
    `decode` turns bytes whose sha256 was checked against the record back into the object."""

    format: str = ""

    def accepts(self, obj: Any, suffix: str) -> bool:
        raise NotImplementedError

    def encode(self, obj: Any, suffix: str, name: str) -> tuple[bytes, str]:
        raise NotImplementedError

    def decode(self, info: ArtifactInfo, data: bytes) -> Any:
        raise InvalidInput(f"format of {info.name!r}", info.format, "a model format (this one is an artifact: "
                           "read the file itself)")


def top_module(obj: Any) -> str:
    """The top-level package an object's class comes from (`xgboost`, `pandas`, ...)."""
    return type(obj).__module__.split(".", 1)[0]


def missing(module: str, what: str) -> MissingExtra:
    """MissingExtra saying that `what` needs `module` (a library the user installs, not one of our extras)."""
    err = MissingExtra(module, module)
    err.message = f"{what} needs {module}, which is not installed; install it with: pip install {module}"
    err.args = (err.message,)
    return err


__all__ = ["Codec", "missing", "top_module"]
