"""`sw-ml history`: a metric's history in the terminal."""

from __future__ import annotations

import argparse
import sys

from .command_kit import Commands, open_project
from .output import print_json


def history(args: argparse.Namespace) -> int:
    project = open_project(args)
    run = project.run(args.experiment, args.increment)
    record = run.record
    answer = run.curves(args.metric, args.max_points)
    source, stats, curves = answer.source, answer.stats, answer.curves
    if source == "summary":  # a fresh clone: the summary's points, the logged counts
        print(f"{record.id}: from the summary git keeps (this clone lacks the full log: sw-ml artifacts pull)",
              file=sys.stderr)
    if args.json:
        print_json({"experiment": record.id, "increment": record.increment, "source": source,
                    "metrics": [{**s.model_dump(mode="json"), "points": curves[s.key].model_dump(mode="json")}
                                for s in stats]})
        return 0
    if not stats:
        print(f"{record.id}: no metrics logged yet")
        return 0

    def fmt(value: object) -> str:
        return "-" if value is None else project.number_text(value)

    for s in stats:
        best = (f"  best {fmt(s.best)} at step {s.best_step} ({'lower' if s.goal == 'min' else 'higher'} is better)"
                if s.best_step is not None else "")
        print(f"{record.id}  {s.key}  ({s.count} point{'s' if s.count != 1 else ''})")
        if s.min_step is None:
            print(f"  no finite value (last {fmt(s.last)} at step {s.last_step})")
        else:
            print(f"  min {fmt(s.min)} at step {s.min_step}   max {fmt(s.max)} at step {s.max_step}   "
                  f"last {fmt(s.last)} at step {s.last_step}{best}".rstrip())
        if s.sparkline and s.count > 1:
            print(f"  {s.sparkline}")
        if args.metric or len(stats) == 1:
            curve = curves[s.key]
            shown = "every point" if not curve.downsampled else f"{len(curve.steps)} of {curve.total_points} points " \
                    "(each bucket's min and max kept; --max-points N for more)"
            print(f"  {shown}:")
            print("  " + "step".rjust(10) + "  " + "value".rjust(14) + "  " + "time (s)".rjust(10))
            for step, value, t in zip(curve.steps, curve.values, curve.t):
                print("  " + str(step).rjust(10) + "  " + fmt(value).rjust(14) + "  " + f"{t:.1f}".rjust(10))
    return 0


def register(commands: Commands) -> None:
    p = commands.add("history", history,
                     "A metric's history in the terminal: min, max, best step, a sparkline, the points.",
                     "sw-ml history exp-003 test/logloss", json=True)
    p.add_argument("experiment", help="exp-003, exp-003-xgboost, a slug, or 0042/exp-003")
    p.add_argument("metric", nargs="?", help="one metric (default: a summary of every metric)")
    p.add_argument("--increment", help="look only in this increment")
    p.add_argument("--max-points", type=int, metavar="N",
                   help="points listed at most (default: the core's 500; min/max-preserving downsampling)")
