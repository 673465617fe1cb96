"""The Claude Code plugin `ml`: generated from prompts/ and SKILL.md, started by its launcher from the
project's own virtualenv, and accepted by the real Claude Code CLI (validate, marketplace add, install,
details, mcp list)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from tests.fixtures import REPO, git, init_repo
from tests.claude_cli import claude_env, install_claude, run_claude, trust_folder

from mcp_server import plugin

LAUNCHER = REPO / plugin.LAUNCHER
COMMANDS = {"list-experiments", "compare-experiments", "show-experiment", "export-experiments", "review-experiments",
            "sync-docs"}
READ_TOOLS = {"list_increments", "list_experiments", "show_experiment", "get_metric_history", "diff_experiments"}
INITIALIZE = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}) + "\n"


def test_the_plugin_files_are_what_the_sources_generate(tmp_path: Path) -> None:
    assert plugin.drifted() == [], "run `python -m mcp_server.plugin` and commit the result"
    # ... and the check can fail: a copy whose prompt changed, and a stray file, are both named.
    copy = tmp_path / "repo"
    for name in ("prompts", "plugins", ".claude-plugin"):
        shutil.copytree(REPO / name, copy / name)
    for name in ("SKILL.md", "pyproject.toml"):
        shutil.copy(REPO / name, copy / name)
    prompt = copy / "prompts" / "sync-docs.md"
    prompt.write_text(prompt.read_text().replace("Update the living docs for", "Refresh the living docs for"))
    (copy / "plugins" / "ml" / "commands" / "stray.md").write_text("---\ndescription: x\n---\nx\n")
    assert plugin.drifted(copy) == ["plugins/ml/commands/stray.md", "plugins/ml/commands/sync-docs.md"]
    assert sorted(plugin.write(copy)) == ["plugins/ml/commands/stray.md", "plugins/ml/commands/sync-docs.md"]
    assert plugin.drifted(copy) == []


def test_commands_and_agent_carry_the_prompt_texts() -> None:
    files = plugin.render()
    for name in COMMANDS:
        text = files[f"plugins/ml/commands/{name}.md"]
        assert "{{" not in text and "$ARGUMENTS" in text, name
    agent = files["plugins/ml/agents/ml-engineer.md"]
    front = agent.split("---\n")[1]
    tools = {t.strip().removeprefix("mcp__plugin_ml_ml__") for t in re.search(r"tools: (.*)", front).group(1).split(",")}
    assert tools == READ_TOOLS | {"compare_experiments", "log_decision"}  # no note, tag, docs or export writes
    assert "**Over-fitting**" in agent and "only after the user says yes" in agent and "{{" not in agent
    assert files["plugins/ml/skills/experiment-tracker/SKILL.md"] == (REPO / "SKILL.md").read_text()


# -- the launcher ---------------------------------------------------------------------------------------


def make_venv(where: Path) -> Path:
    """A real virtualenv (not activated) that imports this checkout and the shared venv's libraries."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True, timeout=120)
    python = where / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                             capture_output=True, text=True, check=True).stdout.strip()
    Path(purelib, "specweave_test.pth").write_text(f"{REPO}\n{sysconfig.get_path('purelib')}\n")
    return python


def bare_env(home: Path, **extra: str) -> dict[str, str]:
    """PATH without the interpreter running the tests (so no `sw-ml`), no virtualenv active."""
    scripts = os.path.dirname(sys.executable)
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p != scripts)
    return {**claude_env(home), "PATH": path, **extra}


def launch(project: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", str(LAUNCHER)], cwd=project, input=INITIALIZE, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def answered_as_ml(done: subprocess.CompletedProcess[str]) -> bool:
    return any('"serverInfo"' in line and json.loads(line)["result"]["serverInfo"]["name"] == "ml"
               for line in done.stdout.splitlines() if line.startswith("{"))


@pytest.mark.slow
def test_the_launcher_runs_the_projects_own_virtualenv_and_nothing_a_clone_commits(tmp_path: Path) -> None:
    project = init_repo(tmp_path / "project")
    home = tmp_path / "home"
    home.mkdir()
    (project / "src").mkdir()
    env = bare_env(home, CLAUDE_PROJECT_DIR=str(project / "src"))  # found walking up from a subfolder

    missing = launch(project, env)
    assert missing.returncode == 1 and not missing.stdout
    assert len(missing.stderr.strip().splitlines()) == 1 and "pip install specweave-ml" in missing.stderr

    make_venv(project / ".venv")
    assert answered_as_ml(launch(project, env))

    # A virtualenv git tracks is a clone's: its interpreter is skipped, said on stderr.
    git(project, "add", "-f", ".venv/pyvenv.cfg")
    skipped = launch(project, env)
    assert skipped.returncode == 1 and "git tracks it" in skipped.stderr and not answered_as_ml(skipped)
    git(project, "rm", "-q", "--cached", ".venv/pyvenv.cfg")

    wrong = launch(project, {**env, "SPECWEAVE_PYTHON": "/bin/false"})
    assert wrong.returncode == 1 and "SPECWEAVE_PYTHON" in wrong.stderr


# -- the real host ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def claude() -> Path:
    return install_claude()


def local_marketplace(tmp_path: Path) -> Path:
    """A copy of what the repository publishes: the marketplace manifest and the plugin folder."""
    copy = tmp_path / "marketplace"
    shutil.copytree(REPO / ".claude-plugin", copy / ".claude-plugin")
    shutil.copytree(REPO / "plugins", copy / "plugins")
    shutil.copy(REPO / "README.md", copy / "README.md")
    return copy


@pytest.mark.slow
def test_claude_validates_installs_and_lists_every_part_of_the_plugin(claude: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    market = local_marketplace(tmp_path)
    for target in (market, market / "plugins" / "ml"):
        done = run_claude(claude, "plugin", "validate", str(target), home=home, cwd=tmp_path)
        assert done.returncode == 0 and "Validation passed" in done.stdout, done.stdout + done.stderr
        assert "error" not in done.stdout.lower() and "✘" not in done.stdout, done.stdout
    assert run_claude(claude, "plugin", "marketplace", "add", str(market), home=home, cwd=tmp_path).returncode == 0
    installed = run_claude(claude, "plugin", "install", f"ml@{plugin.MARKETPLACE}", home=home, cwd=tmp_path)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    details = run_claude(claude, "plugin", "details", "ml", home=home, cwd=tmp_path)
    assert details.returncode == 0, details.stderr
    inventory = details.stdout
    skills = re.search(r"Skills \(\d+\)\s+(.*)", inventory).group(1)
    assert {s.strip() for s in skills.split(",")} == COMMANDS | {"experiment-tracker"}
    assert re.search(r"Agents \(1\)\s+ml-engineer", inventory)
    assert re.search(r"MCP servers \(1\)\s+ml\b", inventory)
    cost = re.search(r"Always-on:\s+~?([\d.,k]+) tok", inventory).group(1)
    print(f"\nclaude plugin details ml: always-on ~{cost} tokens")  # the figure the README quotes


@pytest.mark.slow
def test_init_approve_in_an_unactivated_venv_makes_claude_connect(claude: Path, tmp_path: Path) -> None:
    """A fresh project, its .venv never activated: `sw-ml init --host claude --approve` run with the
    venv's python registers a command the host can start; `claude mcp list` shows it connected, and so
    is the installed plugin's server, whose launcher finds the same venv."""
    home = tmp_path / "home"
    home.mkdir()
    project = init_repo(tmp_path / "project")
    python = make_venv(project / ".venv")
    env = bare_env(home)
    done = subprocess.run([str(python), "-m", "specweave.cli", "init", "--host", "claude", "--approve"], cwd=project,
                          env=env, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "checked:" in done.stdout and "sw-ml is not on PATH" in done.stdout
    entry = json.loads((project / ".mcp.json").read_text())["mcpServers"]["ml"]
    assert entry == {"command": str(python), "args": ["-m", "mcp_server"]}
    settings = json.loads((project / ".claude" / "settings.local.json").read_text())
    assert settings["enabledMcpjsonServers"] == ["ml"]

    market = local_marketplace(tmp_path)
    assert run_claude(claude, "plugin", "marketplace", "add", str(market), home=home, cwd=tmp_path).returncode == 0
    assert run_claude(claude, "plugin", "install", f"ml@{plugin.MARKETPLACE}", home=home, cwd=tmp_path).returncode == 0
    trust_folder(home, project)  # the person accepted the folder's trust dialog on their first `claude` there
    listed = run_claude(claude, "mcp", "list", home=home, cwd=project, env=env)
    assert re.search(r"^ml: .*Connected", listed.stdout, re.M), listed.stdout + listed.stderr
    assert re.search(r"^plugin:ml:ml: .*Connected", listed.stdout, re.M), listed.stdout
    assert git(project, "status", "--porcelain", "--", ".claude/settings.local.json") == ""  # ignored, personal
