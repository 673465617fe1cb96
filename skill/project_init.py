"""`sw-ml init`: make a project ready for agents in one idempotent step.

- the `.specweave/` skeleton, if absent;
- `.mcp.json` with the server `ml`, merged into an existing file, never clobbering it
  (another server, or an `ml` entry a person wrote, stays as it is);
- the skill at `.claude/skills/experiment-tracker/SKILL.md` (a copy of the package's SKILL.md);
- `.specweave/cache/` in `.gitignore`;
- merge rules: `.specweave/.gitattributes` and the `specweave-derived` driver in `.git/config`;
- with `--lfs` (a repository that uses Git LFS): `.gitattributes` rules that hand the experiment
  folders' binaries (objects.LFS_SUFFIXES) to LFS, and `artifacts: {lfs: true}` in ml.yaml, so those
  stay in the folders through LFS instead of the git-ignored object store.

Running it again changes nothing.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from .errors import DamagedFile
from .layout import CACHE_DIR, INCREMENTS_DIR, SPECWEAVE_DIR
from .storage.fileio import atomic_write
from .storage.gitfiles import ensure_merge_rules, register_merge_driver

SERVER_NAME = "ml"
MCP_CONFIG = ".mcp.json"
SKILL_DEST = (".claude", "skills", "experiment-tracker", "SKILL.md")
GITIGNORE_LINE = f"{SPECWEAVE_DIR}/{CACHE_DIR}/"


class InitResult(BaseModel):
    """What `init_project` did, path by path (relative to the root)."""

    root: Path
    created: list[str] = Field(default_factory=list)
    updated: list[str] = Field(default_factory=list)
    unchanged: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"created   {p}" for p in self.created] + [f"updated   {p}" for p in self.updated]
        out += [f"unchanged {p}" for p in self.unchanged] + self.notes
        return out


def server_entry(use_python: bool = False) -> dict[str, Any]:
    """The `.mcp.json` entry that starts this server over stdio."""
    if use_python:
        return {"command": sys.executable, "args": ["-m", "mcp_server"]}
    return {"command": "sw-ml", "args": ["serve"]}


def _skeleton(root: Path, result: InitResult) -> None:
    increments = root / SPECWEAVE_DIR / INCREMENTS_DIR
    if increments.is_dir():
        result.unchanged.append(f"{SPECWEAVE_DIR}/{INCREMENTS_DIR}/")
        return
    increments.mkdir(parents=True, exist_ok=True)
    (increments / ".gitkeep").touch()
    result.created.append(f"{SPECWEAVE_DIR}/{INCREMENTS_DIR}/")


def _mcp_config(root: Path, result: InitResult, use_python: bool) -> None:
    path = root / MCP_CONFIG
    data: dict[str, Any] = {}
    existed = path.exists()
    if existed:
        text = path.read_text(encoding="utf-8")
        try:
            data = json.loads(text) if text.strip() else {}
        except json.JSONDecodeError as exc:
            raise DamagedFile(str(path), f"{exc.msg}; fix it by hand, init never rewrites a file it cannot read",
                              exc.lineno) from None
        if not isinstance(data, dict):
            raise DamagedFile(str(path), "not a JSON object; fix it by hand, init never rewrites it")
    servers = data.setdefault("mcpServers", {})
    if not isinstance(servers, dict):
        raise DamagedFile(str(path), '"mcpServers" is not an object; fix it by hand, init never rewrites it')
    if SERVER_NAME in servers:
        result.unchanged.append(MCP_CONFIG)
        if servers[SERVER_NAME] != server_entry(use_python):
            result.notes.append(f"kept the existing {SERVER_NAME!r} server in {MCP_CONFIG} as it was")
        return
    servers[SERVER_NAME] = server_entry(use_python)
    atomic_write(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    (result.updated if existed else result.created).append(MCP_CONFIG)


def _skill(root: Path, result: InitResult) -> None:
    from .resources_path import data_dir

    source = data_dir("SKILL.md").read_text(encoding="utf-8")
    dest = root.joinpath(*SKILL_DEST)
    shown = "/".join(SKILL_DEST)
    if dest.is_file() and dest.read_text(encoding="utf-8") == source:
        result.unchanged.append(shown)
        return
    existed = dest.exists()
    dest.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(dest, source)
    (result.updated if existed else result.created).append(shown)


def _gitignore(root: Path, result: InitResult) -> None:
    path = root / ".gitignore"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    wanted = {GITIGNORE_LINE, GITIGNORE_LINE.rstrip("/"), "/" + GITIGNORE_LINE, "/" + GITIGNORE_LINE.rstrip("/")}
    if any(line.strip() in wanted for line in text.splitlines()):
        result.unchanged.append(".gitignore")
        return
    prefix = text if not text or text.endswith("\n") else text + "\n"
    atomic_write(path, prefix + GITIGNORE_LINE + "\n")
    (result.updated if text else result.created).append(".gitignore")


def _lfs(root: Path, result: InitResult) -> None:
    """LFS rules in `.specweave/.gitattributes` and `artifacts: {lfs: true}` in ml.yaml (appended, so what a
    person wrote there stays; an `artifacts:` section of theirs is not rewritten: a note says what to add)."""
    import shutil
    import subprocess

    from .config import CONFIG_FILE, load_config
    from .storage.gitfiles import ensure_lines
    from .storage.objects import lfs_rules

    store = root / SPECWEAVE_DIR
    shown = f"{SPECWEAVE_DIR}/.gitattributes (Git LFS rules)"
    if store.is_symlink() or (store / ".gitattributes").is_symlink():
        raise DamagedFile(str(store / ".gitattributes"), "is (or is under) a symbolic link; init never writes "
                          "through one")
    header = "# Git LFS keeps the experiment folders' binaries (sw-ml init --lfs; see artifacts.lfs in ml.yaml)\n"
    (result.updated if ensure_lines(store / ".gitattributes", lfs_rules(), header) else result.unchanged).append(shown)
    config = store / CONFIG_FILE
    shown = f"{SPECWEAVE_DIR}/{CONFIG_FILE} (artifacts.lfs)"
    if config.is_symlink():
        raise DamagedFile(str(config), "is a symbolic link; init never writes through one")
    text = config.read_text(encoding="utf-8") if config.exists() else ""
    if load_config(root).artifacts.lfs:
        result.unchanged.append(shown)
    elif any(line.startswith("artifacts:") for line in text.splitlines()):
        result.notes.append(f"add `lfs: true` under `artifacts:` in {SPECWEAVE_DIR}/{CONFIG_FILE} (init does not "
                            "rewrite a section a person wrote)")
    else:
        prefix = text if not text or text.endswith("\n") else text + "\n"
        atomic_write(config, prefix + "artifacts:\n  lfs: true  # binaries stay in experiment folders, via Git LFS\n")
        (result.updated if text else result.created).append(shown)
    git = shutil.which("git")
    try:
        has_lfs = git is not None and subprocess.run([git, "lfs", "version"], capture_output=True, timeout=30,
                                                     check=False).returncode == 0
    except (OSError, subprocess.SubprocessError):
        has_lfs = False
    if not has_lfs:
        result.notes.append("git-lfs is not installed here: until it is, `git add` stores those files as plain "
                            "git blobs (install it, then run `git lfs install`)")


def init_project(root: Path, *, use_python: bool = False, install_skill: bool = True, lfs: bool = False) -> InitResult:
    """Make `root` ready: store skeleton, `.mcp.json`, the skill, `.gitignore`, and
    `.specweave/.gitattributes` (decisions merge by union, derived files by our driver, registered in
    the clone's git config). Idempotent."""
    root = Path(root).resolve()
    result = InitResult(root=root)
    _skeleton(root, result)
    _mcp_config(root, result, use_python)
    if install_skill:
        _skill(root, result)
    _gitignore(root, result)
    shown = ".specweave/.gitattributes"
    existed = (root / shown).exists()
    if ensure_merge_rules(root):
        (result.updated if existed else result.created).append(shown)
    else:
        result.unchanged.append(shown)
    if lfs:
        _lfs(root, result)
    driver = register_merge_driver(root, sys.executable)
    if driver is None:
        result.notes.append("not a git work tree: the merge driver for derived files was not registered")
    else:
        (result.updated if driver else result.unchanged).append(".git/config (merge driver specweave-derived)")
    return result


__all__ = ["InitResult", "init_project", "server_entry"]
