"""Resources, prompts and completions through a real in-memory MCP client, in both protocol modes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, MCPError
from tests.fixtures import INC, OTHER, sample_store
from mcp_types import PromptReference, ResourceTemplateReference

from mcp_server.prompts import load_prompt_files
from mcp_server.server import build_server

MODES = ("auto", "legacy")
PROMPTS = {"list-experiments", "compare-experiments", "show-experiment", "export-experiments", "sync-docs",
           "review-experiments"}


@pytest.fixture
def store(project: Path) -> Path:
    return sample_store(project, "project")


def session(root: Path, mode: str, body: Any) -> Any:
    async def go() -> Any:
        async with Client(build_server(root), mode=mode) as client:
            return await body(client)

    return anyio.run(go)


@pytest.mark.parametrize("mode", MODES)
def test_templates_and_static_resources_are_listed(store: Path, mode: str) -> None:
    comparison = store / ".specweave" / "increments" / INC / "experiments" / "comparison.md"
    comparison.write_text("| Experiment | Accuracy |\n")

    async def body(client: Client) -> Any:
        return (await client.list_resources()).resources, (await client.list_resource_templates()).resource_templates

    resources, templates = session(store, mode, body)
    uris = {str(r.uri) for r in resources}
    assert {"specweave://increments", "specweave://docs/ml-experiments.md",
            f"specweave://increments/{INC}/comparison.md"} <= uris
    assert f"specweave://increments/{OTHER}/comparison.md" not in uris  # none written there
    assert {t.uri_template for t in templates} == {
        "specweave://increments/{increment}/comparison.md",
        "specweave://increments/{increment}/experiments",
        "specweave://increments/{increment}/experiments/{experiment}",
        "specweave://increments/{increment}/experiments/{experiment}/artifacts/{+name}",
    }
    assert all(t.description for t in templates)


@pytest.mark.parametrize("mode", MODES)
def test_read_every_resource(store: Path, mode: str) -> None:
    docs = store / ".specweave" / "docs" / "internal" / "architecture"
    docs.mkdir(parents=True)
    (docs / "ml-experiments.md").write_text("# ML experiments\n")
    (store / ".specweave" / "increments" / INC / "experiments" / "comparison.md").write_text("| a | b |\n")

    async def body(client: Client) -> Any:
        uris = ["specweave://increments", "specweave://docs/ml-experiments.md",
                "specweave://increments/0042/comparison.md", "specweave://increments/0042/experiments",
                "specweave://increments/0042/experiments/exp-002"]
        return [(await client.read_resource(uri)).contents[0] for uri in uris]

    increments, living, comparison, experiments, one = session(store, mode, body)
    assert [row["id"] for row in json.loads(increments.text)] == [INC, OTHER]
    assert increments.mime_type == "application/json"
    assert living.text == "# ML experiments\n" and living.mime_type == "text/markdown"
    assert comparison.text == "| a | b |\n"
    assert [row["id"] for row in json.loads(experiments.text)][:2] == ["exp-001-baseline", "exp-002-xgboost"]
    detail = json.loads(one.text)
    assert detail["id"] == "exp-002-xgboost" and detail["metric_summaries"]["loss"]["steps"] == 1000


@pytest.mark.parametrize("mode", MODES)
def test_the_experiment_resource_is_what_show_experiment_returns(store: Path, mode: str) -> None:
    """The template says "one experiment in full, as show_experiment returns it": the same JSON, here for
    a run with a NaN metric and a long log, and for a run of another increment than the active one."""

    async def body(client: Client) -> Any:
        pairs = []
        for inc, exp in ((INC, "exp-002"), (OTHER, "exp-001")):
            read = (await client.read_resource(f"specweave://increments/{inc}/experiments/{exp}")).contents[0]
            shown = await client.call_tool("show_experiment", {"experiment": exp, "increment": inc})
            assert not shown.is_error
            pairs.append((json.loads(read.text), shown.structured_content))
        return pairs

    pairs = session(store, mode, body)
    assert [resource["id"] for resource, _ in pairs] == ["exp-002-xgboost", "exp-001-popularity"]
    for resource, tool in pairs:
        assert resource == tool


@pytest.mark.parametrize("mode", MODES)
def test_missing_resources_are_errors_naming_what_to_do(store: Path, mode: str) -> None:
    async def body(client: Client) -> list[str]:
        messages = []
        for uri in ("specweave://docs/ml-experiments.md", "specweave://increments/0043/comparison.md",
                    "specweave://increments/0099/experiments", "specweave://increments/0042/experiments/exp-077",
                    "specweave://increments/..%2F..%2Fetc/experiments"):
            with pytest.raises(MCPError) as caught:
                await client.read_resource(uri)
            messages.append(str(caught.value))
        return messages

    living, comparison, increment, experiment, traversal = session(store, mode, body)
    assert "sync_living_docs" in living
    assert "compare_experiments" in comparison
    assert "0099" in increment and INC in increment
    assert "exp-077" in experiment
    assert traversal


@pytest.mark.parametrize("mode", MODES)
def test_prompts_come_from_the_prompt_files(store: Path, mode: str) -> None:
    async def body(client: Client) -> Any:
        listed = (await client.list_prompts()).prompts
        rendered = {}
        for prompt in listed:
            args = {a.name: "0042" if a.name == "increment" else "exp-002" for a in prompt.arguments or []
                    if a.required}
            rendered[prompt.name] = (await client.get_prompt(prompt.name, args)).messages[0].content.text
        with_args = (await client.get_prompt("export-experiments", {"increment": "0042", "format": "json"}))
        return listed, rendered, with_args.messages[0].content.text

    listed, rendered, export = session(store, mode, body)
    assert {p.name for p in listed} == PROMPTS
    by_name = {p.name: p for p in listed}
    assert [a.name for a in by_name["show-experiment"].arguments] == ["experiment"]
    assert by_name["show-experiment"].arguments[0].required is True
    assert "exp-002" in rendered["show-experiment"] and "show_experiment" in rendered["show-experiment"]
    assert "the active increment" in rendered["list-experiments"]
    assert "over-fitting" in rendered["review-experiments"].lower()
    assert "baseline" in rendered["review-experiments"].lower()
    assert "{{" not in "".join(rendered.values())
    assert "0042" in export and '`{"increment": "0042", "format": "json"}`' in export


@pytest.mark.parametrize("mode", MODES)
def test_prompt_missing_required_argument_is_an_error(store: Path, mode: str) -> None:
    async def body(client: Client) -> str:
        with pytest.raises(MCPError) as caught:
            await client.get_prompt("show-experiment", {})
        return str(caught.value)

    assert "experiment" in session(store, mode, body)


def test_prompt_files_have_front_matter_and_mention_only_real_tools(store: Path) -> None:
    server = build_server(store)
    tools = {t.name for t in server._tool_manager.list_tools()}
    specs = load_prompt_files()
    assert {s.name for s in specs} == PROMPTS
    for spec in specs:
        assert spec.description and spec.arguments is not None
        mentioned = set(__import__("re").findall(r"`([a-z]+_[a-z_]+)`", spec.body))
        tool_like = {m for m in mentioned if m.split("_")[0] in ("list", "show", "get", "compare", "log", "sync",
                                                                 "export", "add", "tag")}
        assert tool_like <= tools | {"sync_living_docs", "compare_experiments", "export_experiments"}, spec.name


@pytest.mark.parametrize("mode", MODES)
def test_completion_of_ids_for_prompts_and_templates(store: Path, mode: str) -> None:
    async def body(client: Client) -> list[list[str]]:
        out = []
        cases = [
            (PromptReference(name="list-experiments"), {"name": "increment", "value": "004"}, None),
            (PromptReference(name="show-experiment"), {"name": "experiment", "value": "exp-00"}, None),
            (PromptReference(name="show-experiment"), {"name": "experiment", "value": "x"}, None),
            (ResourceTemplateReference(uri="specweave://increments/{increment}/experiments/{experiment}"),
             {"name": "experiment", "value": ""}, {"increment": "0043"}),
            (ResourceTemplateReference(uri="specweave://increments/{increment}/comparison.md"),
             {"name": "increment", "value": "0043"}, None),
            (PromptReference(name="export-experiments"), {"name": "format", "value": "c"}, None),
            (PromptReference(name="list-experiments"), {"name": "increment", "value": "../"}, None),
            (PromptReference(name="compare-experiments"), {"name": "metric", "value": "a"}, {"increment": "0042"}),
        ]
        for ref, argument, context in cases:
            out.append((await client.complete(ref, argument, context)).completion.values)
        return out

    incs, exps, slug, scoped, template_inc, formats, nothing, metrics = session(store, mode, body)
    assert incs == [INC, OTHER]
    assert exps == ["exp-001-baseline", "exp-002-xgboost", "exp-003-lightgbm", "exp-004-neural-net",
                    "exp-001-popularity"]
    assert slug == ["exp-002-xgboost"]
    assert scoped == ["exp-001-popularity"]
    assert template_inc == [OTHER]
    assert formats == ["csv"]
    assert nothing == []
    assert metrics == ["accuracy", "auc"]
