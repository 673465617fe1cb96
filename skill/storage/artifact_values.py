"""What an artifact value becomes on disk: bytes as given, a file copied, text as UTF-8, plain data as JSON
or YAML, a library's object through its codec (`skill.storage.codecs`), anything else pickled."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import InvalidInput
from .codecs import value_codec
from .encoding import dumps_json, dumps_yaml, to_jsonable


def _structured_bytes(obj: Any, suffix: str, name: str) -> tuple[bytes, str]:
    try:
        data = to_jsonable(obj)
    except TypeError as exc:
        raise InvalidInput(f"content of artifact {name!r}", type(obj).__name__, f"JSON-safe values ({exc})") from None
    if suffix in (".yaml", ".yml"):
        return dumps_yaml(data).encode("utf-8"), "yaml"
    return dumps_json(data).encode("utf-8"), "json"


def encode_artifact(obj: Any, name: str) -> tuple[bytes | Path, str]:
    """Bytes to write (or a file to copy) and the format used, chosen by type and extension."""
    suffix = Path(name).suffix.lower()
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return bytes(obj), "bytes"
    if isinstance(obj, os.PathLike):
        source = Path(obj)
        if not source.is_file():
            raise InvalidInput(f"path for artifact {name!r}", str(obj), "an existing file to copy")
        return source, "copy"
    if isinstance(obj, str):
        if "\n" not in obj and len(obj) < 4096 and os.path.isfile(obj):
            return Path(obj), "copy"
        return obj.encode("utf-8"), "text"
    if isinstance(obj, (dict, list, tuple)):
        return _structured_bytes(obj, suffix, name)
    return value_codec(obj, suffix).encode(obj, suffix, name)  # a DataFrame, a Figure, else pickle


__all__ = ["encode_artifact"]
