"""One real session over stdio: `python -m mcp_server` spawned as a subprocess, as clients run it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import anyio
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from tests.fixtures import INC, sample_store

REPO = Path(__file__).resolve().parent.parent


def test_stdio_session_from_the_project_directory(project: Path) -> None:
    sample_store(project, "project")
    # The root comes from CLAUDE_PROJECT_DIR, as Claude Code sets it; the process starts elsewhere.
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "mcp_server"], cwd=str(REPO),
        env={"PYTHONPATH": str(REPO), "CLAUDE_PROJECT_DIR": str(project), "SPECWEAVE_QUIET": "1"},
    )

    async def go() -> tuple:
        async with Client(params, mode="legacy") as client:
            tools = {t.name for t in (await client.list_tools()).tools}
            detail = await client.call_tool("show_experiment", {"experiment": "xgboost"})
            bad = await client.call_tool("list_experiments", {"limit": 0})
            prompts = (await client.list_prompts()).prompts
            after = await client.call_tool("list_increments", {})
            return tools, detail, bad, prompts, after

    tools, detail, bad, prompts, after = anyio.run(go)
    assert {"list_experiments", "show_experiment", "add_note"} <= tools
    assert not detail.is_error and detail.structured_content["metrics"]["auc"] == "NaN"
    assert bad.is_error and "limit" in bad.content[0].text
    assert len(prompts) == 6
    assert [r["id"] for r in after.structured_content["increments"]][0] == INC  # still up after an error


def test_stdio_read_only_and_bad_root(project: Path) -> None:
    sample_store(project, "project")
    env = {**os.environ, "PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1"}
    params = StdioServerParameters(command=sys.executable, args=["-m", "mcp_server", "--root", str(project),
                                                                 "--read-only"], env=env)

    async def go() -> set[str]:
        async with Client(params) as client:
            return {t.name for t in (await client.list_tools()).tools}

    tools = anyio.run(go)
    assert "show_experiment" in tools and "add_note" not in tools and "tag_experiment" not in tools
    done = subprocess.run([sys.executable, "-m", "mcp_server", "--root", str(project / "nope")], env=env,
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 2
    assert "--root" in done.stderr and "existing folder" in done.stderr


def test_start_up_imports_nothing_heavy(project: Path, run_py) -> None:
    code = """
import sys, anyio
from mcp import Client
from mcp_server.server import build_server

HEAVY = ("pandas", "jinja2", "numpy", "sklearn", "matplotlib", "mlflow", "wandb")
server = build_server(%r)
assert not [m for m in HEAVY + ("skill.analysis.compare", "skill.analysis.export", "skill.analysis.living_docs") if m in sys.modules], sys.modules

async def go():
    async with Client(server, mode="legacy") as client:
        return [t.name for t in (await client.list_tools()).tools]

names = anyio.run(go)
assert len(names) >= 10 and "compare_experiments" in names, names
assert not [m for m in HEAVY if m in sys.modules]  # registering every tool still loads none of them
print("ok")
""" % str(project)
    assert run_py(code, project).stdout.strip() == "ok"


def test_serving_a_folder_without_a_store_says_so_on_stderr(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1"}
    done = subprocess.run([sys.executable, "-m", "mcp_server", "--root", str(tmp_path)], env=env,
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 0 and done.stdout == ""  # stdout is the protocol: nothing else goes there
    assert "no .specweave/" in done.stderr and "--root" in done.stderr
    assert not (tmp_path / ".specweave").exists()
