"""Keras (`.keras`/`.h5`): a model as its own `save` writes it, read back by `keras.models.load_model`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...extras import require
from ...schemas.records import ArtifactInfo
from .base import Codec, loaded_from_file, written_to_file


class Keras(Codec):
    format = "keras"

    def accepts(self, obj: Any, suffix: str) -> bool:
        return suffix in (".keras", ".h5") and hasattr(obj, "save")

    def encode(self, obj: Any, suffix: str, name: str) -> tuple[bytes, str]:
        return written_to_file(suffix, obj.save), "keras"

    def decode(self, info: ArtifactInfo, data: bytes) -> Any:
        keras = require("keras", "keras")
        return loaded_from_file(Path(info.name).suffix.lower(), data, keras.models.load_model)


__all__ = ["Keras"]
