"""`sw-ml import {mlflow,wandb,tensorboard,csv} SOURCE`: bring another tracker's runs in (`Project.import_runs`)."""

from __future__ import annotations

import argparse
from typing import Any

from .command_kit import Commands, open_project
from .output import print_json

KINDS = ("mlflow", "wandb", "tensorboard", "csv")


def _param(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    from skill.project import Project

    return key.strip(), Project.param_value(value)  # "0.1" -> 0.1, "true" -> True, as MLflow's params


def import_runs(args: argparse.Namespace) -> int:
    report = open_project(args).import_runs(args.kind, args.source, experiment=args.experiment,
                                            increment=args.increment, dry_run=args.dry_run,
                                            step_column=args.step_column, time_column=args.time_column,
                                            params=dict(args.param or []))
    if args.json:
        print_json(report)
    else:
        print(report.summary())
    return 1 if report.damaged else 0


def register(commands: Commands) -> None:
    p = commands.add("import", import_runs,
                     "Import runs from MLflow (a server, an SQL store or an mlruns/ folder), W&B run folders, "
                     "TensorBoard event files or a CSV, as native runs; a second import adds only what is new (exit 1 "
                     "when a source run was damaged).",
                     "sw-ml import mlflow sqlite:///mlflow.db --experiment churn --increment 0042\n"
                     "  sw-ml import wandb ./wandb\n  sw-ml import tensorboard ./lightning_logs --dry-run\n"
                     "  sw-ml import csv results.csv --step-column epoch --param model=xgb", json=True)
    p.add_argument("kind", choices=KINDS, help="what the source is")
    p.add_argument("source", help="mlflow: http://host:5000, sqlite:///mlflow.db, an mlflow.db file or an mlruns/ "
                   "folder; wandb: a run folder, wandb/ or the folder holding it; tensorboard: a log dir; csv: a file")
    p.add_argument("--experiment", metavar="NAME", help="only this MLflow experiment (name or id) or W&B project")
    p.add_argument("--increment", metavar="ID", help="put every run here (default: one increment per MLflow "
                   "experiment, W&B project or log dir, named after it; a CSV: the active, then newest)")
    p.add_argument("--dry-run", action="store_true", help="read the source and report what would come in; write "
                   "nothing")
    p.add_argument("--step-column", metavar="NAME", help="csv: the step column (default: 'step', else the row number)")
    p.add_argument("--time-column", metavar="NAME", help="csv: the time column, epoch seconds or ISO 8601 (default: "
                   "the file's modification time)")
    p.add_argument("--param", action="append", type=_param, metavar="KEY=VALUE", help="csv: a param of the run "
                   "(repeatable)")
