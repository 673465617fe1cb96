"""`sw-ml` commands: ui, report, history. Registered by `specweave.cli.build_parser`.

Each builds a Project, calls one method (or the dashboard's server or report writer, imported only
when the command runs) and formats the answer.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def _project(args: argparse.Namespace) -> Any:
    from skill.project import Project

    return Project(getattr(args, "root", None))


def _split(values: list[str] | None) -> list[str]:
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


def cmd_ui(args: argparse.Namespace) -> int:
    from dashboard.server import serve

    try:
        serve(getattr(args, "root", None), host=args.host, port=args.port, token=args.token)
    except KeyboardInterrupt:
        pass
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from dashboard.report import write_report

    result = write_report(_project(args), _split(args.increments) or None, args.output, where=args.where,
                          metric=args.metric)
    if args.json:
        sys.stdout.write(json.dumps(result.model_dump(mode="json"), indent=2) + "\n")
    else:
        size = f"{result.bytes / 1e6:.1f} MB" if result.bytes >= 1e5 else f"{result.bytes / 1e3:.0f} KB"
        print(f"wrote {result.path} ({result.runs} runs, {size}; opens offline in any browser)")
    return 0


def _fmt(value: Any) -> str:
    from skill.analysis.render import short_number

    return "-" if value is None else short_number(value)


def cmd_history(args: argparse.Namespace) -> int:
    project = _project(args)
    run = project.run(args.experiment, args.increment)
    record = run.record
    answer = run.curves(args.metric, args.max_points)
    source, stats, curves = answer.source, answer.stats, answer.curves
    if source == "summary":
        print(f"{record.id}: from the summary git keeps (this clone lacks the full log: sw-ml artifacts pull)",
              file=sys.stderr)
    if args.json:
        out = {"experiment": record.id, "increment": record.increment, "source": source,
               "metrics": [{**s.model_dump(mode="json"), "points": curves[s.key].model_dump(mode="json")}
                           for s in stats]}
        sys.stdout.write(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
        return 0
    if not stats:
        print(f"{record.id}: no metrics logged yet")
        return 0
    for s in stats:
        best = (f"  best {_fmt(s.best)} at step {s.best_step} ({'lower' if s.goal == 'min' else 'higher'} is better)"
                if s.best_step is not None else "")
        print(f"{record.id}  {s.key}  ({s.count} point{'s' if s.count != 1 else ''})")
        if s.min_step is None:
            print(f"  no finite value (last {_fmt(s.last)} at step {s.last_step})")
        else:
            print(f"  min {_fmt(s.min)} at step {s.min_step}   max {_fmt(s.max)} at step {s.max_step}   "
                  f"last {_fmt(s.last)} at step {s.last_step}{best}".rstrip())
        if s.sparkline and s.count > 1:
            print(f"  {s.sparkline}")
        if args.metric or len(stats) == 1:
            curve = curves[s.key]
            shown = "every point" if not curve.downsampled else f"{len(curve.steps)} of {curve.total_points} points " \
                    "(each bucket's min and max kept; --max-points N for more)"
            print(f"  {shown}:")
            print("  " + "step".rjust(10) + "  " + "value".rjust(14) + "  " + "time (s)".rjust(10))
            for step, value, t in zip(curve.steps, curve.values, curve.t):
                print("  " + str(step).rjust(10) + "  " + _fmt(value).rjust(14) + "  " + f"{t:.1f}".rjust(10))
    return 0


def register(add: Any, **parents: Any) -> None:
    """Add this module's commands with `add(name, func, help, example, parents)`."""
    as_json = parents["as_json"]
    p = add("ui", cmd_ui, "Open the experiments in a local, live web page (loopback, a token in the URL).",
            "sw-ml ui --port 8766        # then open the printed http://127.0.0.1:8766/?token=...")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8766, help="port (default 8766; 0 picks a free one)")
    p.add_argument("--token", default=None, help="the access token (default: SPECWEAVE_UI_TOKEN, else a new "
                   "random one each start)")

    p = add("report", cmd_report, "Write the views as one self-contained HTML file (opens offline: mail it, "
            "attach it to a PR).", "sw-ml report 0042 -o 0042.html     # default: .specweave/reports/0042.html "
            "(git-ignored)", [as_json])
    p.add_argument("increments", nargs="*", metavar="INCREMENT", help="increments to show (default: active, then "
                   "newest)")
    p.add_argument("-o", "--output", metavar="FILE", help="where to write it (default .specweave/reports/"
                   "<increments>.html, ignored by git)")
    p.add_argument("--where", metavar="FILTER", help="only the runs this filter keeps, e.g. \"status = completed\"")
    p.add_argument("--metric", help="the metric the curves open on (default: the primary one)")

    p = add("history", cmd_history, "A metric's history in the terminal: min, max, best step, a sparkline, the points.",
            "sw-ml history exp-003 test/logloss", [as_json])
    p.add_argument("experiment", help="exp-003, exp-003-xgboost, a slug, or 0042/exp-003")
    p.add_argument("metric", nargs="?", help="one metric (default: a summary of every metric)")
    p.add_argument("--increment", help="look only in this increment")
    p.add_argument("--max-points", type=int, default=100, metavar="N",
                   help="points listed at most (default 100; min/max-preserving downsampling)")
