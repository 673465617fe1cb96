"""PyTorch (`.pt`/`.pth`): a whole model as `torch.save` writes it, or a file `torch.save` wrote (a Lightning
checkpoint), copied as it is: never loaded on the way in, so no pickle runs before its hash is recorded."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path
from typing import Any

from ...errors import InvalidInput
from ...schemas.records import ArtifactInfo
from .base import Codec, missing

SUFFIXES = (".pt", ".pth")
# the first bytes of what torch.save writes: its zip archive, and its legacy pickle's magic number
_TORCH_HEADS = (b"PK\x03\x04", b"\x80\x02\x8a\nl\xfc\x9cF\xf9 j\xa8P\x19")


def torch_file(path: Path, name: str) -> Path:
    """`path` when it is a file `torch.save` wrote (by its first bytes); InvalidInput in one line if not."""
    try:
        with open(path, "rb") as file:
            head = file.read(16)
    except OSError as exc:
        raise InvalidInput(f"file for model {name!r}", str(path), f"a readable file ({exc.strerror})") from None
    if not head.startswith(_TORCH_HEADS):
        raise InvalidInput(f"file for model {name!r}", str(path),
                           "a file torch.save wrote (a .pt/.pth/.ckpt); save_artifact copies any other file")
    return path


class Torch(Codec):
    format = "torch"

    def accepts(self, obj: Any, suffix: str) -> bool:  # a torch model means torch is loaded
        return suffix in SUFFIXES and (isinstance(obj, os.PathLike) or "torch" in sys.modules)

    def encode(self, obj: Any, suffix: str, name: str) -> tuple[bytes | Path, str]:
        if isinstance(obj, os.PathLike):
            return torch_file(Path(obj), name), "torch"  # copied by the stager, hashed as it is copied
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


__all__ = ["SUFFIXES", "Torch", "torch_file"]
