"""A fast writer for the YAML the tracker writes, byte for byte what PyYAML's dumper writes.

Why: every run writes its metadata.yaml when it starts and when it ends, and PyYAML's representer
walks the document in Python (about half a millisecond for a 30-line file, a sixth of a short run's
whole cost). The tracker's documents use a small part of YAML: a mapping of plain keys whose values
are scalars, mappings, and lists of scalars or of mappings. `dump` writes exactly that part, in the
layout `encoding.dumps_yaml` asks PyYAML for (block style, lists in a mapping not indented, width
100, Unicode kept), and returns None for anything else (a long string with spaces that PyYAML would
fold, a line break, a character outside printable ASCII, a list in a list, a non-string key), so the
caller hands the whole document to PyYAML. Where it answers it answers what PyYAML would: the property
test compares the two on random documents.
"""

from __future__ import annotations

import math
import re
from typing import Any

from .yaml_subset import plain_str

_SIMPLE = re.compile(r"[A-Za-z0-9_./][A-Za-z0-9_./-]*")  # plain unless it reads as another type
_PRINTABLE = re.compile(r"[ -~]*")
_FOLD_AT = 80  # a string with a space on a line longer than this may be folded by PyYAML: not ours
_MAX_KEY = 100  # longer keys get PyYAML's `? ` form
_ALWAYS_FIRST = frozenset("#,[]{}&*!|>'\"%@`")


class _Other(Exception):
    """Outside the part this module writes: PyYAML writes the document."""


def _float(value: float) -> str:
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value).lower()
    if "." not in text and "e" in text:
        text = text.replace("e", ".0e", 1)
    return text


def _plain_allowed(text: str) -> bool:
    """libyaml's block-context rule for an unquoted scalar (`yaml_emitter_analyze_scalar`), for
    printable ASCII without line breaks."""
    if text.startswith(("---", "...")) or text[0] == " " or text[-1] == " ":
        return False
    first, after = text[0], text[1:2]
    if first in _ALWAYS_FIRST or (first in "?:-" and after in ("", " ")):
        return False
    return ": " not in text and not text.endswith(":") and " #" not in text


def _string(text: str, column: int) -> str:
    if _SIMPLE.fullmatch(text) and not text.startswith("..."):
        return text if plain_str(text) else "'" + text + "'"
    if not _PRINTABLE.fullmatch(text):
        raise _Other
    if " " in text and column + len(text) > _FOLD_AT:
        raise _Other
    if text and _plain_allowed(text) and plain_str(text):
        return text
    return "'" + text.replace("'", "''") + "'"


def _scalar(value: Any, column: int) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    kind = type(value)
    if kind is int:
        return str(value)
    if kind is float:
        return _float(value)
    if kind is str:
        return _string(value, column)
    raise _Other


_KEYS: dict[str, str] = {}  # the schema's field names recur in every file


def _key(key: Any) -> str:
    known = _KEYS.get(key) if type(key) is str else None
    if known is not None:
        return known
    if type(key) is not str or not key or len(key) > _MAX_KEY:
        raise _Other
    text = _string(key, 0)
    if len(_KEYS) < 4096:
        _KEYS[key] = text
    return text


def _mapping(data: dict[str, Any], column: int, out: list[str], first_prefix: str | None = None) -> None:
    pad = " " * column
    for i, (key, value) in enumerate(data.items()):
        head = (first_prefix if i == 0 and first_prefix is not None else pad) + _key(key) + ":"
        if type(value) is dict and value:
            out.append(head)
            _mapping(value, column + 2, out)
        elif type(value) is list and value:
            out.append(head)
            _sequence(value, column, out)
        elif type(value) is dict:
            out.append(head + " {}")
        elif type(value) is list:
            out.append(head + " []")
        else:
            out.append(head + " " + _scalar(value, len(head) + 1))


def _sequence(items: list[Any], column: int, out: list[str]) -> None:
    pad = " " * column
    for item in items:
        if type(item) is dict and item:
            _mapping(item, column + 2, out, first_prefix=pad + "- ")
        elif type(item) is list:
            raise _Other
        elif type(item) is dict:
            out.append(pad + "- {}")
        else:
            out.append(pad + "- " + _scalar(item, column + 2))


def dump(data: Any) -> str | None:
    """`data` as PyYAML's dumper writes it in the tracker's layout, or None when outside this writer's part."""
    if type(data) is not dict:
        return None
    if not data:
        return "{}\n"
    out: list[str] = []
    try:
        _mapping(data, 0, out)
    except (_Other, RecursionError):
        return None
    return "\n".join(out) + "\n"


__all__ = ["dump"]
