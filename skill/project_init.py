"""`sw-ml init`: make a project ready for agents in one idempotent step.

- the `.specweave/` skeleton, if absent;
- the server `ml` in each agent host's project config (`--host claude|vscode|cursor|codex|all`:
  `.mcp.json`, `.vscode/mcp.json`, `.cursor/mcp.json`, `.codex/config.toml`; see host_config.py),
  merged into an existing file, never clobbering it (another server, or an `ml` entry a person
  wrote, stays as it is), then started once to check that it answers, with how to fix it if not;
- with `--approve`: the approval Claude Code asks for, recorded as it records it;
- the skill at `.claude/skills/experiment-tracker/SKILL.md` (a copy of the package's SKILL.md);
- `.specweave/cache/` in `.gitignore`;
- merge rules: `.specweave/.gitattributes` and the `specweave-derived` driver in `.git/config`;
- with `--lfs` (a repository that uses Git LFS): `.gitattributes` rules that hand the experiment
  folders' binaries (objects.LFS_SUFFIXES) to LFS, and `artifacts: {lfs: true}` in ml.yaml, so those
  stay in the folders through LFS instead of the git-ignored object store.

Running it again changes nothing. A cloned repository is data: init reads and writes through no
link (`.gitignore`, `.mcp.json`, `.claude/`, the host configs, `.specweave/`), refusing in one line.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from .errors import DamagedFile
from .layout import CACHE_DIR, INCREMENTS_DIR, SPECWEAVE_DIR
from .storage.atomic_writes import atomic_write
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
    ok: bool = True

    def lines(self) -> list[str]:
        out = [f"created   {p}" for p in self.created] + [f"updated   {p}" for p in self.updated]
        out += [f"unchanged {p}" for p in self.unchanged] + self.notes
        return out


def server_entry(use_python: bool = False) -> dict[str, Any]:
    """The `.mcp.json` entry that starts this server over stdio (see host_config.server_command)."""
    from .host_config import server_command

    command, args, _ = server_command(use_python)
    return {"command": command, "args": args}


def _skeleton(root: Path, result: InitResult) -> None:
    from .host_config import refuse_links
    from .storage.paths import make_dirs_within

    increments = refuse_links(root, f"{SPECWEAVE_DIR}/{INCREMENTS_DIR}")
    if increments.is_dir():
        result.unchanged.append(f"{SPECWEAVE_DIR}/{INCREMENTS_DIR}/")
        return
    make_dirs_within(root, (SPECWEAVE_DIR, INCREMENTS_DIR), f"{SPECWEAVE_DIR}/{INCREMENTS_DIR}")
    (increments / ".gitkeep").touch()
    result.created.append(f"{SPECWEAVE_DIR}/{INCREMENTS_DIR}/")


def _hosts(root: Path, result: InitResult, hosts: tuple[str, ...], use_python: bool, approve: bool,
           check: bool) -> bool:
    """The `ml` server in each host's config; started once to check it; approved for Claude Code.
    False when the registered command did not start."""
    from . import host_config

    if not hosts and not approve:
        return True
    command, args, note = host_config.server_command(use_python)
    if note:
        result.notes.append(note)
    for host in hosts:
        rel = host_config.CONFIG_FILES[host]
        entry = host_config.entry_for(host, command, args)
        done, before = host_config.write_host_config(root, host, entry)
        getattr(result, done).append(rel)
        if before is not None and before != entry:
            result.notes.append(f"kept the existing {SERVER_NAME!r} server in {rel} as it was (init neither "
                                "rewrites nor runs it)")
    ok = True
    if check:
        problem = host_config.check_starts(root, command, args)
        shown = " ".join([command, *args])
        if problem is None:
            result.notes.append(f"checked: `{shown}` starts and answers as the MCP server {SERVER_NAME!r}")
        else:
            ok = False
            fix = ("activate the project's virtualenv and install the package there (pip install specweave-ml), "
                   "then rerun `sw-ml init`; or rerun with --python to register this interpreter")
            result.notes.append(f"problem: `{shown}` did not start as the MCP server {SERVER_NAME!r} ({problem}); "
                                f"fix: {fix}")
    if approve:
        # Only the entry init writes is approved: an `ml` entry a clone committed may run anything.
        mcp = host_config.refuse_links(root, MCP_CONFIG)
        servers = host_config.read_json(mcp, MCP_CONFIG).get("mcpServers") if mcp.exists() else None
        found = servers.get(SERVER_NAME) if isinstance(servers, dict) else None
        if found != host_config.entry_for("claude", command, args):
            result.notes.append(f"not approved: the {SERVER_NAME!r} entry in {MCP_CONFIG} is not the one init writes; "
                                "read it, then approve it in Claude Code (/mcp)")
        else:
            rel = host_config.CLAUDE_LOCAL_SETTINGS
            getattr(result, host_config.approve_in_claude(root)).append(f"{rel} (enabledMcpjsonServers: ml)")
            result.notes.append("approved for Claude Code: it starts the server in this folder once you accepted "
                                "the folder's trust dialog (on your first `claude` here)")
    return ok


def _skill(root: Path, result: InitResult) -> None:
    from .host_config import ensure_parent, refuse_links
    from .resources_path import data_dir

    source = data_dir("SKILL.md").read_text(encoding="utf-8")
    shown = "/".join(SKILL_DEST)
    dest = refuse_links(root, shown)
    if dest.is_file() and dest.read_text(encoding="utf-8") == source:
        result.unchanged.append(shown)
        return
    existed = dest.exists()
    dest = ensure_parent(root, shown)
    atomic_write(dest, source)
    (result.updated if existed else result.created).append(shown)


def _gitignore(root: Path, result: InitResult, lines: tuple[str, ...] = (GITIGNORE_LINE,)) -> None:
    from .host_config import refuse_links

    path = refuse_links(root, ".gitignore")
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    present = {line.strip().lstrip("/").rstrip("/") for line in text.splitlines()}
    missing = [line for line in lines if line.lstrip("/").rstrip("/") not in present]
    if not missing:
        result.unchanged.append(".gitignore")
        return
    prefix = text if not text or text.endswith("\n") else text + "\n"
    atomic_write(path, prefix + "".join(line + "\n" for line in missing))
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


def init_project(root: Path, *, use_python: bool = False, install_skill: bool = True, lfs: bool = False,
                 hosts: tuple[str, ...] = ("claude",), approve: bool = False, check: bool = True) -> InitResult:
    """Make `root` ready: store skeleton, each host's MCP config (checked to start; approved for
    Claude Code with `approve`), the skill, `.gitignore`, and `.specweave/.gitattributes` (decisions
    merge by union, derived files by our driver, registered in the clone's git config). Idempotent;
    `result.ok` is False when the registered server did not start."""
    from .host_config import CLAUDE_LOCAL_SETTINGS, CONFIG_FILES, refuse_links

    root = Path(root).resolve()
    result = InitResult(root=root)
    # Every path init may read or write, checked before anything is written: a link anywhere (a clone
    # can commit `.claude -> ~`) refuses the whole run in one line, with nothing half done.
    planned = [f"{SPECWEAVE_DIR}/{INCREMENTS_DIR}", f"{SPECWEAVE_DIR}/.gitattributes", ".gitignore",
               *(CONFIG_FILES[h] for h in hosts), *([MCP_CONFIG, CLAUDE_LOCAL_SETTINGS] if approve else []),
               *(["/".join(SKILL_DEST)] if install_skill else [])]
    for rel in planned:
        refuse_links(root, rel)
    _skeleton(root, result)
    result.ok = _hosts(root, result, hosts, use_python, approve, check)
    if install_skill:
        _skill(root, result)
    _gitignore(root, result, (GITIGNORE_LINE, "/.claude/settings.local.json") if approve else (GITIGNORE_LINE,))
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
