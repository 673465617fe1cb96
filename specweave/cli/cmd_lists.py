"""`sw-ml list-increments` and `sw-ml list-experiments`."""

from __future__ import annotations

import argparse
import sys

from .command_kit import Commands, open_project, split_list, usage_error, whole_number
from .output import print_json, table


def list_increments(args: argparse.Namespace) -> int:
    from pathlib import Path

    project = open_project(args)
    incs = [inc.model_copy(update={"path": Path(project.rel(inc.path))}) for inc in project.increments()]
    if args.json:
        print_json(incs)
        return 0
    if not incs:
        print(f"no increments under {project.rel(project.store)}/increments yet: log a run with track_experiment()")
        return 0
    rows = [[inc.id, inc.title, str(inc.experiment_count or 0), inc.group or ""] for inc in incs]
    sys.stdout.write(table(["INCREMENT", "TITLE", "EXPERIMENTS", "GROUP"], rows))
    return 0


def add_list_increments(commands: Commands) -> None:
    commands.add("list-increments", list_increments,
                 "List the project's increments and how many experiments each holds.",
                 "sw-ml list-increments --json", json=True)


def list_experiments(args: argparse.Namespace) -> int:
    from skill.schemas.records import ExperimentSummary

    project = open_project(args)
    if args.all and args.increment:
        raise usage_error("give an increment or --all, not both")
    records = project.experiments(args.increment, all_increments=args.all, status=args.status, tag=args.tag,
                                  where=args.where, sort=args.sort, limit=args.limit, limit_option="--limit")
    if args.json:
        print_json([ExperimentSummary.from_record(r) for r in records])
        return 0
    ordered = project.stages(records)
    if not ordered:
        print("no experiments match" if (args.where or args.status or args.tag) else
              "no experiments yet: log one with track_experiment() in a training script")
        return 0
    metrics = project.listing_columns(records, split_list(args.columns), args.primary_metric, rank=not args.all)
    headers = [*(["INCREMENT"] if args.all else []), "EXPERIMENT", "STATUS", *metrics, "DURATION", "TAGS"]
    columns = {m: project.column_text([r.metrics.get(m) for r, _ in ordered]) for m in metrics}
    rows = []
    for i, (record, depth) in enumerate(ordered):
        label = ("  " * depth + "└ " if depth else "") + record.id
        if record.meta and record.meta.stage:
            label += f" [{record.meta.stage}]"
        status = record.status + (" (damaged)" if record.problems else "")
        cells = [columns[m][i] if m in record.metrics else "-" for m in metrics]
        duration = (project.duration_text(record.meta.duration_s)
                    if record.meta and record.meta.duration_s is not None else "-")
        rows.append([*([record.increment] if args.all else []), label, status, *cells, duration,
                     ",".join(record.tags)])
    sys.stdout.write(table(headers, rows))
    for record, _ in ordered:
        for problem in record.problems:
            print(f"damaged: {record.id}: {problem}")
    return 0


def add_list_experiments(commands: Commands) -> None:
    p = commands.add("list-experiments", list_experiments, "List an increment's experiments (pipelines as one unit).",
                     "sw-ml list-experiments 0042 --where 'metrics.auc > 0.8 and params.max_depth <= 6' "
                     "--sort '-metrics.auc'", json=True, filters=True)
    p.add_argument("increment", nargs="?", help="0042, a full id or a slug (default: active, then newest)")
    p.add_argument("--all", action="store_true", help="every increment")
    p.add_argument("--sort", metavar="KEYS", help="e.g. 'metrics.auc desc' or '-metrics.auc,name'")
    p.add_argument("--limit", type=whole_number, metavar="N", help="at most N experiments (N >= 1)")
    p.add_argument("--primary-metric", metavar="NAME", help="show this metric first (default: ml.yaml's, else "
                   "what compare-experiments ranks by)")
    p.add_argument("--columns", action="append", metavar="NAMES", help="the metric columns (comma-separated)")


def register(commands: Commands) -> None:
    add_list_increments(commands)
    add_list_experiments(commands)
