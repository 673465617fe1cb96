"""joblib (`.joblib`): scikit-learn's own way of saving an estimator."""

from __future__ import annotations

import io
from typing import Any

from ...extras import require
from ...schemas.records import ArtifactInfo
from .base import Codec


class Joblib(Codec):
    format = "joblib"

    def accepts(self, obj: Any, suffix: str) -> bool:
        return suffix == ".joblib"

    def encode(self, obj: Any, suffix: str, name: str) -> tuple[bytes, str]:
        joblib = require("joblib", "sklearn")
        buffer = io.BytesIO()
        joblib.dump(obj, buffer)
        return buffer.getvalue(), "joblib"

    def decode(self, info: ArtifactInfo, data: bytes) -> Any:
        return require("joblib", "sklearn").load(io.BytesIO(data))


__all__ = ["Joblib"]
