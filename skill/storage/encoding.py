"""Values as the store writes them: JSON (sorted keys, two-space indent, NaN and infinities as strings) and YAML
(block style, keys in order), and back (`decode_number`)."""

from __future__ import annotations

import json
import math
import os
from typing import Any

import yaml

from .yaml_emit import dump  # every run writes YAML at its start: imported with the tracker, not in a training loop

try:  # libyaml is an order of magnitude faster; fall back quietly.
    _YamlDumper: type = yaml.CSafeDumper
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _YamlDumper = yaml.SafeDumper


# JSON has no NaN or infinity; they are stored as these strings and read back as floats.
NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def encode_float(value: float) -> float | str:
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def decode_number(value: Any) -> Any:
    """Turn a stored metric value back into a number (non-finite strings included)."""
    if isinstance(value, str) and value in NON_FINITE:
        return NON_FINITE[value]
    return value


def to_jsonable(value: Any) -> Any:
    """Convert numpy/pandas scalars, paths, sets and non-finite floats to JSON-safe values.

    Raises TypeError for what has no faithful JSON form; callers decide what to do.
    """
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        return encode_float(value)
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        return [to_jsonable(v) for v in items]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "isoformat"):  # datetime, date, pandas Timestamp and Timedelta
        return value.isoformat()
    # numpy and pandas scalars, without importing either: both offer .item().
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "ndim", None) == 0:
        return to_jsonable(item())
    if hasattr(value, "tolist"):  # numpy arrays and pandas Series
        return to_jsonable(value.tolist())
    raise TypeError(f"{type(value).__name__} has no JSON form")


def dumps_json(data: Any, *, indent: int | None = 2) -> str:
    """Canonical JSON text: sorted keys, UTF-8 characters kept, trailing newline."""
    return json.dumps(data, sort_keys=True, ensure_ascii=False, indent=indent, allow_nan=False) + "\n"


def dumps_jsonl_record(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n"


def dumps_yaml(data: Any) -> str:
    """YAML in the order given (models define a readable order), block style, UTF-8."""
    text = dump(data)  # the tracker's own documents, without PyYAML's Python representer
    if text is not None:
        return text
    return yaml.dump(
        data, Dumper=_YamlDumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100
    )


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict) and value:
        for key, inner in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), inner, out)
    else:
        out[prefix] = value


def flatten_params(params: dict[str, Any]) -> dict[str, Any]:
    """Nested dicts as dotted keys (`{"opt": {"lr": 0.1}}` -> `{"opt.lr": 0.1}`), as log_params stores them."""
    flat: dict[str, Any] = {}
    _flatten("", params, flat)
    return flat


__all__ = ["NON_FINITE", "decode_number", "dumps_json", "dumps_jsonl_record", "dumps_yaml", "encode_float",
           "flatten_params", "to_jsonable"]
