"""The real Claude Code CLI for tests: installed with npm under the test cache, run with a HOME of its own.

`@anthropic-ai/claude-code` (pinned below) goes into the npm test cache (tests/npm_tools.py), never into
the checkout or the real HOME. Tests using it are skipped, with the reason, only when node/npm are missing or npm
cannot reach its registry.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.npm_tools import npm_package

CLAUDE_CODE_VERSION = "2.1.328"


def install_claude() -> Path:
    """The `claude` executable of the pinned version (installed on first use)."""
    return npm_package("@anthropic-ai/claude-code", CLAUDE_CODE_VERSION) / "node_modules" / ".bin" / "claude"


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
