"""`sw-ml` commands: diff, reproduce. Registered by `specweave.cli.build_parser`."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def _value(value: Any) -> str:
    from skill.analysis.render import short_number

    return short_number(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def _changes(title: str, changes: Any, out: list[str]) -> None:
    if changes.empty:
        return
    out.append(f"{title}:")
    out += [f"  + {k}: {_value(v)}" for k, v in changes.added.items()]
    out += [f"  - {k}: {_value(v)}" for k, v in changes.removed.items()]
    out += [f"  ~ {k}: {_value(a)} -> {_value(b)}" for k, (a, b) in changes.changed.items()]


def format_diff(diff: Any) -> str:
    out = [f"diff {diff.a} -> {diff.b}"]
    _changes("params", diff.params, out)
    if diff.metrics:
        out.append("metrics:")
        width = max(len(k) for k in diff.metrics)
        for key, m in diff.metrics.items():
            line = f"  {key.ljust(width)}  {_value(m.a) if m.a is not None else '-'} -> " \
                   f"{_value(m.b) if m.b is not None else '-'}"
            if m.delta is not None and m.delta != 0:
                line += f"  ({m.delta:+.6g}" + (f", {m.rel * 100:+.2f}%" if m.rel is not None else "") + ")"
            elif m.delta == 0:
                line += "  (same)"
            out.append(line)
    code = diff.code
    if code.same is True:
        out.append(f"code: same ({code.a} and {code.b})")
    elif code.same is False:
        out.append(f"code: {code.a} -> {code.b}, {len(code.files)} file(s) differ")
        for f in code.files:
            counts = f" (+{f.added} -{f.removed})" if f.added is not None else " (binary)"
            out.append(f"  {f.status} {f.path}{counts}")
    else:
        out.append(f"code: {code.a or '?'} -> {code.b or '?'}")
    out += [f"  ! {p}" for p in code.problems]
    _changes("data", diff.data, out)
    _changes("environment", diff.environment, out)
    _changes("packages", diff.packages, out)
    if diff.params.empty and diff.data.empty and diff.environment.empty and diff.packages.empty and code.same:
        out.append("(same params, code, data and environment)")
    text = "\n".join(out) + "\n"
    if code.diff:
        text += "\n" + code.diff + ("" if code.diff.endswith("\n") else "\n")
        if code.truncated:
            text += "... (diff truncated: --max-code-bytes shows more)\n"
    return text


def show_lines(meta: Any) -> list[str]:
    """show-experiment's lines about reproduction: the capture, the datasets, any rerun and its verdict."""
    from skill.repro.datasets import describe

    out = []
    capture = meta.capture
    if capture is not None:
        code = (f"patch {capture.patch} ({len(capture.patch_files)} file(s))" if capture.patch
                else "no uncommitted changes" if meta.git.commit
                else "no commit recorded (no git repository, or one with no commit yet): its code is not recorded")
        from skill.controls import shell_line

        out.append(f"  command:     {shell_line(capture.argv) or '?'} (in {capture.cwd or '?'}); {code}"
                   + ("; commit not on any remote" if capture.on_remote is False else ""))
        if capture.seeds:
            out.append(f"  seeds:       {', '.join(f'{k}={v}' for k, v in capture.seeds.items())}")
    for dataset in meta.datasets:
        out.append(f"  dataset:     {dataset.name}: {describe(dataset)}")
    if meta.reproduces:
        verdict = f": {meta.reproduction.verdict} (rtol {meta.reproduction.rtol:g})" if meta.reproduction else ""
        out.append(f"  reproduces:  {meta.reproduces}{verdict}")
    for done in meta.reproduced_by:
        differs = f", differs on {', '.join(done.differs[:5])}" if done.differs else ""
        out.append(f"  reproduced:  {done.ts.strftime('%Y-%m-%d %H:%M')} by {done.rerun or '(no rerun)'}: "
                   f"{done.verdict} (rtol {done.rtol:g}{differs})")
    return out


def cmd_diff(args: argparse.Namespace) -> int:
    from .cli import _json, _project

    diff = _project(args).diff(args.a, args.b, args.increment, max_code_bytes=args.max_code_bytes)
    if args.json:
        _json(diff.model_dump(mode="json"))
    else:
        sys.stdout.write(format_diff(diff))
    return 0


def format_plan(plan: Any) -> str:
    """The plan as the user confirms it: the exact command (one shell word per argument, quoted so that
    newlines and invisible characters show), the working folder, the interpreter, every package change."""
    from skill.controls import shell_line, shell_word

    envs = {"current": f"reuse this interpreter ({plan.python}): its packages match the {plan.packages} recorded",
            "cached": f"reuse {plan.python}, built earlier by reproduce for these {plan.packages} packages",
            "create": f"create {plan.python.rsplit('/bin/', 1)[0]} with {plan.installer}: {plan.packages} packages "
                      f"pinned ({len(plan.package_differences)} differ from this interpreter)"}
    out = [f"reproduce {plan.experiment} ({plan.increment}):",
           f"  check out: {plan.commit[:12]} in a new git worktree (a temporary folder; your checkout is untouched)"]
    if plan.patch:
        out.append(f"  apply:     {plan.patch} ({len(plan.patch_files)} file(s): {', '.join(plan.patch_files[:6])})")
    out.append(f"  install:   {envs[plan.environment]}")
    out += [f"             {d}" for d in plan.package_differences]
    out.append(f"  run:       {shell_line([plan.python, *plan.command])}")
    out.append(f"  in:        {shell_word(plan.cwd)} of the worktree")
    out.append(f"  log:       a new experiment in {plan.increment} with reproduces: {plan.experiment}")
    seeds = ", ".join(f"{k}={v}" for k, v in plan.seeds.items())
    out.append(f"  compare:   its metrics, rtol {plan.rtol:g} ({plan.rtol_reason})" + (f"; seeds {seeds}" if seeds else ""))
    out += [f"  note:      {n}" for n in plan.notes]
    return "\n".join(out) + "\n"


def format_result(result: Any) -> str:
    from .cli import _table

    rows = []
    for m in result.metrics:
        state = "not compared" if m.ok is None else ("ok" if m.ok else "DIFFERS")
        rows.append([m.name, "-" if m.original is None else _value(m.original),
                     "-" if m.rerun is None else _value(m.rerun),
                     "-" if m.delta is None else f"{m.delta:+.3g}", state])
    text = _table(["METRIC", "ORIGINAL", "RERUN", "DELTA", ""], rows)
    lines = [f"{result.plan.experiment} -> {result.rerun or '(no rerun logged)'}: {result.verdict} "
             f"(rtol {result.plan.rtol:g})"]
    lines += [f"  {reason}" for reason in result.reasons]
    if result.verdict == "failed" and result.output_tail:
        lines += ["last output of the rerun:", *("  " + line for line in result.output_tail.splitlines()[-10:])]
    return text + "\n".join(lines) + "\n"


def _ask(prompt: str) -> bool:
    sys.stderr.write(prompt)
    sys.stderr.flush()
    answer = sys.stdin.readline()
    return answer.strip().lower() in ("y", "yes")


def cmd_reproduce(args: argparse.Namespace) -> int:
    from skill.errors import CannotReproduce

    from .cli import _json, _project

    project = _project(args)
    if args.dry_run:
        the_plan = project.reproduce_plan(args.experiment, args.rtol, args.increment)
        if args.json:
            _json(the_plan.model_dump(mode="json"))
        else:
            sys.stdout.write(format_plan(the_plan))
        return 0
    if not args.yes and not (sys.stdin is not None and sys.stdin.isatty()):
        project.reproduce_plan(args.experiment, args.rtol, args.increment)  # what cannot run says why first
        raise CannotReproduce(args.experiment, "it runs the command the run recorded, which whoever can commit to "
                              "this repository can write: read the plan (sw-ml reproduce "
                              f"{args.experiment} --dry-run), then pass --yes to run it (stdin is not a terminal, "
                              "so nothing was asked)")

    def confirm(the_plan: Any) -> bool:  # the plan shown is the plan run
        if args.yes and args.quiet:
            return True
        sys.stderr.write(format_plan(the_plan))
        return True if args.yes else _ask("run this command? [y/N] ")

    def echo(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    result = project.reproduce(args.experiment, args.rtol, args.increment, echo=None if args.quiet else echo,
                               timeout=args.timeout, confirm=confirm)
    if args.json:
        _json(result.model_dump(mode="json"))
    else:
        sys.stdout.write(format_result(result))
    return {"reproduced": 0, "differs": 1}.get(result.verdict, 8)


def register(add: Any, **parents: Any) -> None:
    """Add this module's commands with `add(name, func, help, example, parents)`."""
    as_json = parents["as_json"]
    p = add("diff", cmd_diff, "Show what changed between two experiments: params, metrics, code, data, environment.",
            "sw-ml diff exp-003 exp-007", [as_json])
    p.add_argument("a", help="the first experiment (exp-003, a slug, or 0042/exp-003)")
    p.add_argument("b", help="the second experiment")
    p.add_argument("--increment", help="look only in this increment")
    p.add_argument("--max-code-bytes", type=int, default=None, metavar="N",
                   help="bound on the unified code diff shown (default 64000)")

    p = add("reproduce", cmd_reproduce,
            "Rerun an experiment from its commit, patch and packages in a fresh git worktree, and say whether its "
            "metrics came back (exit 0 reproduced, 1 differs, 8 failed). It shows the plan (the exact command, "
            "folder, interpreter and packages) and asks before running anything; --yes runs without asking.",
            "sw-ml reproduce exp-003 --dry-run", [as_json])
    p.add_argument("experiment", help="exp-003, exp-003-xgboost, a slug, or 0042/exp-003")
    p.add_argument("--increment", help="look only in this increment")
    p.add_argument("--dry-run", action="store_true", help="say what it would check out, install and run")
    p.add_argument("--yes", "-y", action="store_true",
                   help="run the plan without asking (read it first with --dry-run: the command is what the run "
                        "recorded, and anyone who can commit to the repository can write it)")
    p.add_argument("--rtol", type=float, default=None, metavar="R",
                   help="relative tolerance per metric (default 1e-9 when the run recorded a seed, else 1e-2)")
    p.add_argument("--timeout", type=float, default=None, metavar="S", help="stop the rerun after S seconds")
    p.add_argument("--quiet", "-q", action="store_true", help="do not echo the rerun's output (to stderr)")
