"""Limits, page sizes, cursors and max_points: a bad number is refused in one line, never sliced with."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest
from tests.fixtures import sample_store, sw
from mcp import Client

from mcp_server.server import build_server
from skill.analysis.history import downsample, validate_max_points
from skill.analysis.paging import MAX_LIMIT, encode_cursor, first, paginate, query_fingerprint, validate_limit
from skill.errors import InvalidInput

REPO = Path(__file__).resolve().parent.parent
BAD = [-1, 0, -500, True, False, 2.0, "5", None]


# -- the core -------------------------------------------------------------------------------
@pytest.mark.parametrize("limit", BAD + [MAX_LIMIT + 1])
def test_validate_limit_refuses_anything_but_1_to_the_maximum(limit: Any) -> None:
    with pytest.raises(InvalidInput, match=r"^invalid limit .*: expected a positive integer \(at most 500"):
        validate_limit(limit)


def test_validate_limit_takes_the_bounds_and_an_open_maximum() -> None:
    assert validate_limit(1) == 1 and validate_limit(MAX_LIMIT) == MAX_LIMIT
    assert validate_limit(10**6, maximum=None) == 10**6
    with pytest.raises(InvalidInput, match=r"^invalid --limit -1: expected a positive integer$"):
        validate_limit(-1, maximum=None, what="--limit")


@pytest.mark.parametrize("limit", [-1, 0, True, "2", 1.5])
def test_first_never_slices_with_a_bad_limit(limit: Any) -> None:
    with pytest.raises(InvalidInput):
        first([1, 2, 3], limit)


def test_first_takes_what_it_is_asked() -> None:
    assert first([1, 2, 3], None) == [1, 2, 3]
    assert first([1, 2, 3], 2) == [1, 2]
    assert first([1, 2, 3], 10**9) == [1, 2, 3]  # the CLI has no upper bound: people may list everything


@pytest.mark.parametrize("limit", [-1, 0, True, MAX_LIMIT + 1])
def test_paginate_refuses_a_bad_page_size(limit: Any) -> None:
    with pytest.raises(InvalidInput, match="limit"):
        paginate(list(range(10)), cursor=None, limit=limit)


@pytest.mark.parametrize("offset", [-1, True])
def test_paginate_refuses_a_cursor_with_a_bad_offset(offset: Any) -> None:
    fingerprint = query_fingerprint(increment="x")
    forged = encode_cursor(offset, fingerprint)
    with pytest.raises(InvalidInput, match="cursor"):
        paginate(list(range(10)), cursor=forged, limit=5, fingerprint=fingerprint)


def test_paginate_pages_cover_the_list_exactly() -> None:
    items, seen, cursor = list(range(7)), [], None
    while True:
        page, cursor = paginate(items, cursor=cursor, limit=3)
        seen += page
        if cursor is None:
            break
    assert seen == items


@pytest.mark.parametrize("max_points", [-1, 0, 1, True, 2.5, "10", 10_001])
def test_max_points_is_refused_outside_2_to_10000(max_points: Any) -> None:
    with pytest.raises(InvalidInput, match="max_points"):
        validate_max_points(max_points)
    with pytest.raises(InvalidInput, match="max_points"):
        downsample([], max_points)


# -- the CLI --------------------------------------------------------------------------------
@pytest.mark.parametrize("limit", ["-1", "0", "abc", "1.5", "-0"])
def test_cli_refuses_a_bad_limit_in_one_line(project: Path, limit: str) -> None:
    sample_store(project, "seed-comparison")
    done = sw("list-experiments", "0042", "--limit", limit, cwd=project)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith("sw-ml: error: invalid --limit ") and "expected a positive integer" in done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stdout == ""


def test_cli_limit_keeps_the_first_rows(project: Path) -> None:
    sample_store(project, "seed-comparison")
    every = json.loads(sw("list-experiments", "0042", "--json", cwd=project).stdout)
    assert len(every) >= 3
    two = json.loads(sw("list-experiments", "0042", "--json", "--limit", "2", cwd=project).stdout)
    assert [r["id"] for r in two] == [r["id"] for r in every[:2]]
    many = json.loads(sw("list-experiments", "0042", "--json", "--limit", "100000", cwd=project).stdout)
    assert [r["id"] for r in many] == [r["id"] for r in every]


# -- the MCP tools ---------------------------------------------------------------------------
@pytest.mark.parametrize("name, args, words", [
    ("list_experiments", {"increment": "0042", "limit": -1}, "invalid limit -1"),
    ("list_experiments", {"increment": "0042", "limit": 0}, "invalid limit 0"),
    ("get_metric_history", {"experiment": "exp-002", "max_points": -1}, "invalid max_points -1"),
    ("get_metric_history", {"experiment": "exp-002", "max_points": 0}, "invalid max_points 0"),
])
def test_tools_refuse_a_bad_limit_in_one_line(project: Path, name: str, args: dict[str, Any], words: str) -> None:
    sample_store(project, "seed-comparison")

    async def go() -> Any:
        async with Client(build_server(project), mode="legacy") as client:
            return await client.call_tool(name, args)

    result = anyio.run(go)
    assert result.is_error
    text = result.content[0].text
    assert words in text and "\n" not in text
