"""Helpers shared by the benchmarks: a scratch folder on the project's disk, timing, ratios."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def scratch(name: str) -> Path:
    """A fresh folder under build/bench (same disk for both tools; /tmp can be a different one)."""
    base = Path(os.environ.get("BENCH_DIR", REPO / "build" / "bench"))
    base.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{name}-", dir=base))


def clean(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def best_of(fn: Callable[[], float], repeat: int) -> float:
    return min(fn() for _ in range(repeat))


def time_command(argv: list[str], *, repeat: int = 5, cwd: Path | None = None, env: dict | None = None) -> float:
    """Best wall time of a fresh process, in seconds."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}

    def once() -> float:
        start = time.perf_counter()
        subprocess.run(argv, cwd=cwd, env=full_env, check=True, capture_output=True)
        return time.perf_counter() - start

    return best_of(once, repeat)


def median(values: list[float]) -> float:
    return statistics.median(values)


def row(label: str, ours: float, theirs: float, unit: str, target: float | None = None, who: str = "MLflow") -> str:
    ratio = theirs / ours if ours else float("inf")
    verdict = ""
    if target is not None:
        verdict = "  OK" if ratio >= target else f"  BELOW target {target:g}x"
    return f"{label:<48} specweave {ours:10.3f} {unit:<3} {who} {theirs:10.3f} {unit:<3} ratio {ratio:7.1f}x{verdict}"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout


def new_repo(path: Path) -> Path:
    """A git repository with one commit, as a user's project starts."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.email", "bench@example.com")
    git(path, "config", "user.name", "bench")
    (path / "README.md").write_text("bench\n")
    git(path, "add", "-A")
    git(path, "commit", "-qm", "init")
    return path


def python() -> str:
    return sys.executable
