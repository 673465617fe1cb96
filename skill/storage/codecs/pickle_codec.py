"""Pickle: the default model format, and the fallback for an artifact no other codec writes.

Loaded only by `load_model`, and only after the file's size and sha256 match the record
(`skill.storage.verification.read_verified`): no reader or MCP tool ever unpickles."""

from __future__ import annotations

import pickle
from typing import Any

from ...schemas.records import ArtifactInfo
from .base import Codec

SUFFIXES = ("", ".pkl", ".pickle")


class Pickle(Codec):
    format = "pickle"

    def accepts(self, obj: Any, suffix: str) -> bool:
        return suffix in SUFFIXES

    def encode(self, obj: Any, suffix: str, name: str) -> tuple[bytes, str]:
        return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL), "pickle"

    def decode(self, info: ArtifactInfo, data: bytes) -> Any:
        return pickle.loads(data)  # noqa: S301 - verified against the recorded sha256 first


__all__ = ["Pickle"]
