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


# -- 4. no link anywhere on the path, no file shared by hard links -----------------------------------------
def _exp(root: Path, inc: str, number: int) -> Path:
    return next((root / ".specweave/increments" / inc / "experiments").glob(f"exp-{number:03d}-*"))


NEW_RUN = ("from specweave import track_experiment\n"
           "from skill.errors import SpecweaveError\n"
           "try:\n"
           "    with track_experiment('intruded', increment={inc!r}) as exp:\n"
           "        exp.log_metric('accuracy', 0.9)\n"
           "    print('WROTE', exp.path)\n"
           "except SpecweaveError as exc:\n"
           "    print('REFUSED', exc)\n")

WRITES = [["list-experiments", INC], ["add-note", "exp-003", "a note", "--increment", INC],
          ["compare-experiments", INC], ["log-decision", "exp-002", "--rationale", "best", "--increment", INC],
          ["sync-docs"], ["tag", "exp-002", "checked", "--increment", INC]]
MCP_WRITES = [("list_experiments", {"increment": INC}),
              ("add_note", {"experiment": "exp-003", "text": "n", "increment": INC}),
              ("compare_experiments", {"increment": INC}),
              ("log_decision", {"experiment": "exp-004", "rationale": "r", "increment": INC}),
              ("sync_living_docs", {})]


def every_face(clone: Path, home: Path, inc: str = INC) -> list[str]:
    answers = [(done := sw_in(clone, home, *args)).stdout + done.stderr for args in WRITES]
    answers.append(py_in(clone, home, NEW_RUN.format(inc=inc)).stdout)
    try:
        answers += mcp_in(clone, MCP_WRITES)
    except Exception as exc:  # a server that refuses the store at start is fine; a leak is not
        answers.append(str(exc))
    return answers


@pytest.mark.parametrize("linked", ["cache", "cache/locks", "cache/claims", "cache/tmp", "cache/index"])
def test_a_linked_cache_folder_is_never_written_through(world: dict[str, Path], linked: str) -> None:
    origin, outside = world["origin"], world["outside"]
    target = outside / "target"
    (target / "locks").mkdir(parents=True)
    (target / "kept.txt").write_text("theirs\n")
    store = origin / ".specweave"
    (store / "cache").mkdir(exist_ok=True)
    (store / "cache" / "keep").write_text("x")  # so git carries the folder when a part below it is the link
    replace_with_link(store / linked, target)
    clone = commit_and_clone(world, f"{linked} as a link")
    assert (clone / ".specweave" / linked).is_symlink()
    before = snapshot(world["tmp"], clone)
    answers = every_face(clone, world["home"])
    assert changed(before, snapshot(world["tmp"], clone)) == []
    assert any("exp-004" in a for a in answers)  # reads still answer
    if linked != "cache/index":  # the read cache is only an optimisation: skipped without a word
        assert any("symbolic link" in a for a in answers)  # writes say why they refused


def test_a_linked_lock_file_creates_nothing(world: dict[str, Path]) -> None:
    from skill.storage.locks import lock_path

    origin, outside = world["origin"], world["outside"]
    meta = _exp(origin, INC, 3) / "metadata.yaml"
    lock = lock_path(meta)
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.unlink(missing_ok=True)
    lock.symlink_to(outside / "planted-by-a-lock")  # dangling: O_CREAT through it would make the file
    clone = commit_and_clone(world, "a linked lock")
    before = snapshot(world["tmp"], clone)
    done = sw_in(clone, world["home"], "add-note", "exp-003", "a note", "--increment", INC)
    assert done.returncode != 0 and "symbolic link" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (outside / "planted-by-a-lock").exists()
    assert changed(before, snapshot(world["tmp"], clone)) == []


def test_a_linked_experiments_folder_takes_no_new_run(world: dict[str, Path]) -> None:
    origin, outside = world["origin"], world["outside"]
    (outside / "runs").mkdir()
    inc = origin / ".specweave/increments/0045-linked"
    inc.mkdir()
    (inc / "spec.md").write_text("# linked\n")
    (inc / "experiments").symlink_to(outside / "runs", target_is_directory=True)
    clone = commit_and_clone(world, "linked experiments")
    before = snapshot(world["tmp"], clone)
    done = py_in(clone, world["home"], NEW_RUN.format(inc="0045-linked"))
    assert done.stdout.startswith("REFUSED") and "symbolic link" in done.stdout, done.stdout + done.stderr
    assert list((outside / "runs").iterdir()) == []
    assert changed(before, snapshot(world["tmp"], clone)) == []


def test_a_linked_store_is_neither_read_nor_written(world: dict[str, Path]) -> None:
    from skill.tracking.tracking import track_experiment

    other = init_repo(world["outside"] / "other-project")
    with track_experiment("their-secret", increment=INC, root=other) as exp:
        exp.log_param("key", SECRET)
        exp.log_note(SECRET)
    origin = world["origin"]
    replace_with_link(origin / ".specweave", other / ".specweave")
    clone = commit_and_clone(world, ".specweave as a link")
    assert (clone / ".specweave").is_symlink()
    home = world["home"]
    before = snapshot(world["tmp"], clone)
    answers = every_face(clone, home)
    for args in (["show-experiment", "exp-001", "--increment", INC], ["export-experiments", INC, "--format", "json"],
                 ["list-increments"]):
        done = sw_in(clone, home, *args)
        assert done.returncode != 0 and len(done.stderr.strip().splitlines()) == 1, done.stderr
        answers.append(done.stdout + done.stderr)
    assert changed(before, snapshot(world["tmp"], clone)) == []
    assert not [a for a in answers if SECRET in a]
    assert all("symbolic link" in a or "REFUSED" in a for a in answers), answers


def test_hard_linked_files_are_neither_appended_to_nor_shown(world: dict[str, Path]) -> None:
    clone = commit_and_clone(world, "clean")
    outside, home = world["outside"], world["home"]
    # a hard link cannot travel by git; an unpacked archive or a copy with `cp -l` makes one
    decisions = clone / ".specweave/increments" / INC / "experiments" / "decisions.jsonl"
    os.link(outside / "secret.txt", decisions)
    (outside / "params.json").write_text(json.dumps({"leak": SECRET}))
    params = _exp(clone, INC, 1) / "params.json"
    params.unlink()
    os.link(outside / "params.json", params)
    before = snapshot(world["tmp"], clone)
    done = sw_in(clone, home, "log-decision", "exp-002", "--rationale", "best", "--increment", INC)
    assert done.returncode != 0 and "hard link" in done.stderr, done.stdout + done.stderr
    shown = sw_in(clone, home, "show-experiment", "exp-001", "--increment", INC)
    answers = [shown.stdout + shown.stderr, *mcp_in(clone, [("show_experiment", {"experiment": "exp-001",
                                                                                   "increment": INC})])]
    assert not [a for a in answers if SECRET in a]
    assert "hard link" in answers[0]
    assert changed(before, snapshot(world["tmp"], clone)) == []
