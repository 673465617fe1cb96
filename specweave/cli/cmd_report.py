"""`sw-ml report`: the views as one self-contained HTML file."""

from __future__ import annotations

import argparse

from .command_kit import Commands, open_project, split_list
from .output import print_json


def report(args: argparse.Namespace) -> int:
    result = open_project(args).write_report(split_list(args.increments) or None, args.output, where=args.where,
                                             metric=args.metric)
    if args.json:
        print_json(result)
    else:
        size = f"{result.bytes / 1e6:.1f} MB" if result.bytes >= 1e5 else f"{result.bytes / 1e3:.0f} KB"
        print(f"wrote {result.path} ({result.runs} runs, {size}; opens offline in any browser)")
    return 0


def register(commands: Commands) -> None:
    p = commands.add("report", report, "Write the views as one self-contained HTML file (opens offline: mail it, "
                     "attach it to a PR).", "sw-ml report 0042 -o 0042.html     # default: .specweave/reports/"
                     "0042.html (git-ignored)", json=True)
    p.add_argument("increments", nargs="*", metavar="INCREMENT", help="increments to show (default: active, then "
                   "newest)")
    p.add_argument("-o", "--output", metavar="FILE", help="where to write it (default .specweave/reports/"
                   "<increments>.html, ignored by git)")
    p.add_argument("--where", metavar="FILTER", help="only the runs this filter keeps, e.g. \"status = completed\"")
    p.add_argument("--metric", help="the metric the curves open on (default: the primary one)")
