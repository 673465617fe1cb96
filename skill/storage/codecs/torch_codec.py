"""PyTorch (`.pt`/`.pth`): a whole model as `torch.save` writes it."""

from __future__ import annotations

import io
import sys
from typing import Any

from ...schemas.records import ArtifactInfo
from .base import Codec, missing


class Torch(Codec):
    format = "torch"

    def accepts(self, obj: Any, suffix: str) -> bool:
        return suffix in (".pt", ".pth") and "torch" in sys.modules  # a torch model means torch is loaded

    def encode(self, obj: Any, suffix: str, name: str) -> tuple[bytes, str]:
        buffer = io.BytesIO()
        sys.modules["torch"].save(obj, buffer)
        return buffer.getvalue(), "torch"

    def decode(self, info: ArtifactInfo, data: bytes) -> Any:
        try:
            import torch
        except ModuleNotFoundError:
            raise missing("torch", f"loading {info.name!r}") from None
        try:
            return torch.load(io.BytesIO(data), weights_only=False)  # a whole model, as torch.save wrote it
        except TypeError:  # torch before 1.13 has no weights_only
            return torch.load(io.BytesIO(data))


__all__ = ["Torch"]
