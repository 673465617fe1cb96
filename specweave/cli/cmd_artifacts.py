"""`sw-ml artifacts push/pull/status/allow-remote` and `sw-ml migrate`: share the object store.

Models and binary artifacts live in the git-ignored object store (`.specweave/objects/`); git carries
their names, sizes and hashes. These commands copy the objects to and from a remote (an fsspec URL:
a folder, s3://, gs://, az://, ssh://), configured once as `artifacts: {remote: URL}` in ml.yaml and
confirmed by each user with `sw-ml artifacts allow-remote` (or named with --to/--from or
SPECWEAVE_ARTIFACTS_REMOTE).
"""

from __future__ import annotations

import argparse
from typing import Any

from .command_kit import Commands, open_project
from .output import print_json

REMOTE_DEFAULT = ("$SPECWEAVE_ARTIFACTS_REMOTE, then artifacts.remote in .specweave/ml.yaml once confirmed with "
                  "`sw-ml artifacts allow-remote`")


def _answer(args: argparse.Namespace, result: Any) -> int:
    if args.json:
        print_json(result)
    else:
        print(result.summary())
    return 0 if getattr(result, "ok", True) else 1


def _subcommand(commands: Commands, sub: Any, name: str, func: Any, help_text: str, example: str,
                json: bool = True) -> argparse.ArgumentParser:
    p = commands.add(name, func, help_text, example, json=json, root=False, under=sub)
    p.add_argument("--root", default=argparse.SUPPRESS, metavar="DIR", help="project root")
    return p


def push(args: argparse.Namespace) -> int:
    return _answer(args, open_project(args).push_artifacts(args.increment, args.to))


def add_push(commands: Commands, sub: Any) -> None:
    p = _subcommand(commands, sub, "push", push, "Copy the object store's objects to the remote (those it lacks).",
                    "sw-ml artifacts push 0042 --to s3://team-bucket/ml-objects")
    p.add_argument("increment", nargs="?", help="only this increment's experiments (default: every increment)")
    p.add_argument("--to", metavar="URL", help="the remote, an fsspec URL: a folder, s3://bucket/prefix, gs://, "
                   f"az://, ssh://host/path (default: {REMOTE_DEFAULT})")


def pull(args: argparse.Namespace) -> int:
    return _answer(args, open_project(args).pull_artifacts(args.experiments or None, getattr(args, "from"),
                                                           increment=args.increment))


def add_pull(commands: Commands, sub: Any) -> None:
    p = _subcommand(commands, sub, "pull", pull,
                    "Fetch the objects experiments record from the remote, checking each sha256.",
                    "sw-ml artifacts pull exp-003 exp-004      # no experiment: every one")
    p.add_argument("experiments", nargs="*", metavar="EXP", help="experiments to fetch for (default: all)")
    p.add_argument("--from", metavar="URL", help=f"the remote (default: {REMOTE_DEFAULT})")
    p.add_argument("--increment", help="look the experiments up in (or, with none named, take all of) this "
                   "increment")


def allow_remote(args: argparse.Namespace) -> int:
    remote, options, where = open_project(args).allow_remote()
    shown = ", ".join(f"{k}={v}" for k, v in sorted(options.items())) or "none"
    print(f"allowed the artifacts remote {remote} (storage options: {shown}) for this repository; "
          f"recorded in {where}")
    return 0


def add_allow_remote(commands: Commands, sub: Any) -> None:
    _subcommand(commands, sub, "allow-remote", allow_remote, "Confirm, for this repository and this user, the "
                "remote (and storage options) that .specweave/ml.yaml names: it came with the repository, so it is "
                "not used before.", "sw-ml artifacts allow-remote      # again after a commit changes the remote",
                json=False)


def status(args: argparse.Namespace) -> int:
    result = open_project(args).artifacts_status(args.increment, args.experiments or None, verify=args.verify)
    _answer(args, result)
    return 1 if result.missing or result.damaged else 0


def add_status(commands: Commands, sub: Any) -> None:
    p = _subcommand(commands, sub, "status", status, "Where the artifacts are in this clone: in git, in the object "
                    "store, or missing (exit 1 when some must be pulled).", "sw-ml artifacts status --verify")
    p.add_argument("experiments", nargs="*", metavar="EXP", help="only these experiments (default: all)")
    p.add_argument("--increment", help="only this increment")
    p.add_argument("--verify", action="store_true", help="hash every object here against its recorded sha256")


def migrate(args: argparse.Namespace) -> int:
    return _answer(args, open_project(args).migrate(args.increment, args.experiments or None, dry_run=args.dry_run))


def add_migrate(commands: Commands) -> None:
    p = commands.add("migrate", migrate, "Move the point logs (metrics.jsonl) of schema 1 and 2 runs out of git into "
                     "the object store, keeping a bounded summary in git; nothing else changes.",
                     "sw-ml migrate 0042 --dry-run     # then: sw-ml migrate 0042; git add -A .specweave; "
                     "sw-ml artifacts push", json=True)
    p.add_argument("experiments", nargs="*", metavar="EXP", help="only these experiments (default: all)")
    p.add_argument("--increment", help="only this increment")
    p.add_argument("--dry-run", action="store_true", help="say what would move, move nothing")


def register(commands: Commands) -> None:
    group = commands.add("artifacts", lambda args: 2, "Share the object store (models, binary and large artifacts "
                         "kept out of git): push, pull, status.", "sw-ml artifacts push --to "
                         "s3://team-bucket/ml-objects    # in another clone: sw-ml artifacts pull")
    sub = group.add_subparsers(dest="artifacts_action", metavar="ACTION")
    sub.required = True
    add_push(commands, sub)
    add_pull(commands, sub)
    add_allow_remote(commands, sub)
    add_status(commands, sub)
    add_migrate(commands)
