"""Cursor paging for lists handed to agents: bounded pages, opaque cursors.

A cursor encodes the offset of the next page and a fingerprint of the query
it came from, so a cursor passed with different filters is refused instead of
silently skipping or repeating rows. It is opaque to the caller: base64 of a
small JSON object, never evaluated.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from typing import Any, TypeVar

from ..errors import InvalidInput

DEFAULT_LIMIT = 20  # one page size for every face: the MCP tool, its description, README, SKILL.md, errors
MAX_LIMIT = 500

T = TypeVar("T")


def query_fingerprint(**query: Any) -> str:
    """A short, stable digest of the filters and sort that define a list."""
    text = json.dumps(query, sort_keys=True, default=str, ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def encode_cursor(offset: int, fingerprint: str) -> str:
    raw = json.dumps({"o": offset, "q": fingerprint}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, fingerprint: str) -> int:
    """The offset a cursor points at; InvalidInput for anything this module did not write."""
    expected = "a cursor returned as next_cursor by the same query"
    if not isinstance(cursor, str) or len(cursor) > 200:
        raise InvalidInput("cursor", cursor, expected)
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidInput("cursor", cursor, expected) from None
    if not isinstance(data, dict) or not isinstance(data.get("o"), int) or isinstance(data.get("o"), bool):
        raise InvalidInput("cursor", cursor, expected)
    if data.get("q") != fingerprint:
        raise InvalidInput("cursor", cursor, f"{expected} (the filters or sort changed since it was issued)")
    if data["o"] < 0:
        raise InvalidInput("cursor", cursor, expected)
    return data["o"]


def validate_limit(limit: object, maximum: int | None = MAX_LIMIT, what: str = "limit") -> int:
    """`limit` when it is a whole number from 1 to `maximum` (None: no upper bound), else InvalidInput.

    Checked here, where every face's limit ends up, because a slice takes a
    negative or zero limit without a word (`rows[:-1]` silently drops the last row).
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1 or (maximum is not None and limit > maximum):
        # No default named here: each caller has its own (list_experiments 20, compare_experiments 10),
        # and its description says it.
        bound = f" (at most {maximum})" if maximum is not None else ""
        raise InvalidInput(what, limit, f"a positive integer{bound}")
    return limit


def first(items: Sequence[T], limit: object | None, what: str = "limit") -> list[T]:
    """The first `limit` items (all of them when `limit` is None); a limit below 1 is refused, never sliced."""
    if limit is None:
        return list(items)
    return list(items[: validate_limit(limit, maximum=None, what=what)])


def paginate(
    items: Sequence[T], *, cursor: str | None, limit: int = DEFAULT_LIMIT, fingerprint: str = ""
) -> tuple[list[T], str | None]:
    """One page of `items` and the cursor of the next page (None on the last one)."""
    limit = validate_limit(limit)
    offset = decode_cursor(cursor, fingerprint) if cursor else 0
    if offset > len(items):
        raise InvalidInput("cursor", cursor, "a cursor inside the list (the list shrank since it was issued)")
    page = list(items[offset : offset + limit])
    end = offset + len(page)
    return page, (encode_cursor(end, fingerprint) if end < len(items) else None)


__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "decode_cursor", "encode_cursor", "first", "paginate", "query_fingerprint",
           "validate_limit"]
