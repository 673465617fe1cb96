"""One request, three faces: the Python API, `sw-ml ... --json` and the MCP client give the same answer.

Each face builds the core's Project and formats its answer; this test holds them to it on one store
with two increments (so the scope rule for a bare reference is exercised too).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from tests.fixtures import INC, OTHER, REPO, sample_store

from mcp_server.server import build_server
from skill.analysis.ranking import comparison_page
from skill.schemas.reports import ExperimentShown
from skill.schemas.records import ExperimentSummary
from skill.project import Project

ENV = {**os.environ, "PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1"}


def cli(root: Path, *args: str) -> Any:
    done = subprocess.run([sys.executable, "-m", "specweave.cli", *args, "--json", "--root", str(root)],
                          cwd=root, env=ENV, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def mcp(root: Path, name: str, **args: Any) -> Any:
    async def go() -> Any:
        async with Client(build_server(root)) as client:
            result = await client.call_tool(name, args)
            assert not result.is_error, result.content[0].text
            return result.structured_content

    return anyio.run(go)


def dump(model: Any) -> Any:
    return json.loads(model.model_dump_json())


@pytest.fixture
def store(project: Path) -> Path:
    return sample_store(project, "project")


def _without_volatile(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in keys}


def test_list_is_the_same_everywhere(store: Path) -> None:
    records = Project(store).experiments(INC, where="metrics.accuracy > 0.6")
    python = [dump(ExperimentSummary.from_record(r)) for r in records]
    assert cli(store, "list-experiments", INC, "--where", "metrics.accuracy > 0.6") == python
    assert mcp(store, "list_experiments", increment=INC, where="metrics.accuracy > 0.6")["experiments"] == python
    assert [r["id"] for r in python] == ["exp-001-baseline", "exp-002-xgboost", "exp-003-lightgbm"]


def test_show_is_the_same_everywhere_and_a_bare_reference_means_the_default_increment(store: Path) -> None:
    """The MCP face answers the same detail, flattened with the packages summarised (ExperimentShown):
    the same projection of the Python answer."""
    detail = Project(store).detail("exp-001")
    python = dump(detail)
    assert python["increment"] == OTHER  # exp-001 is in both increments; the newest is the default
    assert cli(store, "show-experiment", "exp-001") == python
    assert mcp(store, "show_experiment", experiment="exp-001") == dump(ExperimentShown.from_detail(detail))
    named_detail = Project(store).detail("exp-001", INC)
    named = dump(named_detail)
    assert named["increment"] == INC
    assert cli(store, "show-experiment", "exp-001", "--increment", INC) == named
    assert mcp(store, "show_experiment", experiment="exp-001", increment=INC, packages=True) == \
        dump(ExperimentShown.from_detail(named_detail, packages=True))


def test_compare_with_filters_is_the_same_everywhere(store: Path) -> None:
    """The MCP face answers the same comparison ranked and paged (comparison_page): the same projection."""
    comparison = Project(store).compare(INC, where="metrics.accuracy > 0.6", write_report=False)
    python = dump(comparison)
    assert python["best"] == "exp-002-xgboost" and len(python["rows"]) == 3
    assert cli(store, "compare-experiments", INC, "--where", "metrics.accuracy > 0.6", "--no-write") == python
    assert mcp(store, "compare_experiments", increment=INC, where="metrics.accuracy > 0.6",
               write_report=False) == dump(comparison_page(comparison))
    assert mcp(store, "compare_experiments", increment=INC, where="metrics.accuracy > 0.6", write_report=False,
               limit=1, fields=["accuracy"]) == dump(comparison_page(comparison, limit=1, fields=["accuracy"]))


def test_export_is_the_same_everywhere(store: Path) -> None:
    python = Project(store).export(INC, "csv", where="status = completed")
    done = subprocess.run([sys.executable, "-m", "specweave.cli", "export-experiments", INC, "--format", "csv",
                           "--where", "status = completed", "--root", str(store)], cwd=store, env=ENV,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == python.text
    assert mcp(store, "export_experiments", increment=INC, format="csv", where="status = completed")["text"] == \
        python.text


def test_writes_are_the_same_everywhere(store: Path) -> None:
    """log_decision without an increment takes the selected run's own, on every face; notes and tags
    answer with the same shapes."""
    project = Project(store)
    python = dump(project.log_decision("xgboost", "best accuracy", author="dev"))
    via_cli = cli(store, "log-decision", "exp-002", "--rationale", "best accuracy", "--author", "dev")
    via_mcp = mcp(store, "log_decision", selected="exp-002-xgboost", rationale="best accuracy", author="dev")
    volatile = ("ts",)
    assert _without_volatile(via_cli, *volatile) == _without_volatile(python, *volatile)
    assert _without_volatile(via_mcp, *volatile) == _without_volatile(python, *volatile)
    assert python["increment"] == INC  # xgboost lives only in 0042, which is not the default increment

    note = dump(project.add_note("lightgbm", "from python", INC))
    assert set(mcp(store, "add_note", experiment="lightgbm", text="from mcp", increment=INC)) == set(note)
    tagged = dump(project.tag("lightgbm", ["python"], increment=INC))
    via_mcp_tag = mcp(store, "tag_experiment", experiment="lightgbm", add=["mcp"], increment=INC)
    assert set(via_mcp_tag) == set(tagged) and via_mcp_tag["tags"] == [*tagged["tags"], "mcp"]
    texts = [n.text for n in project.experiment("lightgbm", INC).meta.notes]
    assert texts == ["from python", "from mcp"]


def test_list_shows_the_primary_metric_and_takes_columns(store: Path) -> None:
    def table(*args: str) -> list[str]:
        done = subprocess.run([sys.executable, "-m", "specweave.cli", "list-experiments", INC, *args, "--root",
                               str(store)], cwd=store, env=ENV, capture_output=True, text=True, timeout=120)
        assert done.returncode == (0 if "--columns" not in args or "acuracy" not in args else 2), done.stderr
        return (done.stdout or done.stderr).splitlines()

    primary = Project(store).compare(INC, write_report=False).primary_metric
    assert table()[0].split()[2] == primary  # EXPERIMENT STATUS <primary> ...
    assert table("--primary-metric", "loss")[0].split()[2] == "loss"
    assert table("--columns", "loss")[0].split() == ["EXPERIMENT", "STATUS", "loss", "DURATION", "TAGS"]
    error = table("--columns", "acuracy")
    assert len(error) == 1 and "accuracy" in error[0]  # the nearest known name


def test_root_errors_say_what_is_wrong_and_create_nothing(tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "specweave.cli", *args], cwd=tmp_path, env=ENV,
                              capture_output=True, text=True, timeout=120)

    missing = run("--root", str(tmp_path / "nope"), "list-experiments")
    assert missing.returncode == 2 and "existing folder" in missing.stderr and len(missing.stderr.splitlines()) == 1
    empty = run("sync-docs")
    assert empty.returncode == 2 and ".specweave/ store" in empty.stderr
    assert not (tmp_path / ".specweave").exists()


def test_python_faces_infer_the_increment_and_carry_the_row_fields(store: Path) -> None:
    """The Python API's log_decision infers the increment like the CLI and MCP (the seed's positional
    form still works), and its list rows answer ref, started, tags and duration_s like the others'."""
    import specweave

    inferred = specweave.log_decision("xgboost", "best accuracy", alternatives=["exp-001"], root=store)
    seeded = specweave.log_decision(INC, "exp-002", "best accuracy", ["exp-001"], root=store)
    assert inferred.increment == seeded.increment == INC
    assert inferred.selected == seeded.selected and inferred.alternatives == seeded.alternatives == ["exp-001-baseline"]
    rows = specweave.list_experiments(INC, root=store)
    via_mcp = {r["id"]: r for r in mcp(store, "list_experiments", increment=INC)["experiments"]}
    for row in rows:
        other = via_mcp[row.id]
        assert row.ref == other["ref"] and row.tags == other["tags"]
        assert row.started.isoformat().replace("+00:00", "Z").startswith(other["started"][:19])
        assert row.duration_s == other["duration_s"]
