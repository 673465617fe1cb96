"""What every `sw-ml` command shares: the project it opens, how it is registered, small argument parsers."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from skill.project import Project

Handler = Callable[[argparse.Namespace], int]


def open_project(args: argparse.Namespace) -> Project:
    """The one core object every command calls (`--root` checked by Project: a folder that does not
    exist is said in one line)."""
    from skill.project import Project

    return Project(getattr(args, "root", None))


def split_list(values: list[str] | None) -> list[str] | None:
    """`-e a,b -e c` -> [a, b, c]; None when nothing was given."""
    if not values:
        return None
    return [part.strip() for value in values for part in value.split(",") if part.strip()] or None


def whole_number(text: str) -> int | str:
    """An int when `text` is one; anything else is handed on as is, for the core to refuse in one line."""
    try:
        return int(text)
    except ValueError:
        return text


def usage_error(message: str) -> Exception:
    """A misuse of the command line: one line, exit code 2 (argparse's own)."""
    from skill.errors import SpecweaveError

    err = SpecweaveError(message)
    err.exit_code = 2  # type: ignore[misc]
    return err


class Commands:
    """Where each command module registers its commands, the arguments beside their handlers:

        def register(commands: Commands) -> None:
            p = commands.add("tag", tag, "Add tags.", "sw-ml tag exp-003 best")
            p.add_argument("experiment")
    """

    def __init__(self, sub: argparse._SubParsersAction, root: argparse.ArgumentParser,  # type: ignore[type-arg]
                 as_json: argparse.ArgumentParser, filters: argparse.ArgumentParser):
        self.sub, self.root, self.as_json, self.filters = sub, root, as_json, filters

    def add(self, name: str, func: Handler, help_text: str, example: str, *, json: bool = False,
            filters: bool = False, root: bool = True, under: argparse._SubParsersAction | None = None,  # type: ignore[type-arg]
            passthrough: str | None = None) -> argparse.ArgumentParser:
        """A command `name` running `func`; `json` adds --json, `filters` --status/--tag/--where, `root`
        the project's --root; `under` a group's subcommands; `passthrough` a module it runs with the
        command's arguments as they are (`sw-ml serve` -> `python -m mcp_server`)."""
        parents = [*([self.root] if root else []), *([self.as_json] if json else []),
                   *([self.filters] if filters else [])]
        p = (under or self.sub).add_parser(name, parents=parents, help=help_text, description=help_text,
                                           epilog="example:\n  " + example, add_help=passthrough is None,
                                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.set_defaults(func=func, passthrough=passthrough, command_parser=p)
        return p


def run_module(args: argparse.Namespace, module: str, what: str) -> int:
    """Run `python -m <module>` with the command's own arguments (and the global --root before them):
    the process becomes it on POSIX (os.execv), elsewhere it runs as a child whose exit code is ours.
    `--help` shows this command's help, then the module's options."""
    import importlib.util
    import os
    import subprocess
    import sys

    options = list(getattr(args, "options", None) or [])
    root = getattr(args, "root", None)
    argv = [sys.executable, "-m", module, *(["--root", root] if root is not None else []), *options]
    try:
        found = importlib.util.find_spec(module) is not None
    except ImportError:
        found = False
    if not found:
        print(f"sw-ml: error: '{what}' is not available in this installation (No module named '{module}')",
              file=sys.stderr)
        return 5
    if "-h" in options or "--help" in options:
        sys.stdout.write(args.command_parser.format_help())
        sys.stdout.flush()
        done = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True, check=False)
        if done.returncode == 0 and done.stdout:
            sys.stdout.write(f"\nthe options of `python -m {module}`:\n{done.stdout}")
        return 0
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name == "posix":
        os.execv(sys.executable, argv)
    try:
        return subprocess.call(argv)
    except KeyboardInterrupt:
        return 130

__all__ = ["Commands", "Handler", "open_project", "run_module", "split_list", "usage_error", "whole_number"]
