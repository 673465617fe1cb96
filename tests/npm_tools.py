"""npm clients the tests drive (the TypeScript MCP SDK, the MCP Inspector, the Claude Code CLI), each
installed once at a pinned version into a test cache that is neither the checkout nor the real HOME.

The cache is $SPECWEAVE_TEST_NPM_CACHE, else <tmp>/specweave-ml-tests/npm (it survives between runs on a
machine, so only the first run pays for the download). Without node/npm, or when npm cannot reach its
registry, the test that asked is skipped with the reason.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest


def npm_cache() -> Path:
    return Path(os.environ.get("SPECWEAVE_TEST_NPM_CACHE", Path(tempfile.gettempdir()) / "specweave-ml-tests" / "npm"))


def npm_package(package: str, version: str, *, module: bool = False) -> Path:
    """The folder whose node_modules holds `package@version` (installed on first use)."""
    npm = shutil.which("npm")
    if not shutil.which("node") or not npm:
        pytest.skip(f"node and npm are needed for {package} (tasks.py test installs them)")
    cache = npm_cache()
    where = cache / f"{package.replace('/', '+').lstrip('@')}-{version}"
    if not (where / "node_modules" / package / "package.json").is_file():
        staging = cache / f".{where.name}-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        manifest = {"name": "specweave-ml-test-client", "private": True, **({"type": "module"} if module else {})}
        (staging / "package.json").write_text(json.dumps(manifest))
        try:
            done = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--silent", f"{package}@{version}"],
                                  cwd=staging, capture_output=True, text=True, timeout=900, check=False)
        except subprocess.TimeoutExpired:
            done = subprocess.CompletedProcess([], 1, "", "timed out after 900 s")
        if done.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            pytest.skip(f"npm could not install {package}@{version} (registry unreachable?): "
                        f"{done.stderr.strip()[-300:]}")
        shutil.rmtree(where, ignore_errors=True)  # a half-made folder from an interrupted run
        with contextlib.suppress(OSError):  # another worker may have finished first: theirs is as good
            staging.rename(where)
        shutil.rmtree(staging, ignore_errors=True)
    return where


__all__ = ["npm_cache", "npm_package"]
