"""Empty and edge cases answered in one line, with nothing created: a folder with no store, a
repository with no commit, a script outside the repository."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.fixtures import REPO, git, init_repo, sw


def tree(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


def test_report_and_sync_docs_in_a_folder_with_no_store_create_nothing(tmp_path: Path) -> None:
    done = sw("report", cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "nothing was written" in done.stderr
    assert tree(tmp_path) == []
    done = sw("sync-docs", "update", cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and tree(tmp_path) == []
    (tmp_path / ".specweave").mkdir()  # a store with no increment yet
    done = sw("sync-docs", "update", cwd=tmp_path)
    assert done.returncode == 0 and "nothing to document" in done.stdout and done.stdout.count("\n") == 1
    assert "updated ()" not in done.stdout and tree(tmp_path) == [".specweave"]
    done = sw("report", cwd=tmp_path)
    assert done.returncode == 2 and tree(tmp_path) == [".specweave"]


def run_script(script: Path, cwd: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1", "HOME": str(cwd.parent / "home")}
    subprocess.run([sys.executable, str(script)], cwd=cwd, env=env, check=True, capture_output=True, timeout=120)


TRAIN = "from specweave import track_experiment\nwith track_experiment('a') as e:\n    e.log_metric('m', 1)\n"


def test_a_repository_with_no_commit_says_its_code_is_not_recorded(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "train.py").write_text(TRAIN)
    run_script(Path("train.py"), repo)
    shown = sw("show-experiment", "exp-001", cwd=repo)
    assert shown.returncode == 0 and "no uncommitted changes" not in shown.stdout
    assert "no commit recorded" in shown.stdout
    done = sw("reproduce", "exp-001", "--dry-run", cwd=repo)
    assert done.returncode != 0 and done.stderr.count("\n") == 1 and "no commit yet" in done.stderr


def test_reproduce_says_a_script_outside_the_repository_is_not_recorded(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "train.py").write_text(TRAIN.replace("track_experiment('a')", "track_experiment('a', root='.')"))
    run_script(Path("../outside/train.py"), repo)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "run")
    done = sw("reproduce", "exp-001", "--dry-run", cwd=repo)
    # Refused (a clone's recorded path must not run outside the worktree), and the one line says why the
    # code cannot come back: it is in neither git nor the patch.
    assert done.returncode == 7 and done.stderr.count("\n") == 1, done.stderr
    assert "leads outside the repository: its code is in neither the commit nor the patch" in done.stderr
