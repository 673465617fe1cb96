"""The real Claude Code CLI for tests: installed with npm under the test cache, run with a HOME of its own.

`@anthropic-ai/claude-code` (pinned below) goes into ~/.cache/specweave-ml-tests/npm/claude-code-<version>
(or $SPECWEAVE_TEST_NPM_CACHE), never into the checkout, as tests/test_mcp_ts_client.py installs the
TypeScript SDK. Tests using it are skipped, with the reason, only when node/npm are missing or npm
cannot reach its registry.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

CLAUDE_CODE_VERSION = "2.1.328"


def install_claude() -> Path:
    """The `claude` executable of the pinned version (installed on first use)."""
    npm = shutil.which("npm")
    if not shutil.which("node") or not npm:
        pytest.skip("node and npm are needed for the Claude Code CLI (tasks.py test installs them)")
    cache = Path(os.environ.get("SPECWEAVE_TEST_NPM_CACHE", Path.home() / ".cache" / "specweave-ml-tests" / "npm"))
    where = cache / f"claude-code-{CLAUDE_CODE_VERSION}"
    exe = where / "node_modules" / ".bin" / "claude"
    if not exe.exists():
        staging = cache / f".claude-code-{CLAUDE_CODE_VERSION}-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        (staging / "package.json").write_text('{"name": "specweave-claude-cli-test", "private": true}')
        try:
            done = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--silent",
                                   f"@anthropic-ai/claude-code@{CLAUDE_CODE_VERSION}"], cwd=staging,
                                  capture_output=True, text=True, timeout=900, check=False)
        except subprocess.TimeoutExpired:
            done = subprocess.CompletedProcess([], 1, "", "timed out after 900 s")
        if done.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            pytest.skip(f"npm could not install @anthropic-ai/claude-code@{CLAUDE_CODE_VERSION} (registry "
                        f"unreachable?): {done.stderr.strip()[-300:]}")
        with contextlib.suppress(OSError):  # another worker may have finished first: theirs is as good
            staging.rename(where)
        shutil.rmtree(staging, ignore_errors=True)
    return exe


def claude_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment for `claude`: HOME a folder of the test's, no update checks or telemetry."""
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("CLAUDE", "ANTHROPIC", "VIRTUAL_ENV", "SPECWEAVE_"))}
    return {**base, "HOME": str(home), "DISABLE_AUTOUPDATER": "1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_TELEMETRY": "1", **extra}


def run_claude(exe: Path, *args: str, home: Path, cwd: Path, env: dict[str, str] | None = None,
               timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(exe), *args], cwd=cwd, env=env or claude_env(home), capture_output=True, text=True,
                          timeout=timeout, check=False)


def trust_folder(home: Path, folder: Path) -> None:
    """What a person's first `claude` in `folder` records once they accept its trust dialog."""
    import json

    config = home / ".claude.json"
    data = json.loads(config.read_text()) if config.exists() else {}
    data.setdefault("projects", {})[str(folder)] = {"hasTrustDialogAccepted": True}
    config.write_text(json.dumps(data))


__all__ = ["CLAUDE_CODE_VERSION", "claude_env", "install_claude", "run_claude", "trust_folder"]
