"""The quickstart's main job: track real experiments in a fresh example project, then show them.

Copies examples/demo-project to build/demo-project (a new git repository each
time), runs its train.py, and prints what landed under .specweave/ and what
the sw-ml CLI makes of it. Each command is printed as a user would type it
(`sw-ml ...`, quoted with shlex.join), so it pastes into a shell opened in that
folder with the virtualenv active. `python examples/demo.py DIR` builds the
project in DIR instead.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO / "examples" / "demo-project"
TARGET = REPO / "build" / "demo-project"


def shown(argv: list[str]) -> str:
    """A command line as a user types it, quoted so that it pastes into a shell."""
    return shlex.join(argv)


def run(argv: list[str], typed: list[str], cwd: Path, **kw) -> None:
    """Run `argv` in `cwd`, printing `typed`: the same command as a user would type it."""
    print(f"\n$ {shown(typed)}", flush=True)
    subprocess.run(argv, cwd=cwd, check=True, **kw)


def main(target: Path = TARGET) -> None:
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(SOURCE, target)
    print(f"$ {shown(['cd', str(target)])}", flush=True)
    if shutil.which("git"):  # a repository lets the runs record their commit; without git they still run
        for args in (["init", "-q", "-b", "main"], ["add", "-A"],
                     ["-c", "user.name=demo", "-c", "user.email=demo@example.com", "commit", "-qm", "demo project"]):
            subprocess.run(["git", *args], cwd=target, check=True, stdout=subprocess.DEVNULL)
    else:
        (target / ".specweave").mkdir()  # marks the project root, as git would have
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run([sys.executable, "train.py"], ["python", "train.py"], target, env=env)

    print("\nWhat was written (plain files, ready for git):")
    for path in sorted((target / ".specweave").rglob("*")):
        if path.is_file() and "cache" not in path.parts:
            print(f"  {path.relative_to(target)}  ({path.stat().st_size} bytes)")
    cli = [sys.executable, "-m", "specweave.cli"]  # what `sw-ml` runs, without needing it on PATH
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
            run(cli + command, ["sw-ml", *command], target, env=env)
        except subprocess.CalledProcessError as exc:
            sys.exit(exc.returncode)
    docs = target / ".specweave/docs/internal/architecture/ml-experiments.md"
    if docs.exists():
        print(f"\n--- {docs.relative_to(target)} ---\n{docs.read_text()}")
    activate = Path(sys.executable).parent / "activate"
    how = shown(["source", str(activate)]) if activate.is_file() else "pip install -e . puts it there"
    print(f"\nThe example project is at {target}; the commands above run there as printed once "
          f"`sw-ml` is on PATH ({how}).")


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else TARGET)
