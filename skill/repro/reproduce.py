"""`sw-ml reproduce EXP`: rebuild a run's code and environment, rerun it, and say whether its numbers came back.

What a run recorded arrives from clones: it is data, and runs only as this module allows (see the
README's "What a cloned repository can and cannot make this tool do").

1. Checks, all cheap and all before anything heavy, each refusing in one line: the run recorded a
   commit and a command; its working folder is a relative path inside the repository (no absolute
   path, no `..`) and so is its script; the commit is in this repository (a run never pushed is said
   to be so); a dirty run's patch lies in its own folder and applies to its commit (tried on a
   scratch index); packages that would be installed are plain `name==version` pins.
2. The plan (`plan`), shown by the CLI with control characters escaped, and confirmed by the user
   (`confirm`; `sw-ml reproduce` asks, or takes `--yes`) before anything runs. The plan confirmed is
   the plan run.
3. The code: a fresh `git worktree` at the commit, in a marked temporary folder (the user's checkout,
   index and branches are never touched), with the patch applied; the working folder and the script
   are checked again inside it (a link in the commit cannot lead out); removed afterwards, and a
   killed reproduce's leftovers are pruned at the next start (`rerun.py`).
4. The environment (`interpreter.py`): the current interpreter when its packages are the recorded
   ones (same Python major.minor, every recorded package at its recorded version; pip, setuptools,
   wheel and uv are tools and not compared); else one reproduce builds in the user's cache folder,
   with uv where it is installed, pip otherwise, reused only when verified. Never one from the
   repository.
5. The run: the recorded command in the recorded working directory of the worktree, in its own
   process group that dies with reproduce (`rerun.py`), logging into this project's store
   (SPECWEAVE_ROOT) and the original's increment, as a new experiment with `reproduces: <original
   id>`; its git info is the worktree's.
6. The verdict: per metric, original, rerun and delta, equal within `rtol` (relative, |a - b| <= rtol *
   max(|a|, |b|)); timing and system metrics are shown, not compared. Default rtol: 1e-9 when the run
   recorded a seed (random/numpy/torch, or a `seed`/`random_state` param), since a seeded run is
   expected to match exactly and only float rounding may move; 1e-2 otherwise. The datasets the rerun
   logged are compared by fingerprint too: data that differs makes the verdict `differs`. The verdict
   is kept on both runs (`reproduced_by` on the original, `reproduction` on the rerun).
"""

from __future__ import annotations

import math
import os
import posixpath
import re
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import CannotReproduce, InvalidInput, UnsafePath
from ..layout import SPECWEAVE_DIR
from ..schemas.records import ExperimentMeta, ExperimentRecord, Reproduction
from .capture import (
    ENABLED_ENV,
    REPRODUCE_CODE_ENV,
    REPRODUCE_INCREMENT_ENV,
    REPRODUCES_ENV,
    param_seeds,
)
from .diff import source_of
from .gitwork import TreeProblem, git, has_commit, last_line, scratch_dir, scratch_env, toplevel, tree_of
from .interpreter import build, environment, verified
from .rerun import prune_stale, run_in_group, scratch_worktree, stop_on_signals
from ..schemas.reproduction import MetricVerdict, ReproducePlan, ReproduceResult

DEFAULT_RTOL = 1e-2
SEEDED_RTOL = 1e-9
_TIMING = re.compile(r"(?:^|[_/.\-])(?:time|times|duration|latency|seconds|secs|throughput|per_sec|"
                     r"samples_per_second|steps_per_second|it_s|fps)(?:$|[_/.\-])")


# -- the checks -------------------------------------------------------------------------------------
def _command(record: ExperimentRecord) -> tuple[list[str], str, list[str]]:
    """(argv after the interpreter, cwd relative to the repository root, notes); refuses an unknown one."""
    meta = record.meta
    assert meta is not None
    notes: list[str] = []
    capture = meta.capture
    if capture is not None and capture.argv:
        argv, cwd = list(capture.argv), capture.cwd
        if cwd is None:
            raise CannotReproduce(record.id, "it ran from a working directory outside the repository")
    elif meta.command[1:]:
        argv, cwd = list(meta.command[1:]), "."
        notes.append("recorded before the capture existed: run from the repository root")
    else:
        raise CannotReproduce(record.id, "its command is unknown (it ran in an interactive session or recorded none)")
    first = argv[0]
    if first in ("-", "-i") or (first == "-m" and len(argv) > 1 and argv[1].startswith("ipykernel")) or \
            os.path.basename(first).startswith(("ipykernel_launcher", "ipython")):
        raise CannotReproduce(record.id, f"its command is unknown: it ran in a notebook or interactive session ({first})")
    if first == "-m" and len(argv) == 1:
        raise CannotReproduce(record.id, "its command is unknown (python -m without a module)")
    cwd = _inside(record.id, "working folder", cwd, ".")
    script = _script(argv)
    if script is not None:
        _inside(record.id, "script", script, cwd)
    return argv, cwd, notes


def _inside(ref: str, what: str, path: object, base: str) -> str:
    """`path` (relative to `base`, itself relative to the repository root) normalised, when it stays
    inside the repository: no absolute path, no `..` leading out, no NUL; CannotReproduce otherwise."""
    if not isinstance(path, str) or not path or "\x00" in path or "\\" in path or path.startswith("~") \
            or os.path.isabs(path) or posixpath.isabs(path):
        raise CannotReproduce(ref, f"its recorded {what} {path!r} is not a relative path inside the repository: "
                                   "refused (a clone can record any path there)")
    joined = posixpath.normpath(posixpath.join(base, path))
    if joined == ".." or joined.startswith("../") or posixpath.isabs(joined):
        unrecorded = ": its code is in neither the commit nor the patch" if what == "script" else ""
        raise CannotReproduce(ref, f"its recorded {what} {path!r} leads outside the repository{unrecorded}: "
                                   "refused (a clone can record any path there)")
    return joined if base == "." else path


_OPTIONS_WITH_VALUE = frozenset({"-W", "-X", "--check-hash-based-pycs"})


def _script(argv: list[str]) -> str | None:
    """The script a command runs (None for `-c`, `-m` and stdin)."""
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("-c", "-m") or arg.startswith(("-c", "-m")) and not arg.startswith("--"):
            return None
        if arg in _OPTIONS_WITH_VALUE:
            i += 2
            continue
        if arg.startswith("-") and arg != "-":
            i += 1
            continue
        return None if arg == "-" else arg
    return None


def _in_worktree(ref: str, worktree: Path, cwd: str, argv: list[str]) -> Path:
    """The working folder inside the checked-out worktree, checked again there: a link the commit holds
    must not lead the run (or its script) out of it."""
    base = worktree.resolve()
    folder = (worktree / cwd).resolve()
    paths = [folder]
    script = _script(argv)
    if script is not None:
        paths.append((folder / script).resolve())
    for path in paths:
        if path != base and base not in path.parents:
            raise CannotReproduce(ref, f"its working folder or script leads outside the worktree through a link "
                                       f"in its commit ({cwd}): refused")
    if not folder.is_dir():
        raise CannotReproduce(ref, f"its working folder {cwd!r} does not exist at its commit")
    return folder


def seeds_of(record: ExperimentRecord) -> dict[str, int]:
    capture = record.meta.capture if record.meta else None
    return {**(capture.seeds if capture else {}), **param_seeds(record.params)}


def _rtol(record: ExperimentRecord, rtol: object) -> tuple[float, str]:
    if rtol is not None:
        if isinstance(rtol, bool) or not isinstance(rtol, (int, float)) or not math.isfinite(rtol) or rtol < 0:
            raise InvalidInput("rtol", rtol, "a relative tolerance >= 0, such as 1e-6")
        return float(rtol), "given"
    if seeds_of(record):
        return SEEDED_RTOL, "the run recorded its seeds: expected to match exactly, up to float rounding"
    return DEFAULT_RTOL, "no seed recorded: 1% allowed"


def plan(root: Path, record: ExperimentRecord, rtol: object = None) -> ReproducePlan:
    """Everything `reproduce` will do for `record` of the project at `root`, each part checked;
    CannotReproduce (one line) where it cannot."""
    return _plan(root, record, rtol)[0]


def _rel(root: Path, path: Path) -> str:
    """`path` relative to the project root, as every face shows it."""
    try:
        return Path(os.path.abspath(path)).relative_to(root).as_posix()
    except ValueError:
        raise UnsafePath(str(path), SPECWEAVE_DIR) from None


def _plan(root: Path, record: ExperimentRecord, rtol: object) -> tuple[ReproducePlan, dict[str, Any]]:
    meta = record.meta
    if meta is None:
        raise CannotReproduce(record.id, "its metadata.yaml cannot be read: " + "; ".join(record.problems[:1]))
    commit = meta.git.commit
    if not commit:
        raise CannotReproduce(record.id, "it recorded no git commit (it ran outside a git repository, or in one "
                              "with no commit yet): its code is not recorded")
    rtol_value, rtol_reason = _rtol(record, rtol)
    argv, cwd, notes = _command(record)
    top = toplevel(root)
    if top is None:
        raise CannotReproduce(record.id, f"{root} is not in a git repository")
    if not has_commit(top, commit):
        never = meta.capture is not None and meta.capture.on_remote is False
        raise CannotReproduce(record.id, f"its commit {commit[:12]} is not in this repository"
                              + (" (it was never pushed: no remote had it when the run was recorded)" if never else "")
                              + "; fetch it, or push it from the clone that ran it")
    _, patch, problems = source_of(record)
    if problems:
        raise CannotReproduce(record.id, problems[0].removeprefix(f"{record.id}: ")
                              .replace(": taken at its commit", ""))
    if patch is not None:
        with scratch_dir(root) as scratch:
            try:
                tree_of(top, commit, patch, scratch_env(top, scratch, "check"))
            except TreeProblem as exc:
                raise CannotReproduce(record.id, str(exc)) from None
    env = environment(record)
    capture = meta.capture
    missing = [f.path for f in (capture.left_out if capture else []) if f.reason != "not a source file"]
    if missing:
        notes.append(f"{len(missing)} untracked source file(s) were too large to record: {', '.join(missing[:5])}")
    return ReproducePlan(
        experiment=record.id, increment=record.increment, commit=commit,
        patch=_rel(root, patch) if patch else None, patch_files=list(capture.patch_files) if capture and patch else [],
        environment=env["environment"], python=env["python"], installer=env["installer"], packages=env["packages"],
        package_differences=env["package_differences"], command=argv, cwd=cwd, rtol=rtol_value,
        rtol_reason=rtol_reason, seeds=seeds_of(record), notes=[*notes, *env.get("notes", [])],
    ), {**env, "patch": patch, "top": top}


# -- the rerun --------------------------------------------------------------------------------------
def _child_env(root: Path, record: ExperimentRecord, top: Path, worktree: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in (ENABLED_ENV, "CLAUDE_PROJECT_DIR")}
    rel_root = root.resolve().relative_to(top.resolve()) if root.resolve() != top.resolve() else Path()
    paths = []
    for entry in env.get("PYTHONPATH", "").split(os.pathsep) if env.get("PYTHONPATH") else []:
        try:  # the user's own code on PYTHONPATH comes from the worktree, not the checkout
            paths.append(str(worktree / Path(entry).resolve().relative_to(top.resolve())))
        except ValueError:
            paths.append(entry)
    if paths:
        env["PYTHONPATH"] = os.pathsep.join(paths)
    env.update({"SPECWEAVE_ROOT": str(root), REPRODUCES_ENV: record.id,
                REPRODUCE_INCREMENT_ENV: record.increment, REPRODUCE_CODE_ENV: str(worktree / rel_root)})
    return env


def _is_timing(metric: str) -> bool:
    low = metric.lower()
    return low.startswith("system/") or bool(_TIMING.search(low))


def _close(a: Any, b: Any, rtol: float) -> bool:
    if isinstance(a, bool) or isinstance(b, bool) or not isinstance(a, (int, float)) or not isinstance(b, (int, float)):
        return a == b
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b or abs(a - b) <= rtol * max(abs(a), abs(b))


def verdict_rows(original: ExperimentRecord, rerun: ExperimentRecord, rtol: float) -> list[MetricVerdict]:
    rows = []
    for name in sorted({*original.metrics, *rerun.metrics}):
        a, b = original.metrics.get(name), rerun.metrics.get(name)
        delta = None
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in (a, b)):
            delta = b - a  # type: ignore[operator]
        ok = None if _is_timing(name) or name not in original.metrics else _close(a, b, rtol)
        rows.append(MetricVerdict(name=name, original=a, rerun=b, delta=delta, ok=ok))
    return rows


def data_differences(original: ExperimentRecord, rerun: ExperimentRecord) -> list[str]:
    from .datasets import describe

    theirs = {d.name: d for d in (rerun.meta.datasets if rerun.meta else [])}
    out = []
    for mine in original.meta.datasets if original.meta else []:
        other = theirs.get(mine.name)
        if other is None:
            out.append(f"{mine.name}: not logged by the rerun")
        elif (mine.fingerprint, mine.rows) != (other.fingerprint, other.rows):
            out.append(f"{mine.name}: {describe(mine)} -> {describe(other)}")
    return out


def _find_rerun(runs: list[ExperimentRecord], original: ExperimentRecord, since: datetime) -> ExperimentRecord | None:
    found = [r for r in runs
             if r.meta and r.meta.reproduces == original.id and r.meta.started >= since]
    if not found:
        return None
    same = [r for r in found if r.name == original.name and r.meta and r.meta.stage == original.meta.stage]  # type: ignore[union-attr]
    return sorted(same or found, key=lambda r: r.meta.started)[0]  # type: ignore[union-attr]


def _record_verdict(original: ExperimentRecord, rerun: ExperimentRecord | None, verdict: Reproduction) -> None:
    from ..storage.metafile import update_meta

    def on_original(meta: ExperimentMeta) -> None:
        meta.reproduced_by = [*meta.reproduced_by, verdict]  # replaced, never edited in place

    update_meta(original.path, on_original)
    if rerun is not None:
        update_meta(rerun.path, lambda meta: setattr(meta, "reproduction", verdict))


def validate_timeout(timeout: object) -> float | None:
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                or not math.isfinite(timeout) or timeout <= 0):
        raise InvalidInput("timeout", timeout, "a number of seconds > 0, such as 600")
    return timeout  # type: ignore[return-value]


def reproduce(root: Path, record: ExperimentRecord, rtol: object = None, *,
              runs: Callable[[], list[ExperimentRecord]], echo: Callable[[str], None] | None = None,
              timeout: float | None = None, confirm: Callable[[ReproducePlan], bool] | None = None) -> ReproduceResult:
    """Rerun `record` as recorded and compare its numbers (see the module doc). `confirm` sees the plan
    before anything runs; False stops there (CannotReproduce, nothing run). `runs()` lists the project's
    runs afterwards (the rerun logged itself among them). The caller checked the project is writable."""
    timeout = validate_timeout(timeout)
    echo = echo or (lambda line: None)
    the_plan, env = _plan(root, record, rtol)
    if confirm is not None and not confirm(the_plan):
        raise CannotReproduce(record.id, "not confirmed: nothing was run (answer y, or pass --yes after reading "
                                         "the plan)")
    top: Path = env["top"]
    with stop_on_signals():
        prune_stale(top)
        python = the_plan.python
        if env["environment"] == "create":
            python = build(record, env, echo)
        elif env["environment"] == "cached" and not verified(Path(python).parent.parent, env["key"], env["pins"]):
            raise CannotReproduce(record.id, f"the environment built earlier changed since the plan: {python}")
        started = datetime.now(timezone.utc).replace(microsecond=0)
        with scratch_worktree(top) as worktree:
            done = git(top, "worktree", "add", "--detach", "--quiet", str(worktree), the_plan.commit, timeout=600)
            if done is None or done.returncode != 0:
                raise CannotReproduce(record.id, f"git worktree add failed: {last_line(done)}")
            if env["patch"] is not None:
                done = git(worktree, "apply", "--binary", "--whitespace=nowarn", str(env["patch"]))
                if done is None or done.returncode != 0:
                    raise CannotReproduce(record.id, f"its patch does not apply in the worktree: {last_line(done)}")
            cwd = _in_worktree(record.id, worktree, the_plan.cwd, the_plan.command)
            cmd = [python, *the_plan.command]
            echo(f"running the plan's command in {the_plan.cwd} of a worktree at {the_plan.commit[:12]}")
            code, tail, timed_out = run_in_group(cmd, cwd, _child_env(root, record, top, worktree), echo, timeout)
    rerun = _find_rerun(runs(), record, started)
    result = ReproduceResult(plan=the_plan, rerun=rerun.id if rerun else None, verdict="failed", returncode=code,
                             output_tail=tail[-4000:])
    if timed_out:
        result.reasons.append(f"the rerun ran past {timeout:g} s and was stopped")
    if code != 0:
        result.reasons.append(f"the command exited {code}")
    if rerun is None:
        result.reasons.append("the rerun logged no experiment")
    else:
        if rerun.status != "completed":
            result.reasons.append(f"the rerun {rerun.id} is {rerun.status}")
        result.metrics = verdict_rows(record, rerun, the_plan.rtol)
        result.data = data_differences(record, rerun)
        if not result.reasons:
            bad = [row.name for row in result.metrics if row.ok is False]
            result.verdict = "differs" if bad or result.data else "reproduced"
            if bad:
                result.reasons.append(f"{len(bad)} metric(s) differ beyond rtol {the_plan.rtol:g}: {', '.join(bad[:10])}")
            if result.data:
                result.reasons.append("the data differs: " + "; ".join(result.data))
    differs = [row.name for row in result.metrics if row.ok is False]
    differs += [f"data:{line.split(':', 1)[0]}" for line in result.data]
    verdict = Reproduction(original=record.id, rerun=result.rerun, verdict=result.verdict, rtol=the_plan.rtol,
                           ts=datetime.now(timezone.utc), differs=differs)
    _record_verdict(record, rerun, verdict)
    return result


__all__ = ["DEFAULT_RTOL", "SEEDED_RTOL", "CannotReproduce", "plan", "reproduce", "validate_timeout", "verdict_rows"]
