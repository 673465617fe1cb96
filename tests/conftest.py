"""Shared fixtures: every test gets its own project folder and a clean environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout


def init_repo(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.email", "dev@example.com")
    git(path, "config", "user.name", "Dev")
    git(path, "config", "commit.gpgsign", "false")
    (path / "train.py").write_text("print('train')\n")
    git(path, "add", "-A")
    git(path, "commit", "-qm", "init")
    return path


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may see the developer's own project or print the zero-config banner."""
    for var in ("SPECWEAVE_ROOT", "CLAUDE_PROJECT_DIR", "SPECWEAVE_TRACKING_URI", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SPECWEAVE_QUIET", "1")


@pytest.fixture(autouse=True)
def _reset_mlflow():
    """MLflow keeps its tracking URI and active run in globals: leave none behind for other tests."""
    yield
    mlflow = sys.modules.get("mlflow")  # only where a test loaded it: no import cost for the rest
    if mlflow is not None and hasattr(mlflow, "active_run"):
        while mlflow.active_run() is not None:
            mlflow.end_run()
        mlflow.set_tracking_uri(None)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository with one commit, as the working directory."""
    root = init_repo(tmp_path / "project")
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def run_py():
    """Run Python code in a real subprocess with this checkout importable."""

    def run(code: str, cwd: Path, *, env: dict[str, str] | None = None, check: bool = True, timeout: float = 120):
        full_env = {**os.environ, "PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1", **(env or {})}
        done = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=full_env, capture_output=True,
                              text=True, timeout=timeout)
        if check and done.returncode != 0:
            raise AssertionError(f"subprocess failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        return done

    return run
