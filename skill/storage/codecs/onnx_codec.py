"""ONNX (`.onnx`): an `onnx.ModelProto`, as onnx.load and the exporters' in-memory results are."""

from __future__ import annotations

from typing import Any

from ...schemas.records import ArtifactInfo
from .base import Codec, missing, top_module


def is_onnx_proto(obj: Any) -> bool:
    return (top_module(obj) == "onnx" and type(obj).__name__ == "ModelProto"
            and callable(getattr(obj, "SerializeToString", None)))


class Onnx(Codec):
    format = "onnx"

    def accepts(self, obj: Any, suffix: str) -> bool:
        return suffix == ".onnx" and is_onnx_proto(obj)

    def encode(self, obj: Any, suffix: str, name: str) -> tuple[bytes, str]:
        return obj.SerializeToString(), "onnx"

    def decode(self, info: ArtifactInfo, data: bytes) -> Any:
        try:
            import onnx
        except ModuleNotFoundError:
            raise missing("onnx", f"loading {info.name!r}") from None
        return onnx.load_model_from_string(data)


__all__ = ["Onnx", "is_onnx_proto"]
