"""The quickstart's main job: track real experiments in a fresh example project, then show them.

Copies examples/demo-project to build/demo-project (a new git repository each
time), runs its train.py, and prints what landed under .specweave/ and what
the sw-ml CLI makes of it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO / "examples" / "demo-project"
TARGET = REPO / "build" / "demo-project"


def run(argv: list[str], **kw) -> None:
    print(f"\n$ {' '.join(argv)}", flush=True)
    subprocess.run(argv, cwd=TARGET, check=True, **kw)


def main() -> None:
    shutil.rmtree(TARGET, ignore_errors=True)
    shutil.copytree(SOURCE, TARGET)
    if shutil.which("git"):  # a repository lets the runs record their commit; without git they still run
        for args in (["init", "-q", "-b", "main"], ["add", "-A"],
                     ["-c", "user.name=demo", "-c", "user.email=demo@example.com", "commit", "-qm", "demo project"]):
            subprocess.run(["git", *args], cwd=TARGET, check=True, stdout=subprocess.DEVNULL)
    else:
        (TARGET / ".specweave").mkdir()  # marks the project root, as git would have
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run([sys.executable, "train.py"], env=env)

    print("\nWhat was written (plain files, ready for git):")
    for path in sorted((TARGET / ".specweave").rglob("*")):
        if path.is_file() and "cache" not in path.parts:
            print(f"  {path.relative_to(TARGET)}  ({path.stat().st_size} bytes)")
    cli = [sys.executable, "-m", "specweave.cli"]
    commands = (
        ["list-experiments"],
        ["show-experiment", "exp-002"],
        ["compare-experiments"],
        ["log-decision", "exp-002", "--rationale", "Best accuracy; lr=0.01 converges smoothly and generalises best",
         "--alternatives", "exp-003,exp-004", "--author", "demo@example.com"],
        ["sync-docs", "update"],
    )
    for command in commands:
        try:
            run(cli + command, env=env)
        except subprocess.CalledProcessError as exc:
            sys.exit(exc.returncode)
    docs = TARGET / ".specweave/docs/internal/architecture/ml-experiments.md"
    if docs.exists():
        print(f"\n--- {docs.relative_to(TARGET)} ---\n{docs.read_text()}")
    print(f"\nThe example project is at {TARGET}")


if __name__ == "__main__":
    main()
