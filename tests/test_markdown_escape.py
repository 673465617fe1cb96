"""Names and values holding `|`, backslashes or newlines never break a markdown table or list line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tests.fixtures import make_increment, write_experiment

from skill.analysis.compare import compare_experiments
from skill.analysis.export import export_experiments
from skill.analysis.living_docs import docs_path, sync_living_docs
from skill.analysis.render import md_cell, md_table
from skill.tracking.track import track_experiment

INC = "0042-recommendation-model"
NASTY_VALUE = "x|y\nz\\|w"


def cell_breaks(line: str) -> int:
    """The `|` that split a GitHub table row: those after an even number of backslashes."""
    return sum(1 for m in re.finditer(r"(\\*)\|", line) if len(m.group(1)) % 2 == 0)


def tables(text: str) -> list[list[str]]:
    """Each run of consecutive lines starting with `|`."""
    found: list[list[str]] = []
    previous = False
    for line in text.splitlines():
        row = line.startswith("|")
        if row and not previous:
            found.append([])
        if row:
            found[-1].append(line)
        previous = row
    return found


def assert_tables_hold(text: str, expected: int) -> None:
    found = tables(text)
    assert len(found) == expected, text
    for table in found:
        widths = {cell_breaks(line) for line in table}
        assert len(widths) == 1, table
        assert len(table) >= 3  # header, rule, at least one row


def gfm_cells(text: str) -> list[list[int]]:
    """Cells per row of each table, as a real GFM parser (markdown-it-py) reads them."""
    markdown_it = pytest.importorskip("markdown_it")
    tokens = markdown_it.MarkdownIt("commonmark").enable("table").parse(text)
    out: list[list[int]] = []
    count = 0
    for token in tokens:
        if token.type == "table_open":
            out.append([])
        elif token.type == "tr_open":
            count = 0
        elif token.type in ("th_open", "td_open"):
            count += 1
        elif token.type == "tr_close":
            out[-1].append(count)
    return out


@pytest.fixture
def nasty(project: Path) -> Path:
    """Two experiments logged through the real API, with `|` in a metric's name, a param's name and value."""
    for name, acc, depth in (("first", 0.8, 3), ("second", 0.9, 5)):
        with track_experiment(name, increment=INC, root=project) as exp:
            exp.log_params({"a|b": f"{NASTY_VALUE}{depth}", "max_depth": depth, "plain": "same"})
            exp.log_metric("acc|x", acc)
            exp.log_metric("accuracy", acc)
    return project


@pytest.mark.parametrize("value, escaped", [
    ("acc|x", "acc\\|x"),
    ("a\nb\r\nc\rd", "a b c d"),
    ("a\\|b", "a\\\\\\|b"),  # the backslash doubled, then the pipe escaped: no break left
    ("ends\\", "ends\\"),
    ("<!-- marker -->", "&lt;!-- marker --&gt;"),
])
def test_md_cell(value: str, escaped: str) -> None:
    assert md_cell(value) == escaped
    assert cell_breaks(md_cell(value)) == 0


def test_md_table_escapes_headers_and_cells() -> None:
    lines = md_table(["Experiment", "acc|x"], [["exp-001|a", "0.9"], ["exp-002", NASTY_VALUE]])
    assert len(lines) == 4
    assert {cell_breaks(line) for line in lines} == {3}
    assert lines[0].startswith("| Experiment | acc\\|x")


def test_comparison_md_table_rows_keep_their_columns(nasty: Path) -> None:
    compare_experiments(nasty, INC, primary_metric="accuracy")
    text = (nasty / ".specweave/increments" / INC / "experiments/comparison.md").read_text(encoding="utf-8")
    assert "Acc\\|x" in text and "a\\|b" in text
    assert "x\\|y z\\\\\\|w3" in text  # the value: pipes escaped, newline gone
    assert_tables_hold(text, expected=2)  # metrics, and the params that differ
    for table in gfm_cells(text):
        assert len(set(table)) == 1, table
    metrics_header = tables(text)[0][0]
    assert cell_breaks(metrics_header) == 5  # Experiment, Acc|x, Accuracy, Training Time


def test_living_docs_lines_stay_whole(nasty: Path) -> None:
    sync_living_docs(nasty)
    text = docs_path(nasty).read_text(encoding="utf-8")
    assert_tables_hold(text, expected=0)
    hyper = [line for line in text.splitlines() if line.startswith("- a\\|b: ")]
    assert hyper == ["- a\\|b: x\\|y z\\\\\\|w5"], text  # one line: the newline did not split it
    assert "\nz" not in text


def test_export_markdown_table_keeps_its_columns(nasty: Path) -> None:
    text = export_experiments(nasty, INC, "md").text or ""
    assert_tables_hold(text, expected=1)
    for table in gfm_cells(text):
        assert len(set(table)) == 1, table


def test_pipes_in_a_title_and_notes(project: Path) -> None:
    inc = make_increment(project, INC, "Pipes | bars")
    write_experiment(inc, 1, "a", params={"k|1": 1}, metrics={"m|1": 0.5})
    write_experiment(inc, 2, "b", params={"k|1": 2}, metrics={"m|1": 0.7}, status="failed",
                     notes=["FAILED: x|y\nsecond line"])
    compare_experiments(project, INC)
    report = (inc / "experiments/comparison.md").read_text(encoding="utf-8")
    assert_tables_hold(report, expected=2)
    sync_living_docs(project)
    docs = docs_path(project).read_text(encoding="utf-8")
    assert "- exp-002-b (failed): FAILED: x\\|y\n" in docs  # a note's first line, escaped
    assert "## Pipes \\| bars (Increment 0042)" in docs  # the increment's title in its heading
