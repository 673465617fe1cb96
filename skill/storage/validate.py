"""Validation of what people and agents type, at the boundary where it enters the store.

Why here: a value kept in memory that cannot be written (a lone surrogate from
`os.fsdecode` of a non-UTF-8 name, a 10 MB "metric", a 3,000-deep dict) would
make every later write of that run fail. Refusing it in one line when it
arrives keeps nothing that poisons the run.
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidInput
from ..layout import FINAL_STATUSES, STATUSES
from .bounded_parsing import MAX_DEPTH, too_deep

MAX_NOTE = 100_000
MAX_RATIONALE = 20_000
MAX_TAG = 100
MAX_NAME = 250
# What a decision may carry beside its rationale: a few numbers, not a copy of a data set.
MAX_DECISION_METRICS = 50
MAX_ALTERNATIVES = 100
MAX_AUTHOR = 200

SETTABLE_STATUSES = tuple(s for s in STATUSES if s != "crashed")  # crashed is derived, never written


def is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def validate_text(what: str, value: object, max_len: int, *, single_line: bool = False,
                  allow_empty: bool = False) -> str:
    """`value` as stored text, or InvalidInput naming what was wrong and what would be right."""
    line = "single-line " if single_line else ""
    expected = f"non-empty {line}text of at most {max_len} characters"
    if not isinstance(value, str) or (not allow_empty and not value.strip()):
        raise InvalidInput(what, value, expected)
    if not is_utf8(value):
        raise InvalidInput(what, value, "valid UTF-8 text (it holds an undecodable character, "
                                        "such as a non-UTF-8 file name decoded with surrogates)")
    if len(value) > max_len or (single_line and ("\n" in value or "\r" in value)):
        raise InvalidInput(what, value, expected)
    return value


def validate_tag(tag: object) -> str:
    return validate_text("tag", tag, MAX_TAG, single_line=True).strip()


def validate_status(status: object, allowed: tuple[str, ...] = SETTABLE_STATUSES) -> str:
    if status not in allowed:
        raise InvalidInput("status", status, f"one of {', '.join(allowed)}")
    return status  # type: ignore[return-value]


def validate_final_status(status: object) -> str:
    return validate_status(status, FINAL_STATUSES)


def check_depth(what: str, value: Any, limit: int = MAX_DEPTH) -> None:
    """Refuse containers nested deeper than `limit` (checked iteratively: no RecursionError)."""
    if too_deep(value, limit):
        raise InvalidInput(what, f"<{type(value).__name__} nested more than {limit} deep>",
                           f"a value nested at most {limit} levels deep")


__all__ = [
    "MAX_NOTE", "MAX_RATIONALE", "SETTABLE_STATUSES", "check_depth", "is_utf8", "validate_final_status",
    "validate_status", "validate_tag", "validate_text",
]
