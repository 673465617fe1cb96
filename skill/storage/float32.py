"""Float32 values in the fewest digits: how the summary keeps the points of a float32 metric exactly.

A deep-learning loop logs `loss.item()`: a float32 widened to a float64, whose shortest float64 text has
up to 17 digits (0.6931471824645996) although 7 to 9 say it (0.6931472). When every kept value of a metric
is such a widened float32, the summary writes each in the fewest digits that give the same float32 back,
and the reader widens it again: the same float64, bit for bit, at about half the bytes.
"""

from __future__ import annotations

import math
import struct
from array import array
from collections.abc import Iterable
from typing import Any

_PACK = struct.Struct("<f")
_F32_MAX = 3.4028234663852886e38  # past it, widen_f32 leaves a value as it was (an overflow)


def widen_f32(value: float) -> float:
    """The float32 nearest `value`, as a float64 (an overflow stays as it was: the caller checks exactness)."""
    try:
        return _PACK.unpack(_PACK.pack(value))[0]
    except OverflowError:
        return value


def is_f32(values: Iterable[float]) -> bool:
    """True when every finite value is exactly a float32 and there is at least one."""
    values = list(values)
    total = sum(values)
    if values and total - total == 0.0 and -_F32_MAX <= min(values) and max(values) <= _F32_MAX:
        return array("f", values).tolist() == values  # all finite and in range: narrowed in one pass, in C
    seen = False
    for v in values:
        if math.isfinite(v):
            if widen_f32(v) != v:
                return False
            seen = True
    return seen


def short_f32(value: Any) -> str:
    """A float32 value's fewest-digit JSON text that reads back (through `widen_f32`) to the same value;
    the non-finite strings as JSON strings."""
    if isinstance(value, str):
        return f'"{value}"'
    # The fewest of 6 to 9 significant digits that give the value back (9 always do). Most float32 values
    # need 7 or 8, so 7 is tried first, then 6 or 8: two tries where counting up from 6 took two or three.
    seven = f"{value:.7g}"
    if widen_f32(float(seven)) == value:
        six = f"{value:.6g}"
        text = six if widen_f32(float(six)) == value else seven
    else:
        eight = f"{value:.8g}"
        text = eight if widen_f32(float(eight)) == value else f"{value:.9g}"
    if "e" in text or "." in text:
        return text
    return text + ".0"  # "2" would read back as an int
