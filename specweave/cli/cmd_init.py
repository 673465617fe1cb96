"""`sw-ml init`: register the MCP server with agent hosts and prepare the project (`skill.project_init`)."""

from __future__ import annotations

import argparse
import sys

from .command_kit import Commands, open_project


def init(args: argparse.Namespace) -> int:
    """Make the project ready for agents; prints what changed, one line each."""
    from pathlib import Path

    from skill.errors import SpecweaveError
    from skill.host_config import HOSTS
    from skill.project_init import init_project

    root = getattr(args, "root", None)
    if root is not None and not Path(root).expanduser().is_dir():
        print(f"sw-ml: invalid --root {root!r}: expected an existing folder", file=sys.stderr)
        return 2
    wanted = args.host or ["claude"]
    hosts = HOSTS if "all" in wanted else tuple(dict.fromkeys(h for h in wanted if h != "none"))
    try:
        result = init_project(open_project(args).root, use_python=args.python, install_skill=not args.no_skill,
                              lfs=args.lfs, hosts=hosts, approve=args.approve, check=not args.no_check)
    except SpecweaveError as exc:
        print(f"sw-ml: {exc}", file=sys.stderr)
        return exc.exit_code
    for line in result.lines():
        print(line)
    return 0 if result.ok else 1


def register(commands: Commands) -> None:
    p = commands.add("init", init, "Register the MCP server with an agent client and prepare the project.",
                     "sw-ml init", root=False)
    p.add_argument("--root", help="project root (default: the enclosing git repository or the working directory)")
    p.add_argument("--host", action="append", choices=("claude", "vscode", "cursor", "codex", "all", "none"),
                   metavar="{claude,vscode,cursor,codex,all,none}",
                   help="the agent host(s) to register the server with (repeatable; default claude): .mcp.json, "
                   ".vscode/mcp.json, .cursor/mcp.json, .codex/config.toml; none: no host config (Claude Code "
                   "with the `ml` plugin installed already has the server)")
    p.add_argument("--approve", action="store_true",
                   help="also approve the project's `ml` server in Claude Code (.claude/settings.local.json "
                   "enabledMcpjsonServers), as its own dialog does")
    p.add_argument("--no-check", action="store_true",
                   help="do not start the registered server once to check that it answers")
    p.add_argument("--python", action="store_true",
                   help="register the server as this Python interpreter running `-m mcp_server` "
                   "instead of the `sw-ml` command (for a venv that is not on PATH)")
    p.add_argument("--no-skill", action="store_true", help="do not install .claude/skills/experiment-tracker")
    p.add_argument("--lfs", action="store_true",
                   help="a repository that uses Git LFS: keep models and binary artifacts in the experiment "
                   "folders through LFS (.gitattributes rules) instead of the git-ignored object store")
