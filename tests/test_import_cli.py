"""`sw-ml import` through the real CLI, and imported runs in every other face as native ones: list, show,
compare, history, diff, log-decision (the `selected` tag), the living docs, the report."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fixtures import sw
from tests.import_sources import csv_source


def _csvs(tmp_path: Path) -> tuple[Path, Path]:
    a, b = tmp_path / "xgb-run.csv", tmp_path / "lgbm-run.csv"
    csv_source(a, rows=12)
    csv_source(b, rows=8)
    return a, b


def test_import_then_every_face_reads_the_runs_as_native(project: Path, tmp_path: Path) -> None:
    a, b = _csvs(tmp_path)
    dry = sw("import", "csv", str(a), "--step-column", "epoch", "--increment", "0042-imported", "--dry-run",
             "--json", cwd=project)
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["dry_run"] is True and not (project / ".specweave").exists()

    done = sw("import", "csv", str(a), "--step-column", "epoch", "--increment", "0042-imported",
              "--param", "model=xgb", "--param", "depth=6", cwd=project)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("imported 1 run from csv") and "12 rows" not in done.stdout
    report = json.loads(sw("import", "csv", str(b), "--step-column", "epoch", "--increment", "0042",
                           "--param", "model=lgbm", "--param", "depth=4", "--json", cwd=project).stdout)
    assert (report["imported"], report["points"], report["increments"]) == (1, 8 + 6, ["0042-imported"])
    again = sw("import", "csv", str(b), "--step-column", "epoch", "--increment", "0042", "--param", "model=lgbm",
               "--param", "depth=4", cwd=project)
    assert "0 runs" in again.stdout and "1 skipped" in again.stdout

    listed = json.loads(sw("list-experiments", "0042", "--json", cwd=project).stdout)
    assert [(e["id"], e["status"], e["params"]["model"]) for e in listed] == [
        ("exp-001-xgb-run", "completed", "xgb"), ("exp-002-lgbm-run", "completed", "lgbm")]
    assert listed[0]["metrics"]["loss"] == 1.0 / 12

    shown = sw("show-experiment", "exp-001", "--increment", "0042", cwd=project)
    assert shown.returncode == 0 and "model: xgb" in shown.stdout and "12 points" in shown.stdout

    compared = sw("compare-experiments", "0042", "--primary-metric", "loss", "--goal", "min", "--json", cwd=project)
    assert json.loads(compared.stdout)["best"] == "exp-001-xgb-run"

    history = json.loads(sw("history", "exp-002", "loss", "--increment", "0042", "--json", cwd=project).stdout)
    loss = history["metrics"][0]
    assert (loss["count"], loss["points"]["steps"], loss["best_step"]) == (8, list(range(8)), 7)

    diff = sw("diff", "exp-001", "exp-002", "--increment", "0042", cwd=project)
    assert diff.returncode == 0 and "depth" in diff.stdout

    decided = sw("log-decision", "exp-002", "--increment", "0042", "--rationale", "smaller model", cwd=project)
    assert decided.returncode == 0, decided.stderr
    tags = json.loads(sw("show-experiment", "exp-002", "--increment", "0042", "--json", cwd=project).stdout)
    assert "selected" in tags["meta"]["tags"]  # the decision selects an imported run as it does a native one
    synced = sw("sync-docs", "update", cwd=project)
    docs = (project / ".specweave/docs/internal/architecture/ml-experiments.md").read_text()
    assert synced.returncode == 0 and "lgbm-run" in docs and "SELECTED" in docs
    page = sw("report", "0042", "-o", str(tmp_path / "r.html"), cwd=project)
    assert page.returncode == 0 and "xgb-run" in (tmp_path / "r.html").read_text()


def test_bad_sources_are_one_line(project: Path, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a database")
    cases = [
        (["csv", str(tmp_path / "missing.csv")], "invalid CSV file"),
        (["mlflow", str(tmp_path / "notes.txt")], "MLflow sqlite store"),
        (["mlflow", str(tmp_path)], "MLflow file store"),
        (["wandb", str(tmp_path)], "W&B run folders"),
        (["tensorboard", str(tmp_path / "missing")], "TensorBoard log dir"),
        (["mlflow", "ftp://host/x"], "MLflow source"),
        (["parquet", str(tmp_path)], "invalid choice"),
    ]
    for args, words in cases:
        done = sw("import", *args, cwd=project)
        assert done.returncode == 2, (args, done.stderr)
        assert words in done.stderr and "Traceback" not in done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 or args[0] == "parquet"  # argparse's own usage, then its one error line
        assert words in lines[-1]
    assert not (project / ".specweave").exists()
    assert sw("import", "--help", cwd=project).stdout.count("sw-ml import") >= 2
