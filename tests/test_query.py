"""The --where grammar: what it accepts, what it rejects (never eval), and sorting."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from tests.fixtures import make_increment, write_experiment
from hypothesis import given, settings
from hypothesis import strategies as st

from skill.analysis.query import filter_records, parse_sort, parse_where, sort_records
from skill.errors import InvalidInput
from skill.analysis.listing import list_experiments

RECORDS = [
    {"id": "exp-001-a", "name": "a", "status": "completed", "tags": ["baseline"],
     "params": {"max_depth": 6, "lr": "0.1", "opt": "adam", "early": True}, "metrics": {"auc": 0.91, "loss": 0.3}},
    {"id": "exp-002-b", "name": "b", "status": "failed", "tags": [],
     "params": {"max_depth": 9, "opt": "sgd"}, "metrics": {"auc": math.nan}},
    {"id": "exp-003-c", "name": "c", "status": "completed", "tags": ["production", "baseline"],
     "params": {"max_depth": 3}, "metrics": {"auc": 0.85, "loss": 0.2}},
    {"id": "exp-004-d", "name": "d", "status": "completed", "tags": [], "params": {}, "metrics": {}},
]


def ids(where: str) -> list[str]:
    return [r["id"] for r in filter_records(RECORDS, where)]


@pytest.mark.parametrize("where, expected", [
    ("metrics.auc > 0.8 and params.max_depth <= 6", ["exp-001-a", "exp-003-c"]),
    ("metrics.auc > 0.86", ["exp-001-a"]),
    ("metrics.auc >= 0.85 and metrics.loss < 0.25", ["exp-003-c"]),
    ("params.max_depth = 9 or status = completed", ["exp-001-a", "exp-002-b", "exp-003-c", "exp-004-d"]),
    ("not status = completed", ["exp-002-b"]),
    ("not (metrics.auc > 0.86 or params.max_depth = 3)", ["exp-002-b", "exp-004-d"]),
    ("status in (failed, killed)", ["exp-002-b"]),
    ("status not in ('failed')", ["exp-001-a", "exp-003-c", "exp-004-d"]),
    ("params.opt == 'adam'", ["exp-001-a"]),
    ('params.opt != "adam"', ["exp-002-b"]),  # a missing param never matches a comparison
    ("params.lr = 0.1", ["exp-001-a"]),  # "0.1" as a string param compares as a number
    ("params.early = true", ["exp-001-a"]),
    ("'production' in tags", ["exp-003-c"]),
    ("tags = baseline and not 'production' in tags", ["exp-001-a"]),
    ("tags != baseline", ["exp-002-b", "exp-004-d"]),
    ("tags in (production, nope)", ["exp-003-c"]),
    ("has metrics.loss", ["exp-001-a", "exp-003-c"]),
    ("not has metrics.auc", ["exp-004-d"]),
    ("metrics.auc != 0.91", ["exp-002-b", "exp-003-c"]),  # NaN differs from everything
    ("metrics.auc < 1", ["exp-001-a", "exp-003-c"]),  # NaN is never less than anything
    ("name > b", ["exp-003-c", "exp-004-d"]),
    ("id = exp-003-c", ["exp-003-c"]),
    ("`params.max_depth` >= 6", ["exp-001-a", "exp-002-b"]),
    ("METRICS.auc > 0.9 AND Status = completed", ["exp-001-a"]),
    ("metrics.auc > 8.5e-1", ["exp-001-a"]),
])
def test_where_selects(where: str, expected: list[str]) -> None:
    assert ids(where) == expected


@pytest.mark.parametrize("where, position, words", [
    ("__import__('os')", 0, "unknown field '__import__'"),
    ("__import__('os').system('rm -rf /')", 16, "unexpected character '.'"),
    ("metrics.auc > 0.8; import os", 17, "unexpected character ';'"),
    ("metrics.auc.__class__ > 1 or exec('x')", 29, "unknown field 'exec'"),
    ("params.x == __builtins__", None, None),  # a bare word is a string value: harmless, valid
    ("lambda: 1", 0, "unknown field 'lambda:'"),
    ("metrics.auc >", 13, "expected a value"),
    ("metrics.auc > 0.8 and", 21, "expected a field"),
    ("(metrics.auc > 1", 16, "expected ')'"),
    ("metrics.auc > 1)", 15, "expected 'and', 'or' or the end"),
    ("metrics.auc 0.8", 12, "expected a comparison"),
    ("params. = 3", 0, "needs a name"),
    ("tags > 3", 5, "tags compare only"),
    ("", 0, "an empty filter"),
    ("status in completed", 10, "expected '('"),
    ("1 + 1", 2, "unexpected character '+'"),
    ("metrics.auc > 1 and " + "not " * 60 + "has metrics.a", None, "nesting deeper"),
    ("{}.__class__", 0, "unexpected character '{'"),
])
def test_where_rejects_with_position(where: str, position: int | None, words: str | None) -> None:
    if words is None:
        parse_where(where)
        return
    with pytest.raises(InvalidInput) as info:
        parse_where(where)
    message = str(info.value)
    assert words in message and "\n" not in message
    assert message.startswith("invalid --where filter")
    if position is not None:
        assert info.value.position == position and f"at position {position}:" in message  # type: ignore[attr-defined]


def test_where_too_long_and_wrong_type() -> None:
    with pytest.raises(InvalidInput, match="at most 2000"):
        parse_where("metrics.a > 1 and " * 200 + "metrics.a > 1")
    with pytest.raises(InvalidInput):
        parse_where(42)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_random_text_parses_or_fails_cleanly(text: str) -> None:
    try:
        flt = parse_where(text)
    except InvalidInput:
        return
    for record in RECORDS:
        assert flt.matches(record) in (True, False)


@pytest.mark.parametrize("sort, expected", [
    ("-metrics.auc", ["exp-001-a", "exp-003-c", "exp-002-b", "exp-004-d"]),  # NaN and missing last
    ("metrics.auc desc", ["exp-001-a", "exp-003-c", "exp-002-b", "exp-004-d"]),
    ("metrics.auc", ["exp-003-c", "exp-001-a", "exp-002-b", "exp-004-d"]),
    ("params.max_depth desc, name", ["exp-002-b", "exp-001-a", "exp-003-c", "exp-004-d"]),
    ("status, -name", ["exp-004-d", "exp-003-c", "exp-001-a", "exp-002-b"]),
])
def test_sort(sort: str, expected: list[str]) -> None:
    assert [r["id"] for r in sort_records(RECORDS, sort)] == expected


@pytest.mark.parametrize("sort", ["", "metrics.auc sideways", "bogus", "metrics.", "a b c", "-__class__"])
def test_sort_rejects(sort: str) -> None:
    with pytest.raises(InvalidInput):
        parse_sort(sort)


def test_status_and_tag_filters_and_records_from_the_store(tmp_path: Path) -> None:
    inc = make_increment(tmp_path, "0001-x")
    write_experiment(inc, 1, "shallow", params={"max_depth": 3}, metrics={"auc": 0.81}, tags=["prod"])
    write_experiment(inc, 2, "deep", params={"max_depth": 12}, metrics={"auc": 0.90})
    write_experiment(inc, 3, "broken", params={"max_depth": 6}, metrics={"auc": 0.95}, status="failed")
    got = list_experiments(tmp_path, "0001", where="metrics.auc > 0.8 and params.max_depth <= 6", sort="-metrics.auc")
    assert [r.id for r in got] == ["exp-003-broken", "exp-001-shallow"]
    assert [r.id for r in list_experiments(tmp_path, "0001", status="completed", tag="prod")] == ["exp-001-shallow"]
    assert [r.id for r in filter_records(got, status="failed")] == ["exp-003-broken"]
    with pytest.raises(InvalidInput, match="status"):
        list_experiments(tmp_path, "0001", status="done")
