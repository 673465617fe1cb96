"""`sw-ml diff A B`, `Project.diff`, `specweave.diff_experiments` and the MCP tool `diff_experiments`, on the
issue's scenario: three real runs of a scikit-learn script (clean; code edited, not committed; a param
and the data changed). Each pair's diff shows exactly what changed between them."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import jsonschema
import pytest
from tests.fixtures import git, sw
from tests.repro_scenario import build

from skill.project import Project

pytest.importorskip("sklearn")


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("diff") / "project")


def test_code_edit_only_clean_to_dirty(scenario: Path) -> None:
    diff = Project(scenario).diff("exp-001", "exp-002")
    assert diff.params.empty and diff.data.empty and diff.environment.empty and diff.packages.empty
    assert diff.code.same is False and not diff.code.problems
    assert [(f.path, f.status, f.added, f.removed) for f in diff.code.files] == [("train.py", "M", 1, 1)]
    commit = git(scenario, "rev-parse", "HEAD").strip()
    assert (diff.code.a, diff.code.b) == (commit[:12], commit[:12] + "+patch")
    assert "+    model = RandomForestClassifier(n_estimators=N_ESTIMATORS, max_depth=2" in diff.code.diff
    assert "-    model = RandomForestClassifier(n_estimators=N_ESTIMATORS, random_state=0)" in diff.code.diff
    assert ".specweave" not in diff.code.diff  # the store's own files are never code
    assert set(diff.metrics) == {"accuracy", "train_accuracy", "fit_time"}
    assert diff.metrics["fit_time"].delta == 0


def test_param_and_data_dirty_to_third(scenario: Path) -> None:
    diff = Project(scenario).diff("exp-002", "exp-003")
    assert diff.params.model_dump() == {"added": {}, "removed": {}, "changed": {"n_estimators": [10, 30]}}
    assert sorted(f.path for f in diff.code.files) == ["data/train.csv", "train.py"]
    assert "-N_ESTIMATORS = 10" in diff.code.diff and "+N_ESTIMATORS = 30" in diff.code.diff
    assert list(diff.data.changed) == ["train"] and not diff.data.added and not diff.data.removed
    before, after = diff.data.changed["train"]
    assert before.startswith("file data/train.csv") and before != after
    assert diff.environment.empty and diff.packages.empty
    m = diff.metrics["train_accuracy"]
    assert m.delta == pytest.approx(m.b - m.a) and m.rel == pytest.approx((m.b - m.a) / abs(m.a))


def test_clean_to_third_has_both(scenario: Path) -> None:
    diff = Project(scenario).diff("exp-001", "exp-003")
    assert set(diff.params.changed) == {"n_estimators"}
    assert sorted(f.path for f in diff.code.files) == ["data/train.csv", "train.py"]
    assert "max_depth=2" in diff.code.diff and list(diff.data.changed) == ["train"]
    same = Project(scenario).diff("exp-002", "exp-002")
    assert same.code.same is True and same.params.empty and same.data.empty and not same.code.files


def test_cli_text_and_json_agree_with_the_core(scenario: Path) -> None:
    done = sw("diff", "exp-002", "exp-003", cwd=scenario)
    assert done.returncode == 0, done.stderr
    assert "~ n_estimators: 10 -> 30" in done.stdout
    assert "M data/train.csv" in done.stdout and "M train.py" in done.stdout
    assert "~ train: file data/train.csv" in done.stdout
    assert "+N_ESTIMATORS = 30" in done.stdout
    as_json = sw("diff", "exp-002", "exp-003", "--json", cwd=scenario)
    assert json.loads(as_json.stdout) == Project(scenario).diff("exp-002", "exp-003").model_dump(mode="json")


def test_code_diff_is_bounded_and_bad_input_is_one_line(scenario: Path) -> None:
    small = Project(scenario).diff("exp-001", "exp-003", max_code_bytes=200)
    assert small.code.truncated and len(small.code.diff.encode()) <= 200
    assert len(small.code.files) == 2  # the file list is never cut
    for args in (["diff", "exp-001", "exp-999"], ["diff", "exp-001", "exp-002", "--max-code-bytes", "-1"]):
        done = sw(*args, cwd=scenario)
        assert done.returncode in (2, 3) and done.stderr.count("\n") == 1, done.stderr
    assert "exp-999" in sw("diff", "exp-001", "exp-999", cwd=scenario).stderr


def test_a_missing_commit_is_a_problem_not_a_crash(scenario: Path, tmp_path: Path) -> None:
    """A clone without the runs' commit: params and metrics still diff; the code says why it cannot."""
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(scenario, copy, ignore=shutil.ignore_patterns(".git"))
    git(copy, "init", "-q", "-b", "main")
    diff = Project(copy).diff("exp-001", "exp-003")
    assert diff.code.same is None and "not in this repository" in diff.code.problems[0]
    assert set(diff.params.changed) == {"n_estimators"}


def test_facade_function(scenario: Path) -> None:
    import specweave

    diff = specweave.diff_experiments("exp-001", "exp-002", root=scenario)
    assert [f.path for f in diff.code.files] == ["train.py"]


def test_mcp_tool_output_validates_against_its_schema(scenario: Path) -> None:
    from mcp import Client

    from mcp_server.server import build_server

    async def go() -> tuple:
        async with Client(build_server(scenario, read_only=True), mode="auto") as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            good = await client.call_tool("diff_experiments", {"a": "exp-002", "b": "exp-003"})
            bad = await client.call_tool("diff_experiments", {"a": "exp-002", "b": "nope"})
            return tools, good, bad

    tools, good, bad = anyio.run(go)
    tool = tools["diff_experiments"]
    assert tool.annotations.read_only_hint is True
    assert not any("reproduce" in name for name in tools)  # no tool runs code
    assert not good.is_error
    jsonschema.Draft202012Validator(tool.output_schema, format_checker=jsonschema.FormatChecker()).validate(
        good.structured_content)
    assert good.structured_content["params"]["changed"] == {"n_estimators": [10, 30]}
    assert len(good.structured_content["code"]["diff"].encode()) <= 8000
    assert bad.is_error and "\n" not in bad.content[0].text and "nope" in bad.content[0].text


def test_compare_warns_when_ranked_runs_used_different_data(scenario: Path) -> None:
    project = Project(scenario)
    mixed = project.compare(experiments=["exp-001", "exp-002", "exp-003"], write_report=False)
    warning = [w for w in mixed.warnings if "different data" in w]
    assert len(warning) == 1 and "train" in warning[0] and "exp-003-forest" in warning[0]
    same = project.compare(experiments=["exp-001", "exp-002"], write_report=False)
    assert not [w for w in same.warnings if "different data" in w]
