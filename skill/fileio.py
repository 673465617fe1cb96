"""Reading and writing the store's files: atomic, UTF-8, sorted keys, trailing newline.

Renderers elsewhere return strings; this module is the one place that turns a
string into a file, always through a temp file and a rename so that a reader
never sees half a file.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from .errors import DamagedFile

try:  # libyaml is an order of magnitude faster; fall back quietly.
    _YamlLoader: type = yaml.CSafeLoader
    _YamlDumper: type = yaml.CSafeDumper
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _YamlLoader, _YamlDumper = yaml.SafeLoader, yaml.SafeDumper

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
    return yaml.dump(
        data, Dumper=_YamlDumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100
    )


def atomic_write(path: Path, text: str | bytes) -> None:
    """Write through a temp file in the same folder and rename over the target."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def read_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DamagedFile(str(path), f"not UTF-8 ({exc.reason})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DamagedFile(str(path), exc.msg, exc.lineno) from None


def read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DamagedFile(str(path), f"not UTF-8 ({exc.reason})") from None
    try:
        return yaml.load(text, Loader=_YamlLoader)  # noqa: S506 - a safe loader, never the full one
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise DamagedFile(str(path), str(problem), mark.line + 1 if mark else None) from None


def parse_jsonl(path: Path, text: str) -> tuple[list[dict[str, Any]], list[DamagedFile]]:
    """Parse JSON lines, keeping every good line and reporting each bad one.

    A process killed mid-write can leave a truncated last line; that line is
    reported, the rest of the file is still used.
    """
    records: list[dict[str, Any]] = []
    problems: list[DamagedFile] = []
    loads = json.loads
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = loads(line)
        except json.JSONDecodeError as exc:
            problems.append(DamagedFile(str(path), exc.msg, lineno))
            continue
        if isinstance(record, dict):
            records.append(record)
        else:
            problems.append(DamagedFile(str(path), "a line is not a JSON object", lineno))
    return records, problems
