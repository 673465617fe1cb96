"""`sw-ml push`: local experiments to an MLflow tracking server."""

from __future__ import annotations

import argparse

from .command_kit import Commands, open_project
from .output import print_json


def push(args: argparse.Namespace) -> int:
    result = open_project(args).push_to_mlflow(args.increment, args.to)
    if args.json:
        print_json(result)
    else:
        print(result.summary())
    return 0


def register(commands: Commands) -> None:
    p = commands.add("push", push, "Push local experiments to an MLflow tracking server.",
                     "sw-ml push 0042 --to http://mlflow.internal:5000", json=True)
    p.add_argument("increment", nargs="?", help="default: every increment")
    p.add_argument("--to", default="", metavar="URI",
                   help="MLflow tracking URI (default: SPECWEAVE_TRACKING_URI, else tracking_uri in .specweave/ml.yaml)")
