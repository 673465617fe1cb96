"""`sw-ml diff` and `sw-ml reproduce`: what changed between two runs, and whether a run comes back."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .command_kit import Commands, open_project
from .output import print_json, table

EXPERIMENT_HELP = "exp-003, exp-003-xgboost, a slug, or 0042/exp-003"


def diff(args: argparse.Namespace) -> int:
    project = open_project(args)
    result = project.diff(args.a, args.b, args.increment, max_code_bytes=args.max_code_bytes)
    if args.json:
        print_json(result)
    else:
        sys.stdout.write(project.diff_text(result))
    return 0


def add_diff(commands: Commands) -> None:
    p = commands.add("diff", diff, "Show what changed between two experiments: params, metrics, code, data, "
                     "environment.", "sw-ml diff exp-003 exp-007", json=True)
    p.add_argument("a", help="the first experiment (exp-003, a slug, or 0042/exp-003)")
    p.add_argument("b", help="the second experiment")
    p.add_argument("--increment", help="look only in this increment")
    p.add_argument("--max-code-bytes", type=int, default=None, metavar="N",
                   help="bound on the unified code diff shown (default 64000)")


def plan_text(plan: Any) -> str:
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


def result_text(project: Any, result: Any) -> str:
    """Each metric, original against rerun, then the verdict and its reasons."""
    def value(v: Any) -> str:
        return project.number_text(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)

    rows = []
    for m in result.metrics:
        state = "not compared" if m.ok is None else ("ok" if m.ok else "DIFFERS")
        rows.append([m.name, "-" if m.original is None else value(m.original),
                     "-" if m.rerun is None else value(m.rerun),
                     "-" if m.delta is None else f"{m.delta:+.3g}", state])
    text = table(["METRIC", "ORIGINAL", "RERUN", "DELTA", ""], rows)
    lines = [(f"{result.plan.experiment} -> {result.rerun or '(no rerun logged)'}: {result.verdict} "
              f"(rtol {result.plan.rtol:g})")]
    lines += [f"  {reason}" for reason in result.reasons]
    if result.verdict == "failed" and result.output_tail:
        lines += ["last output of the rerun:", *("  " + line for line in result.output_tail.splitlines()[-10:])]
    return text + "\n".join(lines) + "\n"


def _ask(prompt: str) -> bool:
    sys.stderr.write(prompt)
    sys.stderr.flush()
    answer = sys.stdin.readline()
    return answer.strip().lower() in ("y", "yes")


def reproduce(args: argparse.Namespace) -> int:
    from skill.errors import CannotReproduce

    project = open_project(args)
    if args.dry_run:
        the_plan = project.reproduce_plan(args.experiment, args.rtol, args.increment)
        if args.json:
            print_json(the_plan)
        else:
            sys.stdout.write(plan_text(the_plan))
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
        sys.stderr.write(plan_text(the_plan))
        return True if args.yes else _ask("run this command? [y/N] ")

    def echo(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    result = project.reproduce(args.experiment, args.rtol, args.increment, echo=None if args.quiet else echo,
                               timeout=args.timeout, confirm=confirm)
    if args.json:
        print_json(result)
    else:
        sys.stdout.write(result_text(project, result))
    return {"reproduced": 0, "differs": 1}.get(result.verdict, 8)


def add_reproduce(commands: Commands) -> None:
    p = commands.add("reproduce", reproduce,
                     "Rerun an experiment from its commit, patch and packages in a fresh git worktree, and say whether "
                     "its metrics came back (exit 0 reproduced, 1 differs, 8 failed). It shows the plan (the exact "
                     "command, folder, interpreter and packages) and asks before running anything; --yes runs "
                     "without asking.", "sw-ml reproduce exp-003 --dry-run", json=True)
    p.add_argument("experiment", help=EXPERIMENT_HELP)
    p.add_argument("--increment", help="look only in this increment")
    p.add_argument("--dry-run", action="store_true", help="say what it would check out, install and run")
    p.add_argument("--yes", "-y", action="store_true",
                   help="run the plan without asking (read it first with --dry-run: the command is what the run "
                        "recorded, and anyone who can commit to the repository can write it)")
    p.add_argument("--rtol", type=float, default=None, metavar="R",
                   help="relative tolerance per metric (default 1e-9 when the run recorded a seed, else 1e-2)")
    p.add_argument("--timeout", type=float, default=None, metavar="S", help="stop the rerun after S seconds")
    p.add_argument("--quiet", "-q", action="store_true", help="do not echo the rerun's output (to stderr)")


def register(commands: Commands) -> None:
    add_diff(commands)
    add_reproduce(commands)
