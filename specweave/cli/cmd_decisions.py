"""`sw-ml log-decision` and `sw-ml sync-docs`: what was chosen and why, and the living docs."""

from __future__ import annotations

import argparse
import sys

from .command_kit import Commands, open_project, split_list
from .output import print_json


def log_decision(args: argparse.Namespace) -> int:
    decision = open_project(args).log_decision(args.experiment, args.rationale, increment=args.increment,
                                               alternatives=split_list(args.alternatives), author=args.author)
    if args.json:
        print_json(decision)
    elif decision.selected_now in (None, decision.selected):
        print(f"decision logged for {decision.increment}: {decision.selected} (tagged 'selected')")
    else:
        print(f"decision logged for {decision.increment}: {decision.selected}; NOT selected: a decision dated "
              f"later still selects {decision.selected_now}")
    return 0


def add_log_decision(commands: Commands) -> None:
    p = commands.add("log-decision", log_decision, "Record which experiment was chosen and why (tags it 'selected').",
                     "sw-ml log-decision exp-003-xgboost --rationale 'Best AUC, fast inference' --alternatives "
                     "exp-002", json=True)
    p.add_argument("experiment", help="the chosen experiment")
    p.add_argument("--rationale", "-r", required=True, help="why it was chosen")
    p.add_argument("--increment", help="its increment (default: found from the experiment)")
    p.add_argument("--alternatives", action="append", metavar="IDS", help="experiments considered (comma-separated)")
    p.add_argument("--author", help="who decided (default: git user.email)")


def sync_docs(args: argparse.Namespace) -> int:
    from pathlib import Path

    project = open_project(args)
    check = args.action == "check"
    result = project.sync_docs(split_list(args.increment), dry_run=args.dry_run or check)
    result.path = Path(project.rel(result.path))
    if args.json:
        print_json(result)
    elif not result.increments and not result.changed:
        print(f"{result.path}: nothing to document: no increment has experiments yet (nothing was written)")
    elif result.dry_run:
        if result.diff:
            sys.stdout.write(result.diff)
        print(f"{result.path}: {'out of date' if result.changed else 'up to date'}", file=sys.stderr)
    else:
        state = f"updated ({', '.join(result.sections_changed)})" if result.changed else "already up to date"
        print(f"{result.path}: {state}")
    return 1 if check and result.changed else 0


def add_sync_docs(commands: Commands) -> None:
    p = commands.add("sync-docs", sync_docs,
                     "Update the living docs (.specweave/docs/internal/architecture/ml-experiments.md).",
                     "sw-ml sync-docs update        # or: sw-ml sync-docs check (exit 1 when out of date)", json=True)
    p.add_argument("action", nargs="?", default="update", choices=["update", "check"],
                   help="update (default) writes; check only reports")
    p.add_argument("--increment", action="append", metavar="IDS", help="only these increments (comma-separated)")
    p.add_argument("--dry-run", action="store_true", help="print the diff, write nothing")


def register(commands: Commands) -> None:
    add_log_decision(commands)
    add_sync_docs(commands)
