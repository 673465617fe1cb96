"""A matplotlib Figure saved as an artifact: PNG unless the name asks for SVG, PDF or JPEG."""

from __future__ import annotations

import io
from typing import Any

from .base import Codec

FORMATS = ("png", "svg", "pdf", "jpg", "jpeg")


class Figure(Codec):
    format = "png"

    def accepts(self, obj: Any, suffix: str) -> bool:
        return type(obj).__module__.startswith("matplotlib.") and hasattr(obj, "savefig")

    def encode(self, obj: Any, suffix: str, name: str) -> tuple[bytes, str]:
        fmt = suffix.lstrip(".") or "png"
        if fmt not in FORMATS:
            fmt = "png"
        buffer = io.BytesIO()
        obj.savefig(buffer, format=fmt, bbox_inches="tight")
        return buffer.getvalue(), fmt


__all__ = ["Figure"]
