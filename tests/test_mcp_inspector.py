"""The MCP Inspector's CLI (`@modelcontextprotocol/inspector --cli`, from npm) against our real server over
stdio: it lists the tools and calls every one of them, and it sees unknown arguments and unknown tools
refused as the specification asks. The Inspector is what people reach for first to poke at a server, so
what it shows is what they judge the server by.

The Inspector is installed into the npm test cache (tests/npm_tools.py), never into the checkout or HOME.
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
from tests.fixtures import REPO, init_repo, sample_store
from tests.mcp_fixtures import listed_calls
from tests.npm_tools import npm_package

from mcp_server.server import build_server

INSPECTOR_VERSION = "0.17.5"  # the last release line whose CLI runs on Debian's Node.js 20


@pytest.fixture(scope="module")
def inspector() -> Path:
    return npm_package("@modelcontextprotocol/inspector", INSPECTOR_VERSION) / "node_modules" / ".bin" / "mcp-inspector"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    """A project with two increments of runs, and one call per listed tool that the Python client sees answered."""
    root = init_repo(tmp_path_factory.mktemp("inspector") / "project")
    sample_store(root, "project")

    async def go() -> list[dict[str, Any]]:
        async with Client(build_server(root)) as client:
            return await listed_calls(client, answered_only=True)

    return root, anyio.run(go)


def _inspect(inspector: Path, root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**{k: v for k, v in os.environ.items() if k not in ("SPECWEAVE_ROOT", "CLAUDE_PROJECT_DIR")},
           "PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1"}
    return subprocess.run([str(inspector), "--cli", sys.executable, "-m", "mcp_server", "--root", str(root), *args],
                          cwd=root, env=env, capture_output=True, text=True, timeout=120, check=False)


def _answer(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert done.returncode == 0, done.stderr[-1500:]
    return json.loads(done.stdout)


def test_inspector_lists_and_calls_every_tool(inspector: Path, store: tuple[Path, list[dict[str, Any]]]) -> None:
    root, calls = store
    listed = _answer(_inspect(inspector, root, "--method", "tools/list"))
    assert {t["name"] for t in listed["tools"]} == {c["name"] for c in calls}
    for call in calls:
        # Every value as JSON, so that the Inspector passes strings as strings ("0042" stays a string).
        pairs = [f"{k}={json.dumps(v)}" for k, v in call["arguments"].items()]
        answer = _answer(_inspect(inspector, root, "--method", "tools/call", "--tool-name", call["name"],
                                  *(["--tool-arg", *pairs] if pairs else [])))
        assert not answer.get("isError"), (call, answer["content"][:1])
        assert answer["content"][0]["type"] == "text" and answer["content"][0]["text"].strip()
        assert isinstance(answer.get("structuredContent"), dict), call


def test_inspector_sees_unknown_arguments_and_tools_refused(inspector: Path,
                                                            store: tuple[Path, list[dict[str, Any]]]) -> None:
    root, _ = store
    typo = _answer(_inspect(inspector, root, "--method", "tools/call", "--tool-name", "list_experiments",
                            "--tool-arg", 'limt=5'))
    assert typo["isError"] and "limit" in typo["content"][0]["text"]  # names the nearest valid argument
    unknown = _inspect(inspector, root, "--method", "tools/call", "--tool-name", "list_experimentz")
    assert unknown.returncode != 0 and "-32602" in unknown.stdout + unknown.stderr
