"""The sw-ml CLI through real subprocesses: tables, --json, filters, one-line errors, help everywhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.fixtures import INC_DIR, make_increment, sample_store, write_experiment

REPO = Path(__file__).resolve().parent.parent


def sw(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1"}
    for var in ("SPECWEAVE_ROOT", "CLAUDE_PROJECT_DIR"):
        env.pop(var, None)
    done = subprocess.run([sys.executable, "-m", "specweave.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)
    if check and done.returncode != 0:
        raise AssertionError(f"sw-ml {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done


@pytest.fixture
def store(project: Path) -> Path:
    inc = sample_store(project, "seed-comparison") / INC_DIR
    write_experiment(inc, 5, "transformer", status="failed", metrics={}, notes=["FAILED: OOM"])
    return project


def test_list_show_and_json(store: Path) -> None:
    out = sw("list-experiments", "0042", cwd=store).stdout
    assert out.splitlines()[0].split() == ["EXPERIMENT", "STATUS", "accuracy", "precision", "recall", "f1",
                                           "DURATION", "TAGS"]
    assert "exp-002-xgboost" in out and "failed" in out
    rows = json.loads(sw("list-experiments", "0042", "--json", "--where", "metrics.accuracy > 0.855",
                         "--sort", "-metrics.accuracy", cwd=store).stdout)
    assert [r["id"] for r in rows] == ["exp-002-xgboost", "exp-003-lightgbm"]
    assert rows[0]["params"] == {"model": "xgboost", "random_state": 42}
    failed = json.loads(sw("list-experiments", "--json", "--status", "failed", cwd=store).stdout)
    assert [r["id"] for r in failed] == ["exp-005-transformer"]
    shown = sw("show-experiment", "exp-002", cwd=store).stdout
    assert shown.startswith("exp-002-xgboost  (completed)") and "accuracy: 0.87" in shown
    data = json.loads(sw("show-experiment", "xgboost", "--json", cwd=store).stdout)
    assert data["id"] == "exp-002-xgboost" and data["meta"]["packages"] == {"numpy": "2.0.0", "pandas": "3.0.0"}
    incs = json.loads(sw("list-increments", "--json", cwd=store).stdout)
    assert incs[0]["id"] == "0042-recommendation-model" and incs[0]["experiment_count"] == 5
    assert "Recommendation Model" in sw("list-increments", cwd=store).stdout


def test_compare_export_decide_sync(store: Path, tmp_path: Path) -> None:
    out = sw("compare-experiments", "0042", cwd=store).stdout
    assert "| exp-005-transformer (failed, no metrics) |" in out and "**Best Model**: exp-002-xgboost" in out
    assert (store / ".specweave/increments/0042-recommendation-model/experiments/comparison.md").exists()
    data = json.loads(sw("compare-experiments", "--json", "--no-write", "-e", "exp-001,exp-004", cwd=store).stdout)
    assert data["best"] == "exp-004-neural-net" and [r["id"] for r in data["rows"]] == ["exp-001-baseline",
                                                                                       "exp-004-neural-net"]
    csv_text = sw("export-experiments", "0042", "--format", "csv", cwd=store).stdout
    assert csv_text.splitlines()[0].startswith("id,name,status") and len(csv_text.splitlines()) == 6
    target = tmp_path / "out.json"
    sw("export-experiments", "0042", "--format", "json", "-o", str(target), cwd=store)
    assert len(json.loads(target.read_text(encoding="utf-8"))) == 5
    sw("log-decision", "exp-003-lightgbm", "--rationale", "Faster to train", "--alternatives", "exp-002",
       "--author", "ana", cwd=store)
    assert "✅ **SELECTED**" in sw("sync-docs", "update", cwd=store).stdout + (
        store / ".specweave/docs/internal/architecture/ml-experiments.md").read_text(encoding="utf-8")
    assert sw("sync-docs", "check", cwd=store).returncode == 0
    sw("add-note", "exp-001", "tried", "it", cwd=store)
    assert sw("sync-docs", "check", cwd=store, check=False).returncode == 0  # a note on a completed run: no change
    sw("tag", "exp-001", "candidate", cwd=store)
    shown = json.loads(sw("show-experiment", "exp-001", "--json", cwd=store).stdout)
    assert shown["meta"]["tags"] == ["candidate"] and shown["meta"]["notes"][0]["text"] == "tried it"


def test_sync_check_reports_out_of_date(store: Path) -> None:
    done = sw("sync-docs", "check", cwd=store, check=False)
    assert done.returncode == 1 and "out of date" in done.stderr
    assert not (store / ".specweave/docs").exists()


def test_pipelines_are_listed_as_one_unit(project: Path) -> None:
    inc = make_increment(project, "0001-pipe")
    write_experiment(inc, 1, "pipeline", metrics={"accuracy": 0.8})
    write_experiment(inc, 2, "prep", parent="exp-001-pipeline", stage="preprocessing", stage_order=1,
                     metrics={"rows_after": 950})
    write_experiment(inc, 3, "train", parent="exp-001-pipeline", stage="training", stage_order=2,
                     metrics={"accuracy": 0.8})
    lines = sw("list-experiments", cwd=project).stdout.splitlines()
    assert lines[1].startswith("exp-001-pipeline ")
    assert lines[2].startswith("  └ exp-002-prep [preprocessing]")
    assert lines[3].startswith("  └ exp-003-train [training]")
    shown = sw("show-experiment", "exp-001", cwd=project).stdout
    assert "stages:\n  1. exp-002-prep [preprocessing] completed" in shown
    rows = json.loads(sw("list-experiments", "--json", cwd=project).stdout)
    assert [(r["id"], r["stage"]) for r in rows if r["parent"] == "exp-001-pipeline"] == [
        ("exp-002-prep", "preprocessing"), ("exp-003-train", "training")]


@pytest.mark.parametrize("args, code, words", [
    (["list-experiments", "0042", "--where", "__import__('os').system('id')"], 2, "invalid --where filter"),
    (["show-experiment", "exp-042"], 3, "no experiment matches 'exp-042'"),
    (["list-experiments", "9999"], 3, "no increment matches '9999'"),
    (["compare-experiments", "0042", "--primary-metric", "nope"], 2, "invalid primary metric 'nope'"),
    (["export-experiments", "0042", "--format", "csv", "--where", "metrics.x >"], 2, "expected a value"),
    (["log-decision", "exp-002", "--rationale", " "], 2, "invalid rationale"),
    (["list-experiments", "--sort", "sideways!"], 2, "invalid --sort"),
])
def test_user_errors_are_one_line(store: Path, args: list[str], code: int, words: str) -> None:
    done = sw(*args, cwd=store, check=False)
    assert done.returncode == code, done.stderr
    assert done.stderr.startswith("sw-ml: error: ") and words in done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_damaged_store_through_the_cli(store: Path) -> None:
    params = next(store.glob(".specweave/increments/*/experiments/exp-002-*/params.json"))
    params.write_text("{oops", encoding="utf-8")
    out = sw("list-experiments", cwd=store).stdout
    assert "completed (damaged)" in out and "damaged: exp-002-xgboost: " in out and "params.json:1" in out
    assert "**Best Model**: exp-003-lightgbm" in sw("compare-experiments", cwd=store).stdout


def _commands() -> list[str]:
    sys.path.insert(0, str(REPO))
    from specweave.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return sorted(sub.choices)


def test_every_command_has_help_with_an_example(project: Path) -> None:
    commands = _commands()
    assert {"list-increments", "list-experiments", "show-experiment", "compare-experiments", "export-experiments",
            "log-decision", "sync-docs", "add-note", "tag", "push", "serve", "init"} <= set(commands)
    for command in commands:
        done = sw(command, "--help", cwd=project)
        assert "example:\n  sw-ml " + command in done.stdout, command
    assert "example:" in sw("--help", cwd=project).stdout


def test_importing_the_cli_stays_light(run_py, project: Path) -> None:
    done = run_py("import sys, specweave.cli; "
                  "print(sorted(m for m in ('pandas', 'jinja2', 'mcp', 'mlflow', 'pydantic') if m in sys.modules))",
                  cwd=project)
    assert done.stdout.strip() == "[]"


def test_serve_runs_the_mcp_server_module_with_the_arguments_given(store: Path, tmp_path: Path) -> None:
    """`sw-ml --root DIR serve ...` becomes `python -m mcp_server --root DIR ...`: the CLI imports no other face."""
    helped = sw("serve", "--help", cwd=tmp_path).stdout
    assert "example:\n  sw-ml serve" in helped and "--transport" in helped and "--read-only" in helped
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1"}
    for var in ("SPECWEAVE_ROOT", "CLAUDE_PROJECT_DIR"):
        env.pop(var, None)
    hello = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}}
    done = subprocess.run([sys.executable, "-m", "specweave.cli", "--root", str(store), "serve", "--read-only"],
                          cwd=elsewhere, env=env, input=json.dumps(hello) + "\n", capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[0])["result"]["serverInfo"]["name"] == "ml"
    assert "no .specweave/" not in done.stderr  # the root given before `serve` reached the server
    bad = sw("--root", str(tmp_path / "missing"), "serve", cwd=tmp_path, check=False)
    assert bad.returncode == 2 and "invalid --root" in bad.stderr and "Traceback" not in bad.stderr
