"""The MCP conformance suite (`@modelcontextprotocol/conformance`, from npm) against our real server over
streamable HTTP: every server scenario that applies to a server of our kind.

Left out, because they test the suite's own reference server (tools, resources and prompts with fixed names
such as `test_simple_text` or `test://template/{id}/data`): tools-call-*, resources-read-*,
resources-templates-read, resources-(un)subscribe, prompts-get-*, elicitation-*. `logging-set-level`
applies only where the server declares the logging capability. Installed into the npm test cache
(tests/npm_tools.py), never into the checkout or HOME.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import anyio
import pytest
from mcp import Client
from tests.fixtures import init_repo, sample_store
from tests.mcp_fixtures import http_server, server_env
from tests.npm_tools import npm_package

from mcp_server.server import build_server

CONFORMANCE_VERSION = "0.1.10"  # later releases need Node.js 22 (fs.globSync); Debian's Node.js is 20
TOKEN = "conformance-token-0123456789abcdefghij"
SCENARIOS = ["server-initialize", "ping", "tools-list", "resources-list", "prompts-list", "completion-complete",
             "server-sse-multiple-streams"]


@pytest.fixture(scope="module")
def suite() -> Path:
    return npm_package("@modelcontextprotocol/conformance", CONFORMANCE_VERSION) / "node_modules" / ".bin" / "conformance"


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = init_repo(tmp_path_factory.mktemp("conformance") / "project")
    sample_store(root, "project")
    return root


def _declares_logging(root: Path) -> bool:
    async def go() -> bool:
        async with Client(build_server(root)) as client:
            return client.server_capabilities.logging is not None

    return anyio.run(go)


def test_the_conformance_scenarios_that_apply_pass(suite: Path, root: Path, tmp_path: Path) -> None:
    scenarios = SCENARIOS + (["logging-set-level"] if _declares_logging(root) else [])
    with http_server(root, TOKEN) as url:
        for scenario in scenarios:
            # The suite sends no headers of its own: the token goes in the query, which the server also takes.
            done = subprocess.run([str(suite), "server", "--url", f"{url}?token={TOKEN}", "--scenario", scenario,
                                   "-o", str(tmp_path / scenario)], env=server_env(), capture_output=True, text=True,
                                  timeout=120, check=False)
            assert done.returncode == 0 and " 0 failed" in done.stdout, (scenario, done.stdout[-1500:], done.stderr[-500:])
