"""`sw-ml add-note` and `sw-ml tag`: small edits to one experiment."""

from __future__ import annotations

import argparse

from .command_kit import Commands, open_project, split_list


def add_note(args: argparse.Namespace) -> int:
    run = open_project(args).run(args.experiment, args.increment)  # found once; the note goes to that run
    run.add_note(" ".join(args.text))
    print(f"note added to {run.record.increment}/{run.record.id}")
    return 0


def add_add_note(commands: Commands) -> None:
    p = commands.add("add-note", add_note, "Add a note to an experiment (once it ended, appended to its "
                     "edits.jsonl: two clones' notes merge with no conflict).",
                     "sw-ml add-note exp-004 'FAILED: out of memory, halve the batch size'")
    p.add_argument("experiment")
    p.add_argument("text", nargs="+")
    p.add_argument("--increment")


def tag(args: argparse.Namespace) -> int:
    summary = open_project(args).tag(args.experiment, args.tags, split_list(args.remove) or [], args.increment)
    print(f"{summary.id}: tags {', '.join(summary.tags) if summary.tags else '(none)'}")
    return 0


def add_tag(commands: Commands) -> None:
    p = commands.add("tag", tag, "Add (or --remove) tags on an experiment.",
                     "sw-ml tag exp-003 production-candidate --remove draft")
    p.add_argument("experiment")
    p.add_argument("tags", nargs="*")
    p.add_argument("--remove", action="append", metavar="TAGS", help="tags to remove (comma-separated)")
    p.add_argument("--increment")


def register(commands: Commands) -> None:
    add_add_note(commands)
    add_tag(commands)
