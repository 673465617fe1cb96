"""export_experiments: flattened rows in csv, json and markdown; files only where allowed."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from tests.fixtures import INC_DIR, make_increment, sample_store, write_experiment

from skill.analysis.export import export_experiments
from skill.errors import InvalidInput, UnsafePath


def test_csv_rows_are_flattened(tmp_path: Path) -> None:
    sample_store(tmp_path, "seed-comparison")
    result = export_experiments(tmp_path, "0042", "csv")
    rows = list(csv.DictReader(io.StringIO(result.text or "")))
    assert result.rows == 4 and len(rows) == 4
    assert rows[1]["id"] == "exp-002-xgboost" and rows[1]["params.model"] == "xgboost"
    assert rows[1]["metrics.accuracy"] == "0.87" and rows[1]["status"] == "completed"
    assert result.columns[:3] == ["id", "name", "status"]
    assert result.columns.index("params.model") < result.columns.index("metrics.accuracy")


def test_json_and_markdown(tmp_path: Path) -> None:
    inc = sample_store(tmp_path, "seed-comparison") / INC_DIR
    write_experiment(inc, 5, "nan", metrics={"accuracy": float("nan")})
    data = json.loads(export_experiments(tmp_path, "0042", "json").text or "")
    assert data[1]["metrics.f1"] == 0.84 and data[4]["metrics.accuracy"] == "NaN"
    md = export_experiments(tmp_path, "0042", "md")
    assert md.format == "markdown"
    assert (md.text or "").startswith("# Experiments: Recommendation Model (Increment 0042)")
    assert "| exp-002-xgboost | xgboost | completed |" in (md.text or "")


def test_where_and_sort_apply(tmp_path: Path) -> None:
    sample_store(tmp_path, "seed-comparison")
    result = export_experiments(tmp_path, "0042", "json", where="metrics.accuracy > 0.85", sort="-metrics.f1")
    assert [row["id"] for row in json.loads(result.text or "")] == ["exp-002-xgboost", "exp-003-lightgbm"]


def test_relative_path_goes_under_exports(tmp_path: Path) -> None:
    sample_store(tmp_path, "seed-comparison")
    result = export_experiments(tmp_path, "0042", "csv", "reports/run.csv")
    assert result.path == tmp_path / ".specweave" / "exports" / "reports" / "run.csv"
    assert result.path.read_text(encoding="utf-8").startswith("id,name,status")
    assert result.text is None


@pytest.mark.parametrize("path", ["../escape.csv", "/tmp/abs.csv", "a/../../b.csv", "~/x.csv", "C:\\x.csv", ""])
def test_paths_outside_exports_are_refused(tmp_path: Path, path: str) -> None:
    sample_store(tmp_path, "seed-comparison")
    with pytest.raises(UnsafePath):
        export_experiments(tmp_path, "0042", "csv", path)
    assert not (tmp_path / "escape.csv").exists() and not (tmp_path.parent / "escape.csv").exists()


def test_symlink_out_of_exports_is_refused(tmp_path: Path) -> None:
    sample_store(tmp_path, "seed-comparison")
    exports = tmp_path / ".specweave" / "exports"
    exports.mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (exports / "link").symlink_to(outside)
    with pytest.raises(UnsafePath):
        export_experiments(tmp_path, "0042", "csv", "link/x.csv")
    assert list(outside.iterdir()) == []


def test_explicit_outside_path_for_the_cli(tmp_path: Path) -> None:
    sample_store(tmp_path, "seed-comparison")
    target = tmp_path / "elsewhere" / "out.json"
    target.parent.mkdir()
    result = export_experiments(tmp_path, "0042", "json", str(target), allow_outside=True)
    assert result.path == target and len(json.loads(target.read_text(encoding="utf-8"))) == 4


def test_bad_format_and_formula_cells(tmp_path: Path) -> None:
    inc = make_increment(tmp_path, "0001-x")
    write_experiment(inc, 1, "a", params={"formula": "=HYPERLINK(\"http://x\")", "neg": -0.5})
    with pytest.raises(InvalidInput, match="csv, json, markdown or md"):
        export_experiments(tmp_path, "0001", "xlsx")  # type: ignore[arg-type]
    row = next(csv.DictReader(io.StringIO(export_experiments(tmp_path, "0001").text or "")))
    assert row["params.formula"].startswith("'=") and row["params.neg"] == "-0.5"


def test_dataframe_of_every_increment_matches_the_records(tmp_path: Path) -> None:
    import math
    import os
    import time

    from skill.analysis.export import experiments_dataframe, flatten
    from skill.analysis.listing import list_all_experiments

    inc = sample_store(tmp_path, "seed-comparison") / INC_DIR
    write_experiment(inc, 5, "nan", metrics={"accuracy": float("nan")}, tags=["a", "b"])
    other = make_increment(tmp_path, "0043-next")
    write_experiment(other, 1, "solo", params={"depth": 3}, metrics={"auc": 0.5})
    past = time.time() - 60
    for dirpath, _dirs, files in os.walk(tmp_path / ".specweave"):
        for name in files:
            os.utime(os.path.join(dirpath, name), (past, past))
        os.utime(dirpath, (past, past))
    expected = [flatten(r) for r in list_all_experiments(tmp_path)]
    for _ in range(2):  # first from the files (filling the cache), then from the cache
        df = experiments_dataframe(tmp_path)
        got = df.to_dict("records")
        assert len(got) == 6 and list(df["id"])[-1] == "exp-001-solo"
        for want, row in zip(expected, got):
            for key, value in want.items():
                cell = row[key]
                if isinstance(value, float) and math.isnan(value):
                    assert isinstance(cell, float) and math.isnan(cell)
                elif value is None:
                    assert cell is None or (isinstance(cell, float) and math.isnan(cell)), key
                else:
                    assert cell == value, (key, cell, value)
    assert list(experiments_dataframe(tmp_path, ["0043"])["id"]) == ["exp-001-solo"]


def test_templates_are_found_and_each_renders(tmp_path: Path) -> None:
    from skill.analysis.render import render, template_module
    from skill.resources_path import data_dir

    folder = data_dir("templates")
    assert {"comparison.md.j2", "ml-experiments.md.j2", "export.md.j2"} <= {p.name for p in folder.iterdir()}
    assert render("export.md.j2", title="T", columns=["id"], table=[["exp-001-a"]]).endswith("| exp-001-a |\n")
    assert render("ml-experiments.md.j2").startswith("# ML Experiments\n")
    assert callable(template_module("ml-experiments.md.j2").section)
