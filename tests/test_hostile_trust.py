"""What a cloned repository can and cannot make the tool do: each attack built in a real clone (git commit,
clone, pull), run through the Python API, the `sw-ml` CLI and the MCP server, and checked from outside:
the sha256 of every file of a sibling folder and of a HOME made for the test, before and after.

The README's "What a cloned repository can and cannot make this tool do" is the model these tests hold.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp_fixtures import INC, OTHER, make_project

from mcp_server.server import build_server
from tests.conftest import REPO, git, init_repo
from tests.test_hostile_clone import SECRET, snapshot

PY = sys.executable


def _env(home: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1", "HOME": str(home),
           "XDG_CONFIG_HOME": str(home / ".config")}
    for var in ("SPECWEAVE_ROOT", "CLAUDE_PROJECT_DIR", "SPECWEAVE_REMOTE"):
        env.pop(var, None)
    return env


def sw_in(clone: Path, home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run([PY, "-m", "specweave.cli", *args], cwd=clone, env=_env(home), capture_output=True,
                          text=True, timeout=180, check=False, input=stdin)
    assert "Traceback" not in done.stderr, (args, done.stderr)
    return done


def py_in(clone: Path, home: Path, code: str) -> subprocess.CompletedProcess:
    """The Python API in a fresh interpreter, as a training script runs it."""
    done = subprocess.run([PY, "-c", code], cwd=clone, env=_env(home), capture_output=True, text=True,
                          timeout=180, check=False)
    assert "Traceback" not in done.stderr or "SpecweaveError" in done.stderr or "DamagedFile" in done.stderr \
        or "UnsafePath" in done.stderr, done.stderr
    return done


def mcp_in(clone: Path, calls: list[tuple[str, dict[str, Any]]]) -> list[str]:
    async def go() -> list[str]:
        out = []
        async with Client(build_server(clone)) as client:
            for name, args in calls:
                result = await client.call_tool(name, args)
                out.append(json.dumps(result.structured_content) + "".join(getattr(c, "text", "")
                                                                            for c in result.content))
        return out

    return anyio.run(go)


def changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))


@pytest.fixture
def world(tmp_path: Path) -> dict[str, Path]:
    """An origin with experiments logged through the real tracker, a sibling folder, a HOME of its own."""
    home = tmp_path / "home"
    (home / ".config").mkdir(parents=True)
    (home / ".bashrc").write_text("# the victim's own file\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(f"{SECRET}\n")
    origin = init_repo(tmp_path / "origin")
    git(origin, "config", "receive.denyCurrentBranch", "ignore")
    make_project(origin)
    git(origin, "add", "-A")
    git(origin, "commit", "-qm", "experiments")
    return {"tmp": tmp_path, "home": home, "outside": outside, "origin": origin}


def commit_and_clone(world: dict[str, Path], message: str) -> Path:
    origin = world["origin"]
    git(origin, "add", "-A", "--force")
    git(origin, "commit", "-qm", message)
    clone = world["tmp"] / "clone"
    git(world["tmp"], "clone", "-q", str(origin), str(clone))
    git(clone, "config", "user.email", "victim@example.com")
    git(clone, "config", "user.name", "victim")
    return clone


def replace_with_link(path: Path, target: Path) -> None:
    import shutil

    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target, target_is_directory=target.is_dir())


# -- 1. the merge driver never decides for a path it is not registered for ---------------------------------
def test_a_hostile_gitattributes_cannot_make_the_merge_driver_drop_a_change(world: dict[str, Path]) -> None:
    origin, home = world["origin"], world["home"]
    (origin / "train.py").write_text("lr = 0.1\nepochs = 10\n\n\n\nbatch = 32\n")
    clone = commit_and_clone(world, "train.py")
    assert sw_in(clone, home, "init", "--no-skill").returncode == 0  # registers the driver in this clone
    # the attacker's commit: every .py file (and every metadata.yaml) "merged" by the derived-files driver
    (origin / ".gitattributes").write_text("*.py merge=specweave-derived\n**/metadata.yaml merge=specweave-derived\n")
    (origin / "eval.py").write_text("a = 1\nb = 2\n\n\n\nc = 3\n")
    git(origin, "add", "-A")
    git(origin, "commit", "-qm", "attributes")
    git(clone, "pull", "-q", "--no-rebase", "--no-edit", "origin", "main")
    # both sides change the same line of train.py, and different lines of eval.py
    (origin / "train.py").write_text("lr = 0.5\nepochs = 10\n\n\n\nbatch = 32\n")
    (origin / "eval.py").write_text("a = 100\nb = 2\n\n\n\nc = 3\n")
    git(origin, "commit", "-qam", "upstream")
    (clone / "train.py").write_text("lr = 0.01\nepochs = 10\n\n\n\nbatch = 32\n")
    (clone / "eval.py").write_text("a = 1\nb = 2\n\n\n\nc = 300\n")
    git(clone, "commit", "-qam", "mine")
    env = {**_env(home), "GIT_MERGE_AUTOEDIT": "no"}
    pulled = subprocess.run(["git", "pull", "--no-rebase", "--no-edit", "origin", "main"], cwd=clone, env=env,
                            capture_output=True, text=True, check=False)
    assert pulled.returncode != 0, pulled.stdout + pulled.stderr
    assert "CONFLICT" in pulled.stdout + pulled.stderr
    assert git(clone, "diff", "--name-only", "--diff-filter=U").split() == ["train.py"]
    text = (clone / "train.py").read_text()
    assert "<<<<<<<" in text and "lr = 0.5" in text and "lr = 0.01" in text
    # the change that does not conflict is merged as git merges it: both sides kept
    assert (clone / "eval.py").read_text() == "a = 100\nb = 2\n\n\n\nc = 300\n"


def test_the_merge_driver_is_git_merge_file_for_other_paths(tmp_path: Path) -> None:
    base, ours, theirs = (tmp_path / n for n in ("base", "ours", "theirs"))
    base.write_text("one\ntwo\n")
    ours.write_text("one\nmine\n")
    theirs.write_text("one\ntheirs\n")
    expected = subprocess.run(["git", "merge-file", "-p", "-L", "ours:src/a.py", "-L", "base:src/a.py", "-L",
                               "theirs:src/a.py", str(ours), str(base), str(theirs)], capture_output=True,
                              text=True, check=False).stdout
    done = subprocess.run([PY, "-m", "specweave.merge_driver", str(base), str(ours), str(theirs), "src/a.py"],
                          env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert ours.read_text() == expected and "<<<<<<< ours:src/a.py" in expected
