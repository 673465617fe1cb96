"""The official TypeScript MCP client against our real server, over stdio and streamable HTTP.

`@modelcontextprotocol/sdk` (from npm) validates every tool's structuredContent against the tool's
outputSchema with Ajv and formats, and throws `Structured content does not match the tool's output
schema` when they disagree: what Claude Desktop, Inspector and most hosts do. Every listed tool is
called (tests/mcp_fixtures.tool_calls) on the hostile store, and none may throw.

The SDK is installed with npm into the test cache (tests/npm_tools.py), never into the checkout or the
real HOME; without node/npm the test is skipped.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from tests.fixtures import HOSTILE, init_repo, sample_store
from tests.mcp_fixtures import http_server, listed_calls, server_env
from tests.npm_tools import npm_package

from mcp_server.server import build_server

TS_SDK_VERSION = "1.32.2"
SCRIPT = Path(__file__).parent / "ts_client" / "client.mjs"
TOKEN = "ts-client-token-0123456789abcdefghij"


@pytest.fixture(scope="module")
def ts_client(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder outside the checkout whose node_modules holds the SDK, with client.mjs copied in."""
    where = npm_package("@modelcontextprotocol/sdk", TS_SDK_VERSION, module=True)
    run_dir = tmp_path_factory.mktemp("ts-client")
    (run_dir / "node_modules").symlink_to(where / "node_modules")
    (run_dir / "package.json").write_text('{"type": "module"}')
    shutil.copy(SCRIPT, run_dir / "client.mjs")
    return run_dir


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    """The hostile store and every call to make, generated from tools/list with its references."""
    root = init_repo(tmp_path_factory.mktemp("ts-store") / "project")
    sample_store(root, "hostile")

    async def go() -> list[dict[str, Any]]:
        async with Client(build_server(root)) as client:
            return await listed_calls(client)

    return root, anyio.run(go)


def _node(run_dir: Path, calls: list[dict[str, Any]], *argv: str, env: dict[str, str]) -> dict[str, Any]:
    (run_dir / "calls.json").write_text(json.dumps(calls))
    done = subprocess.run(["node", "client.mjs", argv[0], "calls.json", *argv[1:]], cwd=run_dir, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def _check(answer: dict[str, Any], calls: list[dict[str, Any]]) -> None:
    thrown = [(r["name"], r["arguments"], r["thrown"]) for r in answer["results"] if "thrown" in r]
    assert not thrown, thrown[:5]  # e.g. "Structured content does not match the tool's output schema"
    answered = {r["name"] for r in answer["results"] if not r["isError"]}
    assert answered == set(answer["tools"]) == {c["name"] for c in calls}
    ok = [r for r in answer["results"] if not r["isError"]]
    assert all(r["structured"] and r["text"] and not r["text"].startswith("{\n") for r in ok)
    shown = [r for r in ok if r["name"] == "show_experiment" and r["arguments"]["experiment"].startswith("0044/")]
    assert shown and all(r["links"] for r in shown)


def test_typescript_client_over_stdio_accepts_every_answer(ts_client: Path,
                                                          store: tuple[Path, list[dict[str, Any]]]) -> None:
    root, calls = store
    answer = _node(ts_client, calls, "stdio", sys.executable, "-m", "mcp_server", "--root", str(root), env=server_env())
    _check(answer, calls)
    assert any(r["name"] == "list_experiments" and HOSTILE in r["text"] for r in answer["results"])


def test_typescript_client_over_streamable_http_accepts_every_answer(ts_client: Path,
                                                                    store: tuple[Path, list[dict[str, Any]]]) -> None:
    root, calls = store
    with http_server(root, TOKEN) as url:
        answer = _node(ts_client, calls, "http", url, env={**server_env(), "MCP_TOKEN": TOKEN})
    _check(answer, calls)


def test_typescript_client_sees_unknown_tools_as_invalid_params_and_typos_refused(
        ts_client: Path, store: tuple[Path, list[dict[str, Any]]]) -> None:
    root, _ = store
    calls = [{"name": "show_experimnet", "arguments": {"experiment": "exp-001"}},
             {"name": "list_experiments", "arguments": {"limt": 5}}]
    answer = _node(ts_client, calls, "stdio", sys.executable, "-m", "mcp_server", "--root", str(root), env=server_env())
    unknown, typo = answer["results"]
    assert "-32602" in unknown["thrown"] and "did you mean 'show_experiment'" in unknown["thrown"]
    assert typo["isError"] and "did you mean 'limit'" in typo["text"] and "\n" not in typo["text"]
