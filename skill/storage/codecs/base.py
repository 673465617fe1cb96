"""What a codec is: one model or artifact format, written from an object and (for models) read back."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ...errors import InvalidInput, MissingExtra
from ...schemas.records import ArtifactInfo


class Codec:
    """One format. `format` is what the record keeps (`ArtifactInfo.format`); `accepts` says whether this
    codec writes `obj` under a name ending in `suffix`; `encode` gives the bytes (or a file to copy as it is)
    and the format recorded;
    `decode` turns bytes whose sha256 was checked against the record back into the object."""

    format: str = ""

    def accepts(self, obj: Any, suffix: str) -> bool:
        raise NotImplementedError

    def encode(self, obj: Any, suffix: str, name: str) -> tuple[bytes | Path, str]:
        raise NotImplementedError

    def decode(self, info: ArtifactInfo, data: bytes) -> Any:
        raise InvalidInput(f"format of {info.name!r}", info.format, "a model format (this one is an artifact: "
                           "read the file itself)")


def written_to_file(suffix: str, save: Callable[[str], Any]) -> bytes:
    """The bytes of a library that saves only to a path: `save(path)` in a private temp folder, read back."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"model{suffix}"
        save(str(path))
        return path.read_bytes()


def loaded_from_file(suffix: str, data: bytes, load: Callable[[str], Any]) -> Any:
    """`load(path)` of a library that loads only from a path, on a private copy of the checked bytes."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"model{suffix}"
        path.write_bytes(data)  # the library reads this copy, never the stored file
        return load(str(path))


def top_module(obj: Any) -> str:
    """The top-level package an object's class comes from (`xgboost`, `pandas`, ...)."""
    return type(obj).__module__.split(".", 1)[0]


def missing(module: str, what: str) -> MissingExtra:
    """MissingExtra saying that `what` needs `module` (a library the user installs, not one of our extras)."""
    err = MissingExtra(module, module)
    err.message = f"{what} needs {module}, which is not installed; install it with: pip install {module}"
    err.args = (err.message,)
    return err


__all__ = ["Codec", "loaded_from_file", "missing", "top_module", "written_to_file"]
