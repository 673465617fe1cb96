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


def sw_ml(run_py, cwd: Path, *args: str, check: bool = True, env: dict[str, str] | None = None):
    # this interpreter's scripts folder on PATH: `sw-ml` is found there, as in an activated virtualenv
    path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    return run_py(f"import sys; sys.argv[1:] = {list(args)!r}\n{INIT}", cwd, check=check, env={"PATH": path, **(env or {})})


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


def test_every_host_gets_its_own_config_merged_and_a_second_run_changes_nothing(project: Path, run_py) -> None:
    (project / ".vscode").mkdir()
    (project / ".vscode" / "mcp.json").write_text(json.dumps({"inputs": [], "servers": {"gh": {"type": "http",
                                                                                                "url": "x"}}}))
    (project / ".codex").mkdir()
    codex_before = '# my codex settings\nmodel = "o4"\n\n[mcp_servers.docs]\ncommand = "docs-mcp"\n'
    (project / ".codex" / "config.toml").write_text(codex_before)
    done = sw_ml(run_py, project, "init", "--host", "all", "--no-skill")
    assert "checked: `sw-ml serve` starts" in done.stdout
    ours = {"command": "sw-ml", "args": ["serve"]}
    assert json.loads((project / ".mcp.json").read_text())["mcpServers"]["ml"] == ours
    assert json.loads((project / ".cursor" / "mcp.json").read_text()) == {"mcpServers": {"ml": ours}}
    vscode = json.loads((project / ".vscode" / "mcp.json").read_text())
    assert vscode == {"inputs": [], "servers": {"gh": {"type": "http", "url": "x"}, "ml": {"type": "stdio", **ours}}}
    codex = (project / ".codex" / "config.toml").read_text()
    assert codex.startswith(codex_before)  # what the person wrote stays byte for byte
    import tomllib

    assert tomllib.loads(codex)["mcp_servers"] == {"docs": {"command": "docs-mcp"}, "ml": ours}
    before = snapshot(project)
    again = sw_ml(run_py, project, "init", "--host", "vscode", "--host", "codex", "--host", "cursor", "--no-skill")
    assert "created" not in again.stdout and "updated" not in again.stdout and snapshot(project) == before
    again = sw_ml(run_py, project, "init", "--host", "none", "--no-skill")
    assert "checked" not in again.stdout
    assert "created" not in again.stdout and "updated" not in again.stdout and snapshot(project) == before


def test_a_config_init_cannot_read_or_merge_is_refused_in_one_line(project: Path, run_py) -> None:
    (project / ".codex").mkdir()
    (project / ".codex" / "config.toml").write_text('mcp_servers = { other = { command = "x" } }\n')
    done = sw_ml(run_py, project, "init", "--host", "codex", "--no-check", check=False)
    assert done.returncode != 0 and len(done.stderr.strip().splitlines()) == 1
    assert ".codex/config.toml" in done.stderr and "by hand" in done.stderr
    assert (project / ".codex" / "config.toml").read_text() == 'mcp_servers = { other = { command = "x" } }\n'


def tree_digest(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_init_never_follows_a_link_a_clone_committed(tmp_path: Path, run_py) -> None:
    """.gitignore, .mcp.json, .claude/, .vscode/, .codex/config.toml and .specweave committed as links to
    the victim's files: init refuses each in one line, writes nothing outside, and copies nothing in."""
    from tests.fixtures import git, init_repo

    outside = tmp_path / "outside"
    (outside / "dotclaude").mkdir(parents=True)
    (outside / "secret.txt").write_text("password=hunter2\n")
    (outside / "mcp.json").write_text('{"mcpServers": {"registry": {"env": {"TOKEN": "s3cr3t"}}}}')
    (outside / "store").mkdir()
    cases = {".gitignore": outside / "secret.txt", ".mcp.json": outside / "mcp.json", ".claude": outside / "dotclaude",
             ".vscode": outside / "dotclaude", ".codex": outside / "dotclaude", ".specweave": outside / "store"}
    for name, target in cases.items():
        origin = init_repo(tmp_path / f"origin{name}")
        (origin / name).symlink_to(target)
        git(origin, "add", "-A")
        git(origin, "commit", "-qm", "links")
        clone = tmp_path / f"clone{name}"
        git(tmp_path, "clone", "-q", str(origin), str(clone))
        before = tree_digest(outside)
        tracked = tree_digest(clone)
        host = {".vscode": "vscode", ".codex": "codex"}.get(name, "claude")
        done = sw_ml(run_py, clone, "init", "--host", host, "--approve", "--no-check", check=False)
        assert done.returncode != 0, (name, done.stdout)
        assert len(done.stderr.strip().splitlines()) == 1 and "symbolic link" in done.stderr, (name, done.stderr)
        assert tree_digest(outside) == before, name
        assert sorted(tree_digest(clone)) == sorted(tracked), (name, "nothing half done")
        assert (clone / name).is_symlink(), name
        leaked = {k: v for k, v in tree_digest(clone).items() if k not in tracked and not k.startswith(".git/")}
        assert not any(b"hunter2" in v or b"s3cr3t" in v for v in leaked.values()), name


def test_approve_records_what_claude_code_records_and_only_for_the_entry_init_writes(project: Path, run_py) -> None:
    sw_ml(run_py, project, "init", "--approve", "--no-skill", "--no-check")
    settings = project / ".claude" / "settings.local.json"
    assert json.loads(settings.read_text()) == {"enabledMcpjsonServers": ["ml"]}
    assert "/.claude/settings.local.json" in (project / ".gitignore").read_text().splitlines()
    settings.write_text(json.dumps({"permissions": {"allow": ["Bash(ls)"]}, "disabledMcpjsonServers": ["ml", "x"]}))
    sw_ml(run_py, project, "init", "--approve", "--no-skill", "--no-check")
    assert json.loads(settings.read_text()) == {"permissions": {"allow": ["Bash(ls)"]},
                                                "disabledMcpjsonServers": ["x"], "enabledMcpjsonServers": ["ml"]}
    # An `ml` entry someone else wrote (a clone's) is neither run nor approved.
    settings.unlink()
    (project / ".mcp.json").write_text(json.dumps({"mcpServers": {"ml": {"command": "curl", "args": ["evil"]}}}))
    done = sw_ml(run_py, project, "init", "--approve", "--no-skill")
    assert "not approved" in done.stdout and not settings.exists()


def test_a_registered_command_that_does_not_start_is_said_with_the_fix(project: Path, run_py, tmp_path: Path) -> None:
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "sw-ml").write_text("#!/bin/sh\necho 'ModuleNotFoundError: No module named mcp' >&2\nexit 1\n")
    (fake / "sw-ml").chmod(0o755)
    done = run_py(f"import sys; sys.argv[1:] = ['init', '--no-skill']\n{INIT}", project, check=False,
                  env={"PATH": os.pathsep.join([str(fake), os.environ.get("PATH", "")])})
    assert done.returncode == 1
    problem = [line for line in done.stdout.splitlines() if line.startswith("problem:")]
    assert len(problem) == 1 and "No module named mcp" in problem[0] and "fix:" in problem[0]
    assert "--python" in problem[0]
