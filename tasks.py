#!/usr/bin/env python3
"""The project's tasks, needing nothing but python3 (stdlib only).

    python3 tasks.py demo    # build .venv, track real experiments in an example project, show them
    python3 tasks.py test    # build .venv with every test extra (and chromium, Node.js where missing), run the suite
    python3 tasks.py bench   # every benchmark, side by side with MLflow / wandb
    python3 tasks.py plugin  # regenerate the Claude Code plugin (plugins/ml) from prompts/ and SKILL.md (--check)
    python3 tasks.py clean   # remove .venv and build/
    python3 tasks.py lock    # rewrite constraints.txt from what .venv resolved (after changing an extra)

The virtualenv is (re)installed only when pyproject.toml changed since the last install.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parent
VENV = REPO / ".venv"
PYTHON = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
# Keras needs a backend: the CPU build of torch where the machine image keeps one on disk
# (PyPI's own torch wheel is a multi-GB CUDA build). Without it the Keras tests skip.
TORCH_WHEELS = Path("/opt/wheels")
TORCH_PATTERN = f"torch-2.13.0+cpu-cp{sys.version_info.major}{sys.version_info.minor}-*.whl"
# Every version the test install resolves, pinned so that each CI run installs the same set quickly.
CONSTRAINTS = REPO / "constraints.txt"


def run(*argv: str | Path) -> None:
    print("+", " ".join(str(a) for a in argv), flush=True)
    subprocess.run([str(a) for a in argv], cwd=REPO, check=True)


def ensure_env(extra: str | None) -> None:
    """Create .venv and install the package (with `extra`) unless already done for this pyproject."""
    pinned = CONSTRAINTS.read_bytes() if CONSTRAINTS.exists() else b""
    digest = hashlib.sha256((REPO / "pyproject.toml").read_bytes() + pinned).hexdigest()
    stamp = VENV / f".installed-{extra or 'core'}"
    if stamp.exists() and stamp.read_text() == digest and PYTHON.exists():
        return
    if not PYTHON.exists():
        print(f"+ python3 -m venv {VENV.name}", flush=True)
        venv.create(VENV, with_pip=True)
    pip = (PYTHON, "-m", "pip", "--disable-pip-version-check", "-q", "install",
           *(("-c", CONSTRAINTS) if CONSTRAINTS.exists() else ()),
           *(("--find-links", TORCH_WHEELS) if TORCH_WHEELS.is_dir() else ()))
    run(*pip, "-e", f".[{extra}]" if extra else ".")
    if extra == "test":
        wheels = sorted(TORCH_WHEELS.glob(TORCH_PATTERN)) if TORCH_WHEELS.is_dir() else []
        if wheels:
            run(*pip, wheels[-1], "keras>=3")
    stamp.write_text(digest)


def demo(_: list[str]) -> int:
    ensure_env(None)
    return subprocess.run([str(PYTHON), "examples/demo.py"], cwd=REPO).returncode


def ensure_system_tools() -> None:
    """Debian's chromium (the page tests' browser) and Node.js (the TypeScript MCP client's tests),
    installed with apt-get where they are missing and this is a Debian machine we may change (root)."""
    wanted = [pkg for tool, pkg in (("chromium", "chromium"), ("node", "nodejs"), ("npm", "npm"))
              if shutil.which(tool) is None]
    if not wanted or shutil.which("apt-get") is None or not hasattr(os, "geteuid") or os.geteuid() != 0:
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print(f"+ apt-get install {' '.join(wanted)}", flush=True)
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *wanted], check=True, env=env,
                   stdout=subprocess.DEVNULL)


def test(args: list[str]) -> int:
    """The whole suite: on two workers (pytest-xdist), then the few `serial` tests alone. With arguments,
    one plain pytest run of just those."""
    ensure_env("test")
    ensure_system_tools()
    pytest = [str(PYTHON), "-m", "pytest", "-q"]
    if args:
        return subprocess.run([*pytest, *args], cwd=REPO).returncode
    # The layers first: a broken contract names the import in a few seconds, before the suite's minutes.
    print("+ lint-imports", flush=True)
    layers = subprocess.run([str(PYTHON.with_name("lint-imports" + PYTHON.suffix)), "--no-cache"], cwd=REPO).returncode
    workers = str(min(2, os.cpu_count() or 1))
    first = subprocess.run([*pytest, "-n", workers, "-m", "not serial"], cwd=REPO).returncode
    second = subprocess.run([*pytest, "-m", "serial"], cwd=REPO).returncode
    return layers or first or second


def bench(_: list[str]) -> int:
    ensure_env("test")
    for script in ("bench_tracking.py", "bench_read.py", "bench_mcp.py", "bench_push.py", "bench_hostile.py",
                   "bench_answers.py", "bench_capture.py", "bench_ui.py", "bench_repo.py", "bench_long_runs.py",
                   "bench_compare.py", "bench_import.py", "bench_integrations.py"):
        code = subprocess.run([str(PYTHON), f"bench/{script}"], cwd=REPO).returncode
        if code:
            return code
    return 0


def plugin(args: list[str]) -> int:
    """The plugin's commands, agent and skill, generated from prompts/ and SKILL.md (mcp_server/plugin.py)."""
    ensure_env(None)
    return subprocess.run([str(PYTHON), "-m", "mcp_server.plugin", *args], cwd=REPO).returncode


def clean(_: list[str]) -> int:
    for path in (VENV, REPO / "build"):
        shutil.rmtree(path, ignore_errors=True)
    return 0


def lock(_: list[str]) -> int:
    """Pin what the test environment resolved: `pip freeze` of .venv, less this package itself."""
    ensure_env("test")
    # `pip list --format=freeze` names a wheel installed from a file by its version (torch==2.13.0+cpu), where
    # `pip freeze` would write the file's path, which another machine does not have.
    frozen = subprocess.run([str(PYTHON), "-m", "pip", "list", "--format=freeze", "--exclude-editable"], cwd=REPO,
                            check=True, capture_output=True, text=True).stdout.splitlines()
    keep = [line for line in frozen if line and not line.startswith(("-e ", "specweave-ml"))]
    CONSTRAINTS.write_text("# Written by `python3 tasks.py lock`: the versions the test extras resolve to.\n"
                           + "\n".join(sorted(keep, key=str.lower)) + "\n")
    print(f"wrote {CONSTRAINTS.name}: {len(keep)} pins")
    return 0


TASKS = {"demo": demo, "test": test, "bench": bench, "plugin": plugin, "clean": clean, "lock": lock}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in TASKS:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        return TASKS[argv[0]](argv[1:])
    except subprocess.CalledProcessError as exc:
        print(f"tasks.py: {argv[0]} failed: {' '.join(map(str, exc.cmd))} exited {exc.returncode}", file=sys.stderr)
        return exc.returncode or 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
