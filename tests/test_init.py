"""`sw-ml init`: skeleton, .mcp.json merged never clobbered, the skill, .gitignore; idempotent."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import anyio
from mcp import Client
from mcp.client.stdio import StdioServerParameters

REPO = Path(__file__).resolve().parent.parent
INIT = "import sys; from specweave.cli import main; sys.exit(main(sys.argv[1:]))"


def sw_ml(run_py, cwd: Path, *args: str, check: bool = True):
    return run_py(f"import sys; sys.argv[1:] = {list(args)!r}\n{INIT}", cwd, check=check)


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".git" not in p.relative_to(root).parts}


def test_init_makes_a_fresh_repository_ready_and_is_idempotent(project: Path, run_py) -> None:
    done = sw_ml(run_py, project, "init")
    assert "created   .mcp.json" in done.stdout
    assert (project / ".specweave" / "increments").is_dir()
    assert json.loads((project / ".mcp.json").read_text()) == {
        "mcpServers": {"ml": {"command": "sw-ml", "args": ["serve"]}}}
    skill = project / ".claude" / "skills" / "experiment-tracker" / "SKILL.md"
    assert skill.read_text() == (REPO / "SKILL.md").read_text()
    assert ".specweave/cache/" in (project / ".gitignore").read_text().splitlines()
    before = snapshot(project)
    again = sw_ml(run_py, project, "init")
    assert "created" not in again.stdout and "updated" not in again.stdout
    assert snapshot(project) == before


def test_init_merges_into_existing_files_without_clobbering(project: Path, run_py) -> None:
    theirs = {"mcpServers": {"github": {"command": "gh-mcp", "env": {"X": "1"}}}, "other": [1, 2]}
    (project / ".mcp.json").write_text(json.dumps(theirs))
    (project / ".gitignore").write_text("node_modules/\n*.pyc")  # no trailing newline
    sw_ml(run_py, project, "init")
    merged = json.loads((project / ".mcp.json").read_text())
    assert merged["mcpServers"]["github"] == theirs["mcpServers"]["github"] and merged["other"] == [1, 2]
    assert merged["mcpServers"]["ml"] == {"command": "sw-ml", "args": ["serve"]}
    assert (project / ".gitignore").read_text() == "node_modules/\n*.pyc\n.specweave/cache/\n"

    custom = {"mcpServers": {"ml": {"command": "/opt/bin/sw-ml", "args": ["serve", "--read-only"]}}}
    (project / ".mcp.json").write_text(json.dumps(custom))
    done = sw_ml(run_py, project, "init")
    assert json.loads((project / ".mcp.json").read_text()) == custom  # a person's own `ml` entry stays
    assert "kept the existing 'ml' server" in done.stdout


def test_init_refuses_to_rewrite_a_broken_mcp_json(project: Path, run_py) -> None:
    (project / ".mcp.json").write_text('{"mcpServers": {')
    done = sw_ml(run_py, project, "init", check=False)
    assert done.returncode != 0
    assert ".mcp.json" in done.stderr and "by hand" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert (project / ".mcp.json").read_text() == '{"mcpServers": {'


def test_the_registered_server_starts_from_the_written_config(project: Path, run_py) -> None:
    sw_ml(run_py, project, "init", "--python", "--no-skill")
    entry = json.loads((project / ".mcp.json").read_text())["mcpServers"]["ml"]
    assert entry == {"command": sys.executable, "args": ["-m", "mcp_server"]}
    assert not (project / ".claude").exists()
    # As Claude Code launches it: the project as working directory and CLAUDE_PROJECT_DIR.
    params = StdioServerParameters(command=entry["command"], args=entry["args"], cwd=str(project),
                                   env={**os.environ, "PYTHONPATH": str(REPO), "CLAUDE_PROJECT_DIR": str(project)})

    async def go() -> list[str]:
        async with Client(params, mode="legacy") as client:
            result = await client.call_tool("list_increments", {})
            return result.structured_content["increments"]

    assert anyio.run(go) == []
