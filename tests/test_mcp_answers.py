"""What an agent gets back: empty answers that say what to do, one scope rule for every tool taking an
experiment, the seed workflow in few calls on three increments, resource links, and byte budgets.

All through the real in-memory MCP client against the real server on real stores.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from tests.fixtures import THREE, clone_runs, sample_store

from mcp_server.server import build_server
from skill.tracking.track import track_experiment

BUDGET = 8000  # bytes of text, and of structured content, in a default answer
TOOLS_LIST_BUDGET = 12 * 1024


def run(root: Path, calls: list[tuple[str, dict[str, Any]]], read_only: bool = False) -> list[Any]:
    async def go() -> list[Any]:
        async with Client(build_server(root, read_only=read_only)) as client:
            return [await client.call_tool(name, args) for name, args in calls]

    return anyio.run(go)


def text_of(result: Any) -> str:
    return result.content[0].text


def nbytes(data: Any) -> int:
    return len(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode())


# -- empty projects and increments -------------------------------------------------------------------
def test_an_empty_project_answers_empty_results_with_one_line_on_what_to_do(project: Path) -> None:
    results = run(project, [("list_increments", {}), ("list_experiments", {}), ("compare_experiments", {})])
    increments, experiments, comparison = results
    for result in results:
        assert not result.is_error, text_of(result)
        assert len(result.content) >= 1 and "\n" not in text_of(result)
        assert "track_experiment" in text_of(result)
    assert increments.structured_content == {"increments": []}
    assert experiments.structured_content["experiments"] == [] and experiments.structured_content["total"] == 0
    assert experiments.structured_content["increment"] is None
    assert comparison.structured_content["rows"] == [] and comparison.structured_content["increment"] is None
    assert not (project / ".specweave").exists()  # answering created nothing
    # a named increment that does not exist is still an error naming it
    [missing] = run(project, [("list_experiments", {"increment": "0042"})])
    assert missing.is_error and "0042" in text_of(missing)


def test_an_empty_increment_answers_empty_results_too(project: Path) -> None:
    (project / ".specweave" / "increments" / "0007-empty" / "experiments").mkdir(parents=True)
    listed, compared = run(project, [("list_experiments", {}), ("compare_experiments", {"write_report": False})])
    for result in (listed, compared):
        assert not result.is_error, text_of(result)
        assert "0007-empty" in text_of(result) and "track_experiment" in text_of(result)
        assert len(text_of(result).splitlines()) == 1
    assert listed.structured_content["experiments"] == [] and listed.structured_content["increment"] == "0007-empty"
    assert compared.structured_content["rows"] == [] and compared.structured_content["total"] == 0


# -- one scope rule for every tool that takes an experiment -------------------------------------------
@pytest.fixture
def three(project: Path) -> Path:
    return sample_store(project, "three-increments")


EXPERIMENT_TOOLS = [
    ("show_experiment", {}),
    ("get_metric_history", {}),
    ("add_note", {"text": "scope"}),
    ("tag_experiment", {"add": ["scope"]}),
]


@pytest.mark.parametrize(("tool", "extra"), EXPERIMENT_TOOLS)
def test_a_bare_reference_means_the_named_then_the_default_increment(three: Path, tool: str,
                                                                     extra: dict[str, Any]) -> None:
    newest, first = THREE[2], THREE[0]
    bare, named, ambiguous, named_ambiguous, full = run(three, [
        (tool, {"experiment": "exp-002", **extra}),
        (tool, {"experiment": "exp-002", "increment": "0001", **extra}),
        (tool, {"experiment": "exp-003", **extra}),
        (tool, {"experiment": "exp-003", "increment": "0002", **extra}),
        (tool, {"experiment": f"{first.split('-')[0]}/exp-001", **extra}),
    ])
    for result in (bare, named, named_ambiguous, full):
        assert not result.is_error, (tool, text_of(result))
    if tool == "add_note":  # the note as stored; the text names the experiment it went to
        assert "0003/exp-002-xgboost" in text_of(bare) and "0002/exp-003-tuned" in text_of(named_ambiguous)
        assert "0001/exp-001-baseline" in text_of(full)
    else:
        assert bare.structured_content["increment"] == newest  # exp-002 is in all three: the default's
        assert named.structured_content["increment"] == first
        assert named_ambiguous.structured_content["increment"] == THREE[1]
        assert full.structured_content["increment"] == first
    # exp-003 is in 0001 and 0002, not in the default: ambiguous, and the error lists the full references
    assert ambiguous.is_error
    assert f"{THREE[0]}/exp-003-tuned" in text_of(ambiguous) and f"{THREE[1]}/exp-003-tuned" in text_of(ambiguous)
    # every answer names the experiment by its full reference
    assert "0003/exp-002-xgboost" in text_of(bare) and "0001/exp-002-xgboost" in text_of(named)


def test_log_decision_follows_the_same_rule(three: Path) -> None:
    bare, ambiguous = run(three, [("log_decision", {"selected": "exp-002", "rationale": "best accuracy"}),
                                  ("log_decision", {"selected": "exp-003", "rationale": "x"})])
    assert bare.structured_content["increment"] == THREE[2]
    assert "0003/exp-002-xgboost" in text_of(bare)
    assert ambiguous.is_error and f"{THREE[0]}/exp-003-tuned" in text_of(ambiguous)


# -- the seed workflow: list, show, compare and decide, sync docs -----------------------------------------
def test_seed_workflow_in_at_most_three_calls_each_without_ambiguity(three: Path) -> None:
    """Each step as an agent takes it from the previous answer, with no ambiguity error."""
    async def go() -> dict[str, list[Any]]:
        steps: dict[str, list[Any]] = {}
        async with Client(build_server(three)) as client:
            async def step(name: str, tool: str, args: dict[str, Any]) -> Any:
                result = await client.call_tool(tool, args)
                assert not result.is_error, (name, tool, text_of(result))
                steps.setdefault(name, []).append(result)
                return result

            listed = await step("list", "list_experiments", {})
            first_ref = listed.structured_content["experiments"][0]["ref"]
            await step("show", "show_experiment", {"experiment": listed.structured_content["experiments"][1]["id"]})
            await step("show", "show_experiment", {"experiment": first_ref})
            compared = await step("compare", "compare_experiments", {})
            best = compared.structured_content["best"]
            await step("compare", "log_decision", {"selected": best, "rationale": "best accuracy, see comparison"})
            await step("sync", "sync_living_docs", {})
        return steps

    steps = anyio.run(go)
    assert all(len(calls) <= 3 for calls in steps.values()), {k: len(v) for k, v in steps.items()}
    listed = steps["list"][0]
    assert listed.structured_content["increment"] == THREE[2]
    assert [r["ref"] for r in listed.structured_content["experiments"]] == ["0003/exp-001-baseline",
                                                                            "0003/exp-002-xgboost"]
    assert steps["show"][0].structured_content["ref"] == "0003/exp-002-xgboost"
    assert steps["compare"][0].structured_content["best_ref"] == "0003/exp-002-xgboost"
    assert steps["compare"][1].structured_content["increment"] == THREE[2]
    docs = three / ".specweave" / "docs" / "internal" / "architecture" / "ml-experiments.md"
    assert "exp-002-xgboost" in docs.read_text() and "best accuracy, see comparison" in docs.read_text()


# -- resource links -----------------------------------------------------------------------------------
def test_results_that_name_a_document_link_to_it(three: Path) -> None:
    async def go() -> tuple[list[Any], list[str]]:
        async with Client(build_server(three)) as client:
            results = [await client.call_tool(name, args) for name, args in (
                ("compare_experiments", {}), ("show_experiment", {"experiment": "exp-001"}),
                ("sync_living_docs", {}), ("compare_experiments", {"write_report": False, "increment": "0001"}))]
            read = []
            for result in results[:3]:
                for link in [c for c in result.content if c.type == "resource_link"]:
                    read.append((await client.read_resource(link.uri)).contents[0].text)
            return results, read

    (compared, shown, synced, unwritten), read = anyio.run(go)

    def links(result: Any) -> dict[str, Any]:
        return {str(c.uri): c for c in result.content if c.type == "resource_link"}

    comparison_uri = f"specweave://increments/{THREE[2]}/comparison.md"
    assert comparison_uri in links(compared) and links(compared)[comparison_uri].mime_type == "text/markdown"
    assert f"specweave://increments/{THREE[2]}/experiments/exp-002-xgboost" in links(compared)  # the best
    assert f"specweave://increments/{THREE[2]}/experiments/exp-001-baseline" in links(shown)
    assert "specweave://docs/ml-experiments.md" in links(synced)
    assert not any(uri.endswith("comparison.md") for uri in links(unwritten))  # nothing written, no link
    # every link resolves through resources/read: the comparison, the experiment, the docs
    assert read[0].startswith("#") and "exp-002-xgboost" in read[0]
    assert any(json.loads(t).get("id") == "exp-001-baseline" for t in read if t.startswith("{"))
    assert any("ML" in t or "exp-002" in t for t in read[2:])


# -- byte budgets (sizes, not timings) ---------------------------------------------------------------------
def _store_of(root: Path, runs: int, params: int = 10) -> Path:
    with track_experiment("seed-run", increment="0001-bench", root=root) as exp:
        exp.log_params({f"param_{i}": i * 1.5 for i in range(params)})
        exp.log_metrics({"accuracy": 0.5, "loss": 0.7})
    clone_runs(root, "0001-bench", runs)
    return root


def test_default_answers_stay_within_budget_however_many_runs(project: Path) -> None:
    _store_of(project, 120)
    results = run(project, [("list_experiments", {}), ("compare_experiments", {}),
                            ("show_experiment", {"experiment": "exp-060"})])
    listed, compared, shown = results
    for result in results:
        assert not result.is_error, text_of(result)
        assert len(text_of(result).encode()) <= BUDGET
        assert nbytes(result.structured_content) <= BUDGET
    assert listed.structured_content["total"] == 120 and listed.structured_content["next_cursor"]
    assert compared.structured_content["total"] == 120 and compared.structured_content["next_cursor"]
    assert nbytes(shown.structured_content) <= 6000 and len(text_of(shown).encode()) <= 6000
    # the pages go on: a cursor gives the next ranks, and comparison.md stays complete
    [more] = run(project, [("compare_experiments", {"cursor": compared.structured_content["next_cursor"]})])
    ranks = [r["id"] for r in compared.structured_content["rows"]] + [r["id"] for r in more.structured_content["rows"]]
    assert len(set(ranks)) == len(ranks)
    report = (project / ".specweave" / "increments" / "0001-bench" / "experiments" / "comparison.md").read_text()
    assert all(f"exp-{n:03d}-" in report for n in range(1, 121))


def test_metric_history_of_100000_points_fits_and_keeps_extremes(project: Path) -> None:
    with track_experiment("long", increment="0001-long", root=project) as exp:
        for step in range(100_000):
            value = math.sin(step / 500) + (7.0 if step == 61_234 else 0.0) - (9.0 if step == 3_210 else 0.0)
            exp.log_metric("loss", value, step=step)
    [history] = run(project, [("get_metric_history", {"experiment": "long"})])
    assert not history.is_error, text_of(history)
    assert nbytes(history.structured_content) <= BUDGET and len(text_of(history).encode()) <= BUDGET
    [series] = history.structured_content["series"]
    assert series["total_points"] == 100_000 and series["downsampled"]
    assert {0, 99_999, 61_234, 3_210} <= set(series["steps"])  # first, last, the spike and the dip


def test_tools_list_fits_its_budget(project: Path) -> None:
    async def go() -> list[Any]:
        async with Client(build_server(project)) as client:
            return (await client.list_tools()).tools

    tools = anyio.run(go)
    # the measure: descriptions plus input schemas plus output schemas, of every tool listed
    sizes = {t.name: len((t.description or "").encode()) + nbytes(t.input_schema) + nbytes(t.output_schema or {})
             for t in tools}
    assert sum(sizes.values()) <= TOOLS_LIST_BUDGET, sizes
    whole = nbytes([t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools])
    assert whole <= TOOLS_LIST_BUDGET + 200 * len(tools), whole  # names, titles, annotations: ~150 B a tool
