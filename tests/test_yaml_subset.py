"""The fast metadata reader answers exactly what yaml.safe_load answers, or nothing (then PyYAML reads it)."""

from __future__ import annotations

import math

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from skill.storage.encoding import dumps_yaml
from skill.storage.yaml_subset import parse

keys = st.one_of(st.sampled_from(["id", "name", "git", "scikit-learn", "a.b", "x_1", "true", "1", "on", "null"]),
                 st.text(min_size=1, max_size=12))
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(["yes", "no", "on", "0o17", "017", "1_000", "0x1F", "1:20", "2026-01-02", "2026-01-02T03:04:05Z",
                     "1.0e5", "1e5", ".5", "+1", "-0", "~", "=", "<<", "a #b", "a: b", "- a", "'q'", '"d"', "",
                     " lead", "trail ", "multi\nline", "tab\there", "http://x", "NaN", ".inf", "é", "a" * 150]),
)
documents = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                          st.dictionaries(keys, inner, max_size=5)), max_leaves=25)


def same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)  # type: ignore[index]
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))  # type: ignore[arg-type]
    return a == b


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(keys, documents, min_size=1, max_size=8))
def test_the_subset_reads_what_pyyaml_reads(doc: dict) -> None:
    text = dumps_yaml(doc)
    fast = parse(text)
    if fast is not None:
        assert same(fast, yaml.safe_load(text)), text


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="ab:- '\"#\n&*!|>[]{}.0123456789tn", max_size=60))
def test_any_text_is_read_as_pyyaml_reads_it_or_left_to_pyyaml(text: str) -> None:
    fast = parse(text)
    if fast is None:
        return
    try:
        expected = yaml.safe_load(text)
    except yaml.YAMLError:
        raise AssertionError(f"the subset read text PyYAML refuses: {text!r}") from None
    assert same(fast, expected), text


def test_what_the_tracker_writes_takes_the_fast_path() -> None:
    meta = {"schema_version": 2, "id": "exp-001-gbm", "uid": "kscrpp", "name": "gbm: v2", "increment": "0042-churn",
            "status": "completed", "started": "2026-12-03T10:26:34.851920Z", "duration_s": 0.328, "pid": 13492,
            "tags": ["baseline", "selected"], "git": {"commit": "ab" * 20, "dirty": False},
            "notes": [{"ts": "2026-12-03T10:26:35Z", "text": "it's fine"}],
            "artifacts": [{"name": "model.pkl", "kind": "model", "size": 214, "stored": "objects"}],
            "command": ["/usr/bin/python", "train.py", "--lr=0.1"], "environment": "81870ddb21b33dd5"}
    text = dumps_yaml(meta)
    assert parse(text) == meta == yaml.safe_load(text)


def test_hand_edits_go_to_pyyaml() -> None:
    for text in ("id: a  # a comment\n", "a: &x 1\nb: *x\n", "a: |\n  block\n", "a: 2026-01-02\n", "a:\tb\n",
                 "a: 1\n\nb: 2\n", "a: \"esc\\n\"\n", "a: 'open\n  more'\n", "a: 017\n", "a: yes\n"):
        assert parse(text) is None, text


def _pyyaml(doc: object) -> str:
    from skill.storage.encoding import _YamlDumper

    return yaml.dump(doc, Dumper=_YamlDumper, sort_keys=False, allow_unicode=True, default_flow_style=False,
                     width=100)


@settings(max_examples=600, deadline=None)
@given(st.dictionaries(keys, documents, min_size=0, max_size=8))
def test_the_fast_writer_writes_what_pyyaml_writes(doc: dict) -> None:
    from skill.storage.yaml_emit import dump

    fast = dump(doc)
    if fast is not None:
        assert fast == _pyyaml(doc), doc


@settings(max_examples=600, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30))
def test_the_fast_writer_quotes_any_ascii_string_as_pyyaml_does(text: str) -> None:
    from skill.storage.yaml_emit import dump

    for doc in ({"k": text}, {"k": [text, {"a": text}]}, {text or "x": 1}):
        fast = dump(doc)
        if fast is not None:
            assert fast == _pyyaml(doc), doc


def test_the_tracker_writes_its_metadata_without_pyyaml() -> None:
    from skill.storage.yaml_emit import dump

    meta = yaml.safe_load(dumps_yaml({"schema_version": 3, "id": "exp-001-gbm", "name": "gbm: v2",
                                      "started": "2026-12-03T10:26:34.851920Z", "duration_s": 0.328,
                                      "capture": {"argv": ["train.py", "100"]}, "tags": [],
                                      "notes": [{"ts": "2026-12-03T10:26:35Z", "text": "it's fine"}]}))
    assert dump(meta) == _pyyaml(meta)
    assert dump({"a": "multi\nline"}) is None and dump({"a": "é"}) is None and dump({"a": [[1]]}) is None
