"""The protocol's loose ends, through the official python client and on the raw stdio wire: the size of
tools/list, unknown tools and arguments, read-only refusals said, MIME types, invalid-params errors."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from tests.fixtures import INC, REPO, sample_store

from mcp_server.server import build_server
from skill.tracking.track import track_experiment

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
WIRE_BUDGET = 12_288


@pytest.fixture
def store(project: Path) -> Path:
    sample_store(project, "project")
    with track_experiment("plots", increment=INC, root=project) as exp:
        exp.save_artifact("curves/loss.png", PNG)
        exp.save_artifact("report.md", "# report\n")
        exp.save_model({"weights": [1, 2, 3]}, "model.pkl")
    return project


def run(root: Path, body: Any, read_only: bool = False) -> Any:
    async def go() -> Any:
        async with Client(build_server(root, read_only=read_only)) as client:
            return await body(client)

    return anyio.run(go)


def error_text(result: Any) -> str:
    assert result.is_error, result.structured_content
    [block] = result.content
    assert "\n" not in block.text
    return block.text


def test_tools_list_fits_the_budget_on_the_wire(store: Path) -> None:
    """The JSON-RPC answer to tools/list, as the stdio transport writes it, byte for byte."""
    lines = [{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}]
    from skill.host_config import exchange

    env = {**os.environ, "PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1"}
    found, _, _, answer = exchange([sys.executable, "-m", "mcp_server", "--root", str(store)], lines, 2, cwd=store, env=env,
                           timeout=120)
    assert found is not None
    tools = found["result"]["tools"]
    assert len(tools) == 12 and {"show_experiment", "log_decision", "view_experiments"} <= {t["name"] for t in tools}
    print(f"\ntools/list on the wire: {len(answer)} bytes for {len(tools)} tools")
    assert len(answer) <= WIRE_BUDGET


def test_unknown_tools_and_arguments_are_refused_in_one_line_naming_the_nearest(store: Path) -> None:
    async def body(client: Client) -> Any:
        with pytest.raises(MCPError) as caught:
            await client.call_tool("show_experimnet", {"experiment": "exp-001"})
        typo = await client.call_tool("show_experiment", {"experiment": "exp-001", "pakages": True})
        bogus = await client.call_tool("list_experiments", {"bogus": 1})
        fine = await client.call_tool("show_experiment", {"experiment": "exp-001", "packages": True})
        return caught.value, typo, bogus, fine

    unknown_tool, typo, bogus, fine = run(store, body)
    assert unknown_tool.code == -32602 and "did you mean 'show_experiment'" in str(unknown_tool)
    assert "unknown argument 'pakages'" in error_text(typo) and "did you mean 'packages'" in error_text(typo)
    assert "'bogus'" in error_text(bogus) and "increment" in error_text(bogus)
    assert not fine.is_error


def test_a_read_only_server_says_what_it_will_not_write(store: Path) -> None:
    async def body(client: Client) -> Any:
        return (await client.call_tool("export_experiments", {"increment": INC, "path": "x.csv"}),
                await client.call_tool("compare_experiments", {"increment": INC, "write_report": True}),
                await client.call_tool("compare_experiments", {"increment": INC, "write_report": False}),
                await client.call_tool("export_experiments", {"increment": INC}))

    export, compare, quiet, inline = run(store, body, read_only=True)
    assert "read-only" in error_text(export) and "`text`" in error_text(export)
    assert "read-only" in error_text(compare) and "write_report" in error_text(compare)
    assert not quiet.is_error and quiet.structured_content["report_path"] is None  # asked not to write: fine
    assert not inline.is_error and inline.structured_content["text"]
    assert not (store / ".specweave" / "exports").exists()
    assert not list((store / ".specweave").rglob("comparison.md"))


def test_artifacts_are_served_with_the_type_their_name_says_and_models_refused_as_invalid_params(store: Path) -> None:
    base = f"specweave://increments/{INC}/experiments/exp-005-plots/artifacts"

    async def body(client: Client) -> Any:
        png = await client.read_resource(f"{base}/curves/loss.png")
        md = await client.read_resource(f"{base}/report.md")
        with pytest.raises(MCPError) as caught:
            await client.read_resource(f"{base}/model.pkl")
        return png.contents[0], md.contents[0], caught.value

    png, md, refused = run(store, body)
    assert png.mime_type == "image/png" and md.mime_type == "text/markdown"
    assert refused.code == -32602 and "model" in str(refused) and "\n" not in str(refused)


@pytest.mark.slow
def test_one_default_page_size_everywhere(project: Path) -> None:
    from skill.analysis.paging import DEFAULT_LIMIT

    for i in range(DEFAULT_LIMIT + 5):
        with track_experiment(f"run-{i}", increment=INC, root=project) as exp:
            exp.log_params({"i": i})
            exp.log_metric("auc", i / 100)

    async def body(client: Client) -> Any:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        page = await client.call_tool("list_experiments", {"increment": INC})
        bad = await client.call_tool("list_experiments", {"increment": INC, "limit": 0})
        return tools["list_experiments"].description, page.structured_content, error_text(bad)

    description, page, bad = run(project, body)
    said = f"default {DEFAULT_LIMIT}"
    assert len(page["experiments"]) == DEFAULT_LIMIT and page["next_cursor"]
    assert said in description and "at most 500" in bad and "default" not in bad  # no other default said
    for doc in ("README.md", "SKILL.md"):
        text = (REPO / doc).read_text()
        assert f"`limit` ({said}" in text or f"`limit` {said}" in text, doc
    assert f"({DEFAULT_LIMIT} by default" in (REPO / "prompts" / "list-experiments.md").read_text()


def test_diff_experiments_text_is_the_compact_text_sw_ml_diff_prints(store: Path) -> None:
    from skill.project import Project

    async def body(client: Client) -> Any:
        return await client.call_tool("diff_experiments", {"a": "exp-002", "b": "exp-003", "increment": INC})

    result = run(store, body)
    text = result.content[0].text
    assert not result.is_error and not text.lstrip().startswith("{")
    assert text == Project.diff_text(Project(store).diff("exp-002", "exp-003", INC, max_code_bytes=8000))
    assert "params:" in text and "max_depth" in text and result.structured_content["params"]["changed"]
