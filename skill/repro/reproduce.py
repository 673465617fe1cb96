"""`sw-ml reproduce EXP`: rebuild a run's code and environment, rerun it, and say whether its numbers came back.

1. Checks, all cheap and all before anything heavy, each refusing in one line: the run recorded a
   commit and a command; the commit is in this repository (a run never pushed is said to be so); a
   dirty run's patch was recorded and applies to its commit (tried on a scratch index).
2. The code: a fresh `git worktree` at the commit, in a temporary folder (the user's checkout, index
   and branches are never touched), with the patch applied; removed afterwards.
3. The environment: the current interpreter when its packages are the recorded ones (same Python
   major.minor, every recorded package at its recorded version; pip, setuptools, wheel and uv are
   tools and not compared); else an environment built once under `.specweave/cache/envs/<hash>/`
   with uv where it is installed, pip otherwise, and reused by every later rerun of that set.
4. The run: the recorded command in the recorded working directory of the worktree, logging into this
   project's store (SPECWEAVE_ROOT) and the original's increment, as a new experiment with
   `reproduces: <original id>`; its git info is the worktree's.
5. The verdict: per metric, original, rerun and delta, equal within `rtol` (relative, |a - b| <= rtol *
   max(|a|, |b|)); timing and system metrics are shown, not compared. Default rtol: 1e-9 when the run
   recorded a seed (random/numpy/torch, or a `seed`/`random_state` param), since a seeded run is
   expected to match exactly and only float rounding may move; 1e-2 otherwise. The datasets the rerun
   logged are compared by fingerprint too: data that differs makes the verdict `differs`. The verdict
   is kept on both runs (`reproduced_by` on the original, `reproduction` on the rerun).
"""

from __future__ import annotations

import collections
import hashlib
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import CannotReproduce, InvalidInput
from ..layout import CACHE_DIR, SPECWEAVE_DIR
from ..models import ExperimentMeta, ExperimentRecord, Reproduction
from .capture import (
    ENABLED_ENV,
    REPRODUCE_CODE_ENV,
    REPRODUCE_INCREMENT_ENV,
    REPRODUCES_ENV,
    param_seeds,
)
from .diff import source_of
from .gitwork import TreeProblem, git, has_commit, last_line, scratch_dir, scratch_env, toplevel, tree_of
from .results import MetricVerdict, ReproducePlan, ReproduceResult

if TYPE_CHECKING:
    from ..project import Project

DEFAULT_RTOL = 1e-2
SEEDED_RTOL = 1e-9
TOOL_PACKAGES = frozenset({"pip", "setuptools", "wheel", "uv", "distribute"})
ENVS_DIR = "envs"
_TIMING = re.compile(r"(?:^|[_/.\-])(?:time|times|duration|latency|seconds|secs|throughput|per_sec|"
                     r"samples_per_second|steps_per_second|it_s|fps)(?:$|[_/.\-])")
_TAIL_LINES = 40


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
    return argv, cwd, notes


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


def _current_packages() -> dict[str, str]:
    from ..tracking.environment import capture_packages

    return capture_packages()


def _env_key(python: str, pins: dict[str, str]) -> str:
    text = json.dumps([python, sorted(pins.items())])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _env_python(folder: Path) -> Path:
    return folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _environment(root: Path, record: ExperimentRecord) -> dict[str, Any]:
    """Which interpreter the rerun uses: this one, a cached one, or one to create (and with what)."""
    meta = record.meta
    assert meta is not None
    recorded = {k: v for k, v in meta.packages.items() if k not in TOOL_PACKAGES}
    want = ".".join((meta.python or platform.python_version()).split(".")[:2])
    have = f"{sys.version_info.major}.{sys.version_info.minor}"
    current = _current_packages()
    differences = [f"{name} {version} (here: {current.get(name, 'missing')})"
                   for name, version in sorted(recorded.items()) if current.get(name) != version]
    if want != have:
        differences.insert(0, f"python {want} (here: {have})")
    plan: dict[str, Any] = {"packages": len(recorded), "package_differences": differences, "installer": None,
                            "pins": recorded, "want": want}
    if not meta.packages:
        plan["notes"] = ["no packages were recorded: the current interpreter is used as it is"]
    if not differences or not meta.packages:
        return {**plan, "environment": "current", "python": sys.executable}
    folder = root / SPECWEAVE_DIR / CACHE_DIR / ENVS_DIR / _env_key(want, recorded)
    if (folder / "packages.json").is_file() and _env_python(folder).exists():
        return {**plan, "environment": "cached", "python": str(_env_python(folder))}
    installer = "uv" if shutil.which("uv") else "pip"
    if installer == "pip" and want != have:
        raise CannotReproduce(record.id, f"it ran on python {want} and this is {have}: install uv (it fetches "
                                         f"that python) or run sw-ml reproduce from a python {want}")
    return {**plan, "environment": "create", "python": str(_env_python(folder)), "installer": installer,
            "folder": str(folder)}


def plan(project: Project, record: ExperimentRecord, rtol: object = None) -> ReproducePlan:
    """Everything `reproduce` will do, each part checked; CannotReproduce (one line) where it cannot."""
    meta = record.meta
    if meta is None:
        raise CannotReproduce(record.id, "its metadata.yaml cannot be read: " + "; ".join(record.problems[:1]))
    commit = meta.git.commit
    if not commit:
        raise CannotReproduce(record.id, "it recorded no git commit (it ran outside a git repository, or in one "
                              "with no commit yet): its code is not recorded")
    rtol_value, rtol_reason = _rtol(record, rtol)
    argv, cwd, notes = _command(record)
    top = toplevel(project.root)
    if top is None:
        raise CannotReproduce(record.id, f"{project.root} is not in a git repository")
    script = argv[0] if argv and not argv[0].startswith("-") else None
    if script and (os.path.commonpath([os.path.normpath(script), str(top)]) != str(top) if os.path.isabs(script)
                   else os.path.normpath(os.path.join(cwd, script)).split(os.sep)[0] == ".."):
        notes.append(f"its script {script} lies outside the repository: its code is in neither the commit nor the "
                     "patch (not recorded), so the rerun runs whatever that file holds now")
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
        with scratch_dir(project.root) as scratch:
            try:
                tree_of(top, commit, patch, scratch_env(top, scratch, "check"))
            except TreeProblem as exc:
                raise CannotReproduce(record.id, str(exc)) from None
    env = _environment(project.root, record)
    capture = meta.capture
    missing = [f.path for f in (capture.left_out if capture else []) if f.reason != "not a source file"]
    if missing:
        notes.append(f"{len(missing)} untracked source file(s) were too large to record: {', '.join(missing[:5])}")
    return ReproducePlan(
        experiment=record.id, increment=record.increment, commit=commit,
        patch=project.rel(patch) if patch else None, patch_files=list(capture.patch_files) if capture and patch else [],
        environment=env["environment"], python=env["python"], installer=env["installer"], packages=env["packages"],
        package_differences=env["package_differences"], command=argv, cwd=cwd, rtol=rtol_value,
        rtol_reason=rtol_reason, seeds=seeds_of(record), notes=[*notes, *env.get("notes", [])],
    )


# -- the rerun --------------------------------------------------------------------------------------
def _self_requirement(name: str, version: str) -> str:
    """This tracker itself installs from where it is installed when that is a local folder."""
    from importlib import metadata

    try:
        direct = metadata.distribution(name).read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        direct = None
    if direct:
        url = json.loads(direct).get("url", "")
        if url.startswith("file://"):
            return url[len("file://"):]
    return f"{name}=={version}"


def _build_environment(root: Path, record: ExperimentRecord, env: dict[str, Any],
                       echo: Callable[[str], None]) -> str:
    folder = Path(env["folder"])
    python = _env_python(folder)
    pins = [(_self_requirement(n, v) if n == "specweave-ml" else f"{n}=={v}") for n, v in sorted(env["pins"].items())]
    echo(f"creating {folder} with {env['installer']}: python {env['want']}, {len(pins)} packages")
    from ..storage.paths import make_dirs_within

    make_dirs_within(root / SPECWEAVE_DIR, (CACHE_DIR, ENVS_DIR), "the store")
    if env["installer"] == "uv":
        steps = [["uv", "venv", "--python", env["want"], str(folder)],
                 ["uv", "pip", "install", "--python", str(python), *pins]]
    else:
        steps = [[sys.executable, "-m", "venv", str(folder)],
                 [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q", *pins]]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            shutil.rmtree(folder, ignore_errors=True)
            lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
            raise CannotReproduce(record.id, f"building its environment failed ({step[0]} {step[1]}): "
                                  + (lines[-1].strip() if lines else f"exit {done.returncode}"))
    (folder / "packages.json").write_text(json.dumps(env["pins"], indent=1), encoding="utf-8")
    return str(python)


def _child_env(project: Project, record: ExperimentRecord, top: Path, worktree: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in (ENABLED_ENV, "CLAUDE_PROJECT_DIR")}
    rel_root = project.root.resolve().relative_to(top.resolve()) if project.root.resolve() != top.resolve() else Path()
    paths = []
    for entry in env.get("PYTHONPATH", "").split(os.pathsep) if env.get("PYTHONPATH") else []:
        try:  # the user's own code on PYTHONPATH comes from the worktree, not the checkout
            paths.append(str(worktree / Path(entry).resolve().relative_to(top.resolve())))
        except ValueError:
            paths.append(entry)
    if paths:
        env["PYTHONPATH"] = os.pathsep.join(paths)
    env.update({"SPECWEAVE_ROOT": str(project.root), REPRODUCES_ENV: record.id,
                REPRODUCE_INCREMENT_ENV: record.increment, REPRODUCE_CODE_ENV: str(worktree / rel_root)})
    return env


def _run(cmd: list[str], cwd: Path, env: dict[str, str], echo: Callable[[str], None],
         timeout: float | None) -> tuple[int, str, bool]:
    tail: collections.deque[str] = collections.deque(maxlen=_TAIL_LINES)
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    timed_out = threading.Event()

    def kill() -> None:
        timed_out.set()
        proc.kill()

    timer = threading.Timer(timeout, kill) if timeout else None
    if timer:
        timer.start()
    try:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            tail.append(line)
            echo(line)
        code = proc.wait()
    finally:
        if timer:
            timer.cancel()
    return code, "\n".join(tail), timed_out.is_set()


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


def _find_rerun(project: Project, original: ExperimentRecord, since: datetime) -> ExperimentRecord | None:
    found = [r for r in project.experiments(all_increments=True)
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


def reproduce(project: Project, ref: str, rtol: object = None, *, increment: str | None = None,
              echo: Callable[[str], None] | None = None, timeout: float | None = None) -> ReproduceResult:
    """Rerun `ref` as recorded and compare its numbers (see the module doc)."""
    project.require_writable("reproduce")
    echo = echo or (lambda line: None)
    record = project.experiment(ref, increment)
    the_plan = plan(project, record, rtol)
    env = _environment(project.root, record)
    top = toplevel(project.root)
    assert top is not None
    python = the_plan.python
    if env["environment"] == "create":
        python = _build_environment(project.root, record, env, echo)
    scratch = Path(tempfile.mkdtemp(prefix="specweave-reproduce-"))
    worktree = scratch / top.name
    started = datetime.now(timezone.utc).replace(microsecond=0)
    try:
        done = git(top, "worktree", "add", "--detach", "--quiet", str(worktree), the_plan.commit, timeout=600)
        if done is None or done.returncode != 0:
            raise CannotReproduce(record.id, f"git worktree add failed: {last_line(done)}")
        if the_plan.patch:
            done = git(worktree, "apply", "--binary", "--whitespace=nowarn", str(project.root / the_plan.patch))
            if done is None or done.returncode != 0:
                raise CannotReproduce(record.id, f"its patch does not apply in the worktree: {last_line(done)}")
        cwd = worktree / the_plan.cwd
        cmd = [python, *the_plan.command]
        echo(f"running {' '.join(the_plan.command)} in {the_plan.cwd} of a worktree at {the_plan.commit[:12]}")
        code, tail, timed_out = _run(cmd, cwd, _child_env(project, record, top, worktree), echo, timeout)
    finally:
        done = git(top, "worktree", "remove", "--force", str(worktree))
        shutil.rmtree(scratch, ignore_errors=True)
        if done is None or done.returncode != 0:
            git(top, "worktree", "prune")
    rerun = _find_rerun(project, record, started)
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


__all__ = ["DEFAULT_RTOL", "SEEDED_RTOL", "CannotReproduce", "plan", "reproduce", "verdict_rows"]
