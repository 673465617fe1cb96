"""Random strings into every argument of every tool: the server answers, stays up, and writes
nothing outside `.specweave/`; every refusal is an anticipated one-line error, never a crash."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client
from tests.fixtures import sample_store, tree_outside_store

from mcp_server.prompts import _clean as quoted_argument
from mcp_server.server import build_server

# Text that looks like what an agent might send by mistake, or on purpose.
TRICKY = st.sampled_from([
    "", " ", "..", "../..", "../../etc/passwd", "/etc/passwd", "C:\\Windows", "~/x", "exp-001", "exp-002-xgboost",
    "0042", "0042/exp-001", "0042-recommendation-model", "metrics.accuracy > 0.5", "x" * 5000, "\x00", "a\nb",
    "$(rm -rf /)", "{{ 7*7 }}", "__import__('os')", "'; DROP TABLE x; --", "NaN", "-1", "0", "1e309", "csv",
    "json", "markdown", "max", "min", "exports/../../x", "%2e%2e%2f", "\u202e", "😀",
])
TEXT = st.one_of(TRICKY, st.text(max_size=60))


def argument_strategy(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    kinds = {schema.get("type")} | {option.get("type") for option in schema.get("anyOf", [])}
    if "array" in kinds:
        return st.one_of(TEXT, st.lists(TEXT, max_size=3))
    if "object" in kinds:
        return st.one_of(TEXT, st.dictionaries(TEXT, TEXT, max_size=2))
    return TEXT


@pytest.fixture(scope="module")
def fuzz_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.fixtures import init_repo

    root = init_repo(tmp_path_factory.mktemp("fuzz") / "project")
    return sample_store(root, "project")


@pytest.fixture(scope="module")
def server_and_tools(fuzz_project: Path) -> tuple[Any, dict[str, dict[str, Any]]]:
    server = build_server(fuzz_project)
    tools = {tool.name: tool.parameters for tool in server._tool_manager.list_tools()}
    return server, tools


def arguments_for(tools: dict[str, dict[str, Any]]) -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    def for_tool(name: str) -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
        props = tools[name].get("properties", {})
        return st.tuples(st.just(name), st.fixed_dictionaries(
            {}, optional={arg: argument_strategy(schema) for arg, schema in props.items()}))

    return st.sampled_from(sorted(tools)).flatmap(for_tool)


def test_random_arguments_never_crash_or_escape(fuzz_project: Path, server_and_tools: Any) -> None:
    server, tools = server_and_tools
    assert len(tools) >= 10  # and the tools other modules register (tools_views, tools_diff)
    before = tree_outside_store(fuzz_project)
    seen: set[str] = set()

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(batch=st.lists(arguments_for(tools), min_size=1, max_size=4))
    def run(batch: list[tuple[str, dict[str, Any]]]) -> None:
        async def go() -> list[Any]:
            async with Client(server, mode="legacy") as client:
                return [await client.call_tool(name, args) for name, args in batch]

        for (name, args), result in zip(batch, anyio.run(go)):
            seen.add(name)
            if result.is_error:
                text = result.content[0].text
                assert "\n" not in text, (name, args, text)
                # A crash reads just "Error executing tool <name>"; an anticipated error says what was wrong.
                assert text.strip() != f"Error executing tool {name}", (name, args)
                assert len(text) > len(f"Error executing tool {name}: "), (name, args)

    run()
    assert seen == set(tools)  # every tool was exercised

    async def still_up() -> Any:
        async with Client(server, mode="auto") as client:
            return await client.call_tool("list_increments", {})

    assert not anyio.run(still_up).is_error
    assert tree_outside_store(fuzz_project) == before


def test_random_prompt_arguments_resource_uris_and_completions(fuzz_project: Path, server_and_tools: Any) -> None:
    from mcp import MCPError
    from mcp_types import PromptReference, ResourceTemplateReference

    server, _ = server_and_tools
    before = tree_outside_store(fuzz_project)
    prompts = ["list-experiments", "show-experiment", "compare-experiments", "export-experiments", "sync-docs",
               "review-experiments", "no-such-prompt"]
    templates = ["specweave://increments/{increment}/experiments/{experiment}",
                 "specweave://increments/{increment}/experiments", "specweave://increments/{increment}/comparison.md"]

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(prompt=st.sampled_from(prompts), args=st.dictionaries(st.sampled_from(
        ["increment", "experiment", "metric", "format", "where", "other"]), TEXT, max_size=3),
        template=st.sampled_from(templates), a=TEXT, b=TEXT)
    def run(prompt: str, args: dict[str, str], template: str, a: str, b: str) -> None:
        async def go() -> None:
            async with Client(server, mode="legacy") as client:
                try:
                    result = await client.get_prompt(prompt, args)
                    # Every placeholder was filled; braces an argument itself carries (a "{{ 7*7 }}"
                    # sent as text) are quoted as given and never evaluated or expanded again.
                    text = result.messages[0].content.text
                    for value in args.values():
                        text = text.replace(quoted_argument(value), "")
                    assert "{{" not in text
                    assert "49" not in result.messages[0].content.text or "49" in "".join(args.values())
                except MCPError as exc:
                    assert "\n" not in str(exc)
                uri = template.replace("{increment}", a).replace("{experiment}", b)
                try:
                    await client.read_resource(uri)
                except MCPError:
                    pass  # refused, with the server still up
                ref = PromptReference(name=prompt) if args else ResourceTemplateReference(uri=template)
                done = await client.complete(ref, {"name": next(iter(args), "increment"), "value": a})
                assert len(done.completion.values) <= 100

        anyio.run(go)

    run()
    assert tree_outside_store(fuzz_project) == before
