"""`sw-ml compare-experiments` and `sw-ml export-experiments`."""

from __future__ import annotations

import argparse
import sys

from .command_kit import Commands, open_project, split_list
from .output import print_json

INCREMENT_HELP = "0042, a full id or a slug (default: active, then newest)"


def compare_experiments(args: argparse.Namespace) -> int:
    from pathlib import Path

    project = open_project(args)
    comparison = project.compare(args.increment, split_list(args.experiments), where=args.where, status=args.status,
                                 tag=args.tag, metrics=split_list(args.metrics), primary_metric=args.primary_metric,
                                 goal=args.goal, write_report=not args.no_write)
    if comparison.report_path:
        comparison.report_path = Path(project.rel(comparison.report_path))
    if args.json:
        print_json(comparison)
        return 0
    sys.stdout.write(comparison.markdown)
    if comparison.report_path:
        print(f"\nwrote {comparison.report_path}", file=sys.stderr)
    return 0


def add_compare_experiments(commands: Commands) -> None:
    p = commands.add("compare-experiments", compare_experiments,
                     "Compare experiments: a table, the best model with reasons; writes experiments/comparison.md.",
                     "sw-ml compare-experiments 0042 --primary-metric auc", json=True, filters=True)
    p.add_argument("increment", nargs="?", help=INCREMENT_HELP)
    p.add_argument("-e", "--experiments", action="append", metavar="IDS", help="only these (comma-separated)")
    p.add_argument("--metrics", action="append", metavar="NAMES", help="metric columns (comma-separated)")
    p.add_argument("--primary-metric", metavar="NAME", help="rank by this metric")
    p.add_argument("--goal", choices=["max", "min"], help="direction of the primary metric (default: from its name)")
    p.add_argument("--no-write", action="store_true", help="do not write comparison.md")


def export_experiments(args: argparse.Namespace) -> int:
    result = open_project(args).export(args.increment, args.format, args.output, where=args.where, sort=args.sort)
    if result.path is None:
        sys.stdout.write(result.text or "")
    else:
        print(f"wrote {result.rows} experiments to {result.path}", file=sys.stderr)
    return 0


def add_export_experiments(commands: Commands) -> None:
    p = commands.add("export-experiments", export_experiments,
                     "Export an increment's experiments, params and metrics flattened.",
                     "sw-ml export-experiments 0042 --format csv -o results.csv")
    p.add_argument("increment", nargs="?", help=INCREMENT_HELP)
    p.add_argument("--format", default="csv", choices=["csv", "json", "md", "markdown"])
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default: print)")
    p.add_argument("--where", metavar="FILTER", help="only experiments matching this filter")
    p.add_argument("--sort", metavar="KEYS", help="e.g. '-metrics.auc'")


def register(commands: Commands) -> None:
    add_compare_experiments(commands)
    add_export_experiments(commands)
