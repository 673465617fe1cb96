"""`sw-ml`'s entry: the parser assembled from the command modules, and the errors mapped to one line.

Each command module registers its commands, their arguments beside their handlers, with `Commands.add`;
this module only puts them together, runs the one asked for inside `inert_output()` (output.py), and
turns a SpecweaveError into `sw-ml: error: ...` and its exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from skill.layout import STATUSES  # the format's names: a light module, fine for `sw-ml --help`

from . import (
    cmd_artifacts,
    cmd_compare,
    cmd_decisions,
    cmd_edits,
    cmd_history,
    cmd_import,
    cmd_init,
    cmd_lists,
    cmd_push,
    cmd_report,
    cmd_repro,
    cmd_serve,
    cmd_show,
    cmd_ui,
)
from .command_kit import Commands
from .output import inert_output

PROG = "sw-ml"

# The order `sw-ml --help` lists the commands in.
MODULES = (cmd_lists, cmd_show, cmd_compare, cmd_decisions, cmd_edits, cmd_push, cmd_artifacts, cmd_ui, cmd_report,
           cmd_history, cmd_repro, cmd_import, cmd_serve, cmd_init)


def build_parser() -> argparse.ArgumentParser:
    """The whole parser; each module adds its own commands."""
    root = argparse.ArgumentParser(add_help=False)
    root.add_argument("--root", default=argparse.SUPPRESS, metavar="DIR",
                      help="project root (default: SPECWEAVE_ROOT, CLAUDE_PROJECT_DIR, then walk up from here)")
    as_json = argparse.ArgumentParser(add_help=False)
    as_json.add_argument("--json", action="store_true", help="print JSON for scripts instead of a table")
    filters = argparse.ArgumentParser(add_help=False)
    filters.add_argument("--status", choices=list(STATUSES))
    filters.add_argument("--tag", help="only experiments carrying this tag")
    filters.add_argument("--where", metavar="FILTER",
                         help="e.g. \"metrics.auc > 0.8 and params.max_depth <= 6\" (fields: params.X, metrics.X, "
                              "tags, status, name, id; and/or/not, parentheses, in (...))")

    parser = argparse.ArgumentParser(
        prog=PROG, parents=[root], formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Experiment tracking that lives in your repository: list, compare, decide, document.",
        epilog="example:\n  sw-ml list-experiments 0042 --where 'metrics.auc > 0.8' --sort '-metrics.auc'\n\n"
               "Run 'sw-ml COMMAND --help' for a command's options and an example.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    commands = Commands(sub, root, as_json, filters)
    for module in MODULES:
        module.register(commands)  # type: ignore[attr-defined]
    return parser


def _command_at(argv: Sequence[str]) -> int | None:
    """Where the command's name is in `argv` (the first word that is no option and no --root value)."""
    skip = False
    for at, token in enumerate(argv):
        if skip:
            skip = False
            continue
        if token == "--root":
            skip = True
            continue
        if token.startswith("-"):
            continue
        return at
    return None


def _join_dash_values(argv: list[str]) -> list[str]:
    """`--sort -metrics.auc` means the value: argparse alone would take it for an option."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        token = argv[i]
        if token in ("--sort", "--where") and i + 1 < len(argv) and argv[i + 1].startswith("-") \
                and not argv[i + 1].startswith("--"):
            out.append(f"{token}={argv[i + 1]}")
            i += 2
            continue
        out.append(token)
        i += 1
    return out


def _parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """The arguments; a passthrough command (`serve`, `ui`) keeps everything after its name as it is."""
    at = _command_at(argv)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    chosen = sub.choices.get(argv[at]) if at is not None else None
    if at is not None and chosen is not None and chosen.get_default("passthrough"):
        args = parser.parse_args(argv[:at + 1])
        args.options = argv[at + 1:]
        return args
    args = parser.parse_args(_join_dash_values(argv))
    if getattr(args, "root", None) is None:
        # `sw-ml --root DIR init`: a sub-parser's own default must not hide the global option
        pre = argparse.ArgumentParser(add_help=False)
        pre.add_argument("--root")
        args.root = pre.parse_known_args(argv)[0].root
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Every command's output, argparse's and the errors' included, with control characters escaped
    (output.py: the one place that escapes, so text from a clone cannot drive the terminal)."""
    with inert_output():
        return _main(argv)


def _debug() -> bool:
    return os.environ.get("SPECWEAVE_DEBUG", "") not in ("", "0")


def _main(argv: Sequence[str] | None) -> int:
    args = _parse(build_parser(), list(sys.argv[1:] if argv is None else argv))
    from skill.errors import SpecweaveError

    try:
        return int(args.func(args) or 0)
    except SpecweaveError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return err.exit_code
    except BrokenPipeError:
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - quiet exit when piped to head
        except OSError:
            pass
        return 0
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except OSError as err:
        if _debug():
            raise
        where = f": {err.filename}" if err.filename else ""
        print(f"{PROG}: error: {err.strerror or err}{where}", file=sys.stderr)
        return 1
    except UnicodeError as err:  # a non-UTF-8 argument reaching a file or a name
        if _debug():
            raise
        print(f"{PROG}: error: text that is not valid UTF-8 ({getattr(err, 'reason', err)}): give names and "
              "text as UTF-8 (SPECWEAVE_DEBUG=1 shows where)", file=sys.stderr)
        return 2
    except (ValueError, OverflowError) as err:
        # bad input the checks above did not name; a real bug shows its traceback with SPECWEAVE_DEBUG=1
        if _debug():
            raise
        print(f"{PROG}: error: {' '.join(str(err).split()) or type(err).__name__} "
              "(SPECWEAVE_DEBUG=1 shows where)", file=sys.stderr)
        return 2


__all__ = ["PROG", "build_parser", "main"]
