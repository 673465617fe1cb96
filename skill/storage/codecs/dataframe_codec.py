"""A pandas DataFrame saved as an artifact: CSV (index kept unless it is a plain range), JSON records, or
Parquet, by the name's extension."""

from __future__ import annotations

import io
from typing import Any

from ...extras import require
from .base import Codec, top_module


class DataFrame(Codec):
    format = "csv"

    def accepts(self, obj: Any, suffix: str) -> bool:
        return top_module(obj) == "pandas" and type(obj).__name__ == "DataFrame"

    def encode(self, obj: Any, suffix: str, name: str) -> tuple[bytes, str]:
        if suffix == ".parquet":
            require("pyarrow", "parquet")
            buffer = io.BytesIO()
            obj.to_parquet(buffer)
            return buffer.getvalue(), "parquet"
        keep_index = type(obj.index).__name__ != "RangeIndex"
        if suffix == ".json":
            return obj.to_json(orient="records", indent=2).encode("utf-8") + b"\n", "json"
        return obj.to_csv(index=keep_index).encode("utf-8"), "csv"


__all__ = ["DataFrame"]
