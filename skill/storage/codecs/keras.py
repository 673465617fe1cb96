"""Keras (`.keras`/`.h5`): a model as its own `save` writes it, read back by `keras.models.load_model`."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from ...extras import require
from ...schemas.records import ArtifactInfo
from .base import Codec


class Keras(Codec):
    format = "keras"

    def accepts(self, obj: Any, suffix: str) -> bool:
        return suffix in (".keras", ".h5") and hasattr(obj, "save")

    def encode(self, obj: Any, suffix: str, name: str) -> tuple[bytes, str]:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"model{suffix}"
            obj.save(str(path))
            return path.read_bytes(), "keras"

    def decode(self, info: ArtifactInfo, data: bytes) -> Any:
        keras = require("keras", "keras")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"model{Path(info.name).suffix.lower()}"
            path.write_bytes(data)  # a private copy of the checked bytes: the library reads this one
            return keras.models.load_model(str(path))


__all__ = ["Keras"]
