"""`sw-ml`: the command line face of specweave-ml.

Each command parses its arguments, calls one function of `skill/`, and
formats the result: a readable table for people, `--json` for scripts. A
SpecweaveError becomes one line on stderr (`sw-ml: error: ...`) and its exit
code; never a traceback. Heavy modules (pandas, jinja2, the MCP server) are
imported only by the commands that need them, so `sw-ml --help` is fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from skill.layout import STATUSES  # the format's names: a light module, fine for `sw-ml --help`

PROG = "sw-ml"


# -- output helpers -------------------------------------------------------------------------
def _json(data: Any) -> None:
    from skill.storage.fileio import to_jsonable

    sys.stdout.write(json.dumps(to_jsonable(data), indent=2, ensure_ascii=False, allow_nan=False) + "\n")


def _table(headers: list[str], rows: list[list[str]]) -> str:
    if not rows:
        return ""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(lines) + "\n"


def _project(args: argparse.Namespace) -> Any:
    """The one core object every command calls (`--root` checked: a folder that does not exist is
    said in one line)."""
    from skill.project import Project

    return Project(getattr(args, "root", None))


def _split(values: list[str] | None) -> list[str] | None:
    """`-e a,b -e c` -> [a, b, c]."""
    if not values:
        return None
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _whole_number(text: str) -> int | str:
    """An int when `text` is one; anything else is handed on as is, for the core to refuse in one line."""
    try:
        return int(text)
    except ValueError:
        return text


# -- commands -------------------------------------------------------------------------------
def _summaries(records: list[Any]) -> list[Any]:
    from skill.schemas.records import ExperimentSummary

    return [ExperimentSummary.from_record(r) for r in records]


def cmd_list_increments(args: argparse.Namespace) -> int:
    project = _project(args)
    incs = [inc.model_copy(update={"path": Path(project.rel(inc.path))}) for inc in project.increments()]
    if args.json:
        _json([inc.model_dump(mode="json") for inc in incs])
        return 0
    if not incs:
        print(f"no increments under {project.rel(project.store)}/increments yet: log a run with track_experiment()")
        return 0
    rows = [[inc.id, inc.title, str(inc.experiment_count or 0), inc.group or ""] for inc in incs]
    sys.stdout.write(_table(["INCREMENT", "TITLE", "EXPERIMENTS", "GROUP"], rows))
    return 0


def _key_metrics(records: list[Any], limit: int = 4) -> list[str]:
    from skill.analysis.metric_names import metric_columns

    names = {k for r in records for k, v in r.metrics.items() if isinstance(v, (int, float))}
    return metric_columns(names)[:limit]


def _list_columns(project: Any, args: argparse.Namespace, records: list[Any]) -> list[str]:
    """`--columns` as given (each a metric some run logged), else the primary metric first (from
    --primary-metric, .specweave/ml.yaml, or what the comparison ranks by), then the key metrics."""
    import difflib

    from skill.errors import InvalidInput

    present = sorted({k for r in records for k in r.metrics})
    for name in [*(_split(args.columns) or []), *([args.primary_metric] if args.primary_metric else [])]:
        if name not in present:
            near = difflib.get_close_matches(name, present, n=3) or present[:5]
            raise InvalidInput("column", name, "a metric some listed run logged: " + ", ".join(near))
    if args.columns:
        return _split(args.columns) or []
    primary = args.primary_metric
    if primary is None and not args.all and records:
        primary = project.compare(records[0].increment, write_report=False).primary_metric
    key = _key_metrics(records)
    return [primary, *[m for m in key if m != primary]][:4] if primary else key


def cmd_list_experiments(args: argparse.Namespace) -> int:
    from skill.analysis.paging import first
    from skill.analysis.render import column_numbers, short_duration
    from skill.storage.run_records import pipeline_order

    project = _project(args)
    if args.all and args.increment:
        raise _usage("give an increment or --all, not both")
    records = project.experiments(args.increment, all_increments=args.all, status=args.status, tag=args.tag,
                                  where=args.where, sort=args.sort)
    records = first(records, args.limit, what="--limit")
    if args.json:
        _json([s.model_dump(mode="json") for s in _summaries(records)])
        return 0
    ordered = pipeline_order(records)
    if not ordered:
        print("no experiments match" if (args.where or args.status or args.tag) else
              "no experiments yet: log one with track_experiment() in a training script")
        return 0
    metrics = _list_columns(project, args, records)
    headers = [*(["INCREMENT"] if args.all else []), "EXPERIMENT", "STATUS", *metrics, "DURATION", "TAGS"]
    columns = {m: column_numbers([r.metrics.get(m) for r, _ in ordered]) for m in metrics}
    rows = []
    for i, (record, depth) in enumerate(ordered):
        label = ("  " * depth + "└ " if depth else "") + record.id
        if record.meta and record.meta.stage:
            label += f" [{record.meta.stage}]"
        status = record.status + (" (damaged)" if record.problems else "")
        cells = [columns[m][i] if m in record.metrics else "-" for m in metrics]
        duration = short_duration(record.meta.duration_s) if record.meta and record.meta.duration_s is not None else "-"
        rows.append([*([record.increment] if args.all else []), label, status, *cells, duration,
                     ",".join(record.tags)])
    sys.stdout.write(_table(headers, rows))
    for record, _ in ordered:
        for problem in record.problems:
            print(f"damaged: {record.id}: {problem}")
    return 0


def cmd_show_experiment(args: argparse.Namespace) -> int:
    from skill.analysis.render import short_duration, short_number

    project = _project(args)
    record = project.detail(args.experiment, args.increment)
    if args.json:
        _json(record.model_dump(mode="json"))
        return 0
    siblings = project.experiments(record.increment)
    stages = [r for r in siblings if r.meta and r.meta.parent == record.id and r.dir != record.dir]
    stages.sort(key=lambda r: (r.meta.stage_order if r.meta and r.meta.stage_order is not None else 1 << 30, r.id))
    meta = record.meta
    out = [f"{record.id}  ({record.status}{', damaged' if record.problems else ''})",
           f"  increment:   {record.increment}", f"  folder:      {record.path}"]
    if meta:
        out.append(f"  name:        {meta.name}")
        if meta.description:
            out.append(f"  description: {meta.description}")
        out.append(f"  started:     {meta.started.isoformat()}")
        if meta.duration_s is not None:
            out.append(f"  duration:    {short_duration(meta.duration_s)}")
        if meta.tags:
            out.append(f"  tags:        {', '.join(meta.tags)}")
        if meta.parent:
            out.append(f"  parent:      {meta.parent}" + (f" (stage {meta.stage})" if meta.stage else ""))
        if meta.git.commit:
            out.append(f"  git:         {meta.git.commit[:12]} {meta.git.branch or ''}"
                       f"{' (dirty)' if meta.git.dirty else ''}".rstrip())
        if meta.python:
            out.append(f"  python:      {meta.python.split()[0]} on {meta.platform or '?'}"
                       f" ({len(meta.packages)} packages recorded; --json lists them)")
        if meta.data_version:
            out.append(f"  data:        {meta.data_version}")
        from .cli_repro import show_lines  # capture, datasets, reproduction

        out += show_lines(meta)
    if record.params:
        out.append("params:")
        out += [f"  {k}: {v}" for k, v in sorted(record.params.items())]
    if record.metrics:
        out.append("metrics:")
        stats = {s.key: s for s in project.metric_stats(record.dir, record.increment)}  # every point: min/max/best
        for k, v in sorted(record.metrics.items()):
            s = stats.get(k)
            line = f"  {k}: {short_number(v)}"
            if s is not None and s.count > 1 and s.min_step is not None:
                best = f"  best {short_number(s.best)} @ {s.best_step}" if s.best_step is not None else ""
                line += (f"  (min {short_number(s.min)} @ {s.min_step}, max {short_number(s.max)} @ {s.max_step}"
                         f"{best.replace('  ', ', ', 1)}; {s.count} points)  {s.sparkline}")
            out.append(line)
    if stages:
        out.append("stages:")
        for stage in stages:
            main = ", ".join(f"{k}={short_number(v)}" for k, v in sorted(stage.metrics.items())[:3])
            out.append(f"  {stage.meta.stage_order if stage.meta and stage.meta.stage_order is not None else '-'}. "
                       f"{stage.id} [{stage.meta.stage if stage.meta else ''}] {stage.status}"
                       + (f"  {main}" if main else ""))
    if meta and meta.artifacts:
        out.append("artifacts:")
        from skill.storage.objects import place_note

        out += [f"  {a.name} ({a.size} bytes, sha256 {a.sha256[:12]}{place_note(project.store, a)})"
                for a in meta.artifacts]
    if meta and meta.notes:
        out.append("notes:")
        out += [f"  {n.ts.strftime('%Y-%m-%d %H:%M')}  {n.text.splitlines()[0] if n.text else ''}" for n in meta.notes]
    if record.problems:
        out.append("damaged:")
        out += [f"  {p}" for p in record.problems]
    print("\n".join(out))
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    project = _project(args)
    comparison = project.compare(args.increment, _split(args.experiments), where=args.where, status=args.status,
                                 tag=args.tag, metrics=_split(args.metrics), primary_metric=args.primary_metric,
                                 goal=args.goal, write_report=not args.no_write)
    if comparison.report_path:
        comparison.report_path = Path(project.rel(comparison.report_path))
    if args.json:
        _json(comparison.model_dump(mode="json"))
        return 0
    sys.stdout.write(comparison.markdown)
    if comparison.report_path:
        print(f"\nwrote {comparison.report_path}", file=sys.stderr)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    result = _project(args).export(args.increment, args.format, args.output, where=args.where, sort=args.sort)
    if result.path is None:
        sys.stdout.write(result.text or "")
    else:
        print(f"wrote {result.rows} experiments to {result.path}", file=sys.stderr)
    return 0


def cmd_log_decision(args: argparse.Namespace) -> int:
    decision = _project(args).log_decision(args.experiment, args.rationale, increment=args.increment,
                                           alternatives=_split(args.alternatives), author=args.author)
    if args.json:
        _json(decision.model_dump(mode="json"))
    else:
        if decision.selected_now in (None, decision.selected):
            print(f"decision logged for {decision.increment}: {decision.selected} (tagged 'selected')")
        else:
            print(f"decision logged for {decision.increment}: {decision.selected}; NOT selected: a decision dated "
                  f"later still selects {decision.selected_now}")
    return 0


def cmd_sync_docs(args: argparse.Namespace) -> int:
    project = _project(args)
    check = args.action == "check"
    result = project.sync_docs(_split(args.increment), dry_run=args.dry_run or check)
    result.path = Path(project.rel(result.path))
    if args.json:
        _json(result.model_dump(mode="json"))
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


def cmd_add_note(args: argparse.Namespace) -> int:
    project = _project(args)
    project.add_note(args.experiment, " ".join(args.text), args.increment)
    record = project.experiment(args.experiment, args.increment)
    print(f"note added to {record.increment}/{record.id}")
    return 0


def cmd_tag(args: argparse.Namespace) -> int:
    summary = _project(args).tag(args.experiment, args.tags, _split(args.remove) or [], args.increment)
    print(f"{summary.id}: tags {', '.join(summary.tags) if summary.tags else '(none)'}")
    return 0


def cmd_push(args: argparse.Namespace) -> int:
    from skill.integrations.mlflow_push import push_experiments  # mlflow itself loads only here

    result = push_experiments(_project(args).root, args.increment, args.to)
    if args.json:
        _json(result.model_dump(mode="json"))
    else:
        print(result.summary())
    return 0


def _run_serve(args: argparse.Namespace) -> int:
    from mcp_server.cli import run_serve

    return int(run_serve(args) or 0)


def _run_init(args: argparse.Namespace) -> int:
    from mcp_server.cli import run_init

    return int(run_init(args) or 0)


# -- the parser -----------------------------------------------------------------------------
def _usage(message: str) -> Exception:
    from skill.errors import SpecweaveError

    err = SpecweaveError(message)
    err.exit_code = 2  # type: ignore[misc]
    return err


def _command_of(argv: Sequence[str]) -> str | None:
    skip = False
    for token in argv:
        if skip:
            skip = False
            continue
        if token == "--root":
            skip = True
            continue
        if token.startswith("-"):
            continue
        return token
    return None


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The whole parser. The MCP server's own options load only when its command is used."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--root", default=argparse.SUPPRESS, metavar="DIR",
                        help="project root (default: SPECWEAVE_ROOT, CLAUDE_PROJECT_DIR, then walk up from here)")
    as_json = argparse.ArgumentParser(add_help=False)
    as_json.add_argument("--json", action="store_true", help="print JSON for scripts instead of a table")
    filters = argparse.ArgumentParser(add_help=False)
    filters.add_argument("--status", choices=list(STATUSES))
    filters.add_argument("--tag", help="only experiments carrying this tag")
    filters.add_argument("--where", metavar="FILTER",
                         help="e.g. \"metrics.auc > 0.8 and params.max_depth <= 6\" (fields: params.X, metrics.X, "
                              "tags, status, name, id; and/or/not, parentheses, in (...))")

    parser = argparse.ArgumentParser(
        prog=PROG, parents=[common], formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Experiment tracking that lives in your repository: list, compare, decide, document.",
        epilog="example:\n  sw-ml list-experiments 0042 --where 'metrics.auc > 0.8' --sort '-metrics.auc'\n\n"
               "Run 'sw-ml COMMAND --help' for a command's options and an example.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    def add(name: str, func: Callable[[argparse.Namespace], int], help_text: str, example: str,
            parents: list[argparse.ArgumentParser] = (), root: bool = True,  # type: ignore[assignment]
            ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=[common, *parents] if root else list(parents), help=help_text,
                           description=help_text,
                           epilog="example:\n  " + example, formatter_class=argparse.RawDescriptionHelpFormatter)
        p.set_defaults(func=func)
        return p

    add("list-increments", cmd_list_increments, "List the project's increments and how many experiments each holds.",
        "sw-ml list-increments --json", [as_json])

    p = add("list-experiments", cmd_list_experiments, "List an increment's experiments (pipelines as one unit).",
            "sw-ml list-experiments 0042 --where 'metrics.auc > 0.8 and params.max_depth <= 6' --sort '-metrics.auc'",
            [as_json, filters])
    p.add_argument("increment", nargs="?", help="0042, a full id or a slug (default: active, then newest)")
    p.add_argument("--all", action="store_true", help="every increment")
    p.add_argument("--sort", metavar="KEYS", help="e.g. 'metrics.auc desc' or '-metrics.auc,name'")
    p.add_argument("--limit", type=_whole_number, metavar="N", help="at most N experiments (N >= 1)")
    p.add_argument("--primary-metric", metavar="NAME", help="show this metric first (default: ml.yaml's, else "
                   "what compare-experiments ranks by)")
    p.add_argument("--columns", action="append", metavar="NAMES", help="the metric columns (comma-separated)")

    p = add("show-experiment", cmd_show_experiment, "Show one experiment: params, metrics, environment, notes, stages.",
            "sw-ml show-experiment exp-003-xgboost", [as_json])
    p.add_argument("experiment", help="exp-003, exp-003-xgboost, a slug, or 0042/exp-003")
    p.add_argument("--increment", help="look only in this increment")

    p = add("compare-experiments", cmd_compare,
            "Compare experiments: a table, the best model with reasons; writes experiments/comparison.md.",
            "sw-ml compare-experiments 0042 --primary-metric auc", [as_json, filters])
    p.add_argument("increment", nargs="?", help="0042, a full id or a slug (default: active, then newest)")
    p.add_argument("-e", "--experiments", action="append", metavar="IDS", help="only these (comma-separated)")
    p.add_argument("--metrics", action="append", metavar="NAMES", help="metric columns (comma-separated)")
    p.add_argument("--primary-metric", metavar="NAME", help="rank by this metric")
    p.add_argument("--goal", choices=["max", "min"], help="direction of the primary metric (default: from its name)")
    p.add_argument("--no-write", action="store_true", help="do not write comparison.md")

    p = add("export-experiments", cmd_export, "Export an increment's experiments, params and metrics flattened.",
            "sw-ml export-experiments 0042 --format csv -o results.csv")
    p.add_argument("increment", nargs="?", help="0042, a full id or a slug (default: active, then newest)")
    p.add_argument("--format", default="csv", choices=["csv", "json", "md", "markdown"])
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default: print)")
    p.add_argument("--where", metavar="FILTER", help="only experiments matching this filter")
    p.add_argument("--sort", metavar="KEYS", help="e.g. '-metrics.auc'")

    p = add("log-decision", cmd_log_decision, "Record which experiment was chosen and why (tags it 'selected').",
            "sw-ml log-decision exp-003-xgboost --rationale 'Best AUC, fast inference' --alternatives exp-002",
            [as_json])
    p.add_argument("experiment", help="the chosen experiment")
    p.add_argument("--rationale", "-r", required=True, help="why it was chosen")
    p.add_argument("--increment", help="its increment (default: found from the experiment)")
    p.add_argument("--alternatives", action="append", metavar="IDS", help="experiments considered (comma-separated)")
    p.add_argument("--author", help="who decided (default: git user.email)")

    p = add("sync-docs", cmd_sync_docs,
            "Update the living docs (.specweave/docs/internal/architecture/ml-experiments.md).",
            "sw-ml sync-docs update        # or: sw-ml sync-docs check (exit 1 when out of date)", [as_json])
    p.add_argument("action", nargs="?", default="update", choices=["update", "check"],
                   help="update (default) writes; check only reports")
    p.add_argument("--increment", action="append", metavar="IDS", help="only these increments (comma-separated)")
    p.add_argument("--dry-run", action="store_true", help="print the diff, write nothing")

    p = add("add-note", cmd_add_note, "Add a note to an experiment (kept in its metadata.yaml).",
            "sw-ml add-note exp-004 'FAILED: out of memory, halve the batch size'")
    p.add_argument("experiment")
    p.add_argument("text", nargs="+")
    p.add_argument("--increment")

    p = add("tag", cmd_tag, "Add (or --remove) tags on an experiment.",
            "sw-ml tag exp-003 production-candidate --remove draft")
    p.add_argument("experiment")
    p.add_argument("tags", nargs="*")
    p.add_argument("--remove", action="append", metavar="TAGS", help="tags to remove (comma-separated)")
    p.add_argument("--increment")

    p = add("push", cmd_push, "Push local experiments to an MLflow tracking server.",
            "sw-ml push 0042 --to http://mlflow.internal:5000", [as_json])
    p.add_argument("increment", nargs="?", help="default: every increment")
    p.add_argument("--to", default="", metavar="URI",
                   help="MLflow tracking URI (default: SPECWEAVE_TRACKING_URI, else tracking_uri in .specweave/ml.yaml)")

    # Commands of their own modules (each imports only argparse-level code at parser build).
    from . import cli_artifacts, cli_import, cli_repro, cli_views

    for module in (cli_artifacts, cli_views, cli_repro, cli_import):
        module.register(add, as_json=as_json, filters=filters)

    command = _command_of(argv)
    for name, run, help_text, example, adder in (
        ("serve", _run_serve, "Run the MCP server (stdio by default, or streamable HTTP).",
         "sw-ml serve --transport http --host 127.0.0.1 --port 8765", "add_serve_arguments"),
        ("init", _run_init, "Register the MCP server with an agent client and prepare the project.",
         "sw-ml init", "add_init_arguments"),
    ):
        p = add(name, run, help_text, example, root=False)  # the server's parser brings its own --root
        if command != name:
            p.add_argument("--root", default=argparse.SUPPRESS, metavar="DIR", help="project root")
        else:
            try:
                from mcp_server import cli as server_cli
            except ImportError as exc:
                p.set_defaults(func=_unavailable(name, exc))
            else:
                getattr(server_cli, adder)(p)
    return parser


def _unavailable(name: str, exc: ImportError) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        print(f"{PROG}: error: '{name}' is not available in this installation ({exc})", file=sys.stderr)
        return 5

    return run


def _join_dash_values(argv: list[str]) -> list[str]:
    """`--sort -metrics.auc` means the value: argparse alone would take it for an option."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        token = argv[i]
        if token in ("--sort", "--where") and i + 1 < len(argv) and argv[i + 1].startswith("-") \
                and not argv[i + 1].startswith("--"):
            out.append(f"{token}={argv[i + 1]}")
            i += 2
            continue
        out.append(token)
        i += 1
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Every command's output, argparse's and the errors' included, with control characters escaped
    (cli_output.py: the one place that escapes, so text from a clone cannot drive the terminal)."""
    from .cli_output import inert_output

    with inert_output():
        return _main(argv)


def _debug() -> bool:
    import os

    return os.environ.get("SPECWEAVE_DEBUG", "") not in ("", "0")


def _main(argv: Sequence[str] | None) -> int:
    args_list = _join_dash_values(list(sys.argv[1:] if argv is None else argv))
    parser = build_parser(args_list)
    args = parser.parse_args(args_list)
    if getattr(args, "root", None) is None:
        # `sw-ml --root DIR serve`: a sub-parser's own default must not hide the global option
        pre = argparse.ArgumentParser(add_help=False)
        pre.add_argument("--root")
        args.root = pre.parse_known_args(args_list)[0].root
    from skill.errors import SpecweaveError

    try:
        return int(args.func(args) or 0)
    except SpecweaveError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return err.exit_code
    except BrokenPipeError:
        try:
            sys.stdout = open(__import__("os").devnull, "w")  # noqa: SIM115 - quiet exit when piped to head
        except OSError:
            pass
        return 0
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except OSError as err:
        if _debug():
            raise
        where = f": {err.filename}" if err.filename else ""
        print(f"{PROG}: error: {err.strerror or err}{where}", file=sys.stderr)
        return 1
    except UnicodeError as err:  # a non-UTF-8 argument reaching a file or a name
        if _debug():
            raise
        print(f"{PROG}: error: text that is not valid UTF-8 ({getattr(err, 'reason', err)}): give names and "
              "text as UTF-8 (SPECWEAVE_DEBUG=1 shows where)", file=sys.stderr)
        return 2
    except (ValueError, OverflowError) as err:
        # bad input the checks above did not name; a real bug shows its traceback with SPECWEAVE_DEBUG=1
        if _debug():
            raise
        print(f"{PROG}: error: {' '.join(str(err).split()) or type(err).__name__} "
              "(SPECWEAVE_DEBUG=1 shows where)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
