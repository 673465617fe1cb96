"""What a run of 100, 10,000 and 1,000,000 points adds to git: schema 3, the previous format, dvclive.

    .venv/bin/python bench/bench_long_runs.py [--sizes 100,10000,1000000] [--no-dvclive]

Each size is a second run (the first adds the package list all runs of an environment share) logging one
metric per step, each tool into its own fresh git repository, then
`git add -A`; the staged blobs of that run are measured (what git keeps in history, before zlib) and,
in parentheses, git's own compressed size of them. The previous format (schema 2) kept every point in
git as `metrics.jsonl`: its figure is this run's files with that log in place of the summary. dvclive
runs in its own virtualenv (bench_repo.py's build/bench/dvcenv); at 1,000,000 steps it needs minutes,
so its figure there is its 10,000-step bytes per point times 1,000,000 (said so in the table).
Also printed: the peak memory of settling a 1,000,000-point log and of reading its history.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, clean, git, new_repo, scratch  # noqa: E402

# The values: "f64" is arithmetic in Python floats; "f32" is what a deep-learning loop logs, `loss.item()`
# of a float32 tensor (a float32 widened to a float64, 17 digits as text).
VALUES = """
import struct, sys
n, kind = int(sys.argv[1]), sys.argv[2]
def value(step):
    v = 1.0 / (step + 1) + (step * 7919 % 1000) / 1e5
    return struct.unpack("<f", struct.pack("<f", v))[0] if kind == "f32" else v
"""

OURS = VALUES + """
from specweave import track_experiment
with track_experiment(sys.argv[3], increment="0042-bench") as exp:
    exp.log_params({"lr": 0.1, "epochs": n})
    for step in range(n):
        exp.log_metric("loss", value(step))
"""

THEIRS = VALUES + """
from dvclive import Live
with Live(save_dvc_exp=False) as live:
    live.log_params({"lr": 0.1, "epochs": n})
    for step in range(n):
        live.log_metric("loss", value(step))
        live.next_step()
"""

MEMORY = """
import resource
from pathlib import Path
from skill.project import Project
from skill.storage.run_summary import settle
folder = Path(__import__("sys").argv[1])
settle(folder)
after_settle = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
history = Project(".").history(folder.name.split(".")[0][:7], "loss", max_points=1000)  # exp-002
print(after_settle, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, history.series[0].total_points)
"""


def staged_blobs(repo: Path) -> dict[str, bytes]:
    """name -> bytes of every file `git add -A` staged since the last commit (then committed)."""
    git(repo, "add", "-A")
    out = {}
    for name in git(repo, "diff", "--cached", "--name-only", "-z").split("\0"):
        if name:
            out[name] = subprocess.run(["git", "show", f":{name}"], cwd=repo, capture_output=True,
                                       check=True).stdout
    git(repo, "commit", "-qm", "run", "--allow-empty")
    return out


def sizes(blobs: dict[str, bytes]) -> tuple[int, int]:
    return sum(map(len, blobs.values())), sum(len(zlib.compress(b)) for b in blobs.values())


def fmt(pair: tuple[int, int] | None, note: str = "") -> str:
    if pair is None:
        return "-"
    return f"{pair[0]:>12,} ({pair[1]:,}){note}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,10000,1000000")
    parser.add_argument("--no-dvclive", action="store_true")
    args = parser.parse_args()
    counts = [int(x) for x in args.sizes.split(",")]
    work = scratch("long-runs")
    env = {**os.environ, "PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1"}
    python_dvc = None
    if not args.no_dvclive:
        from bench_repo import dvc_python

        python_dvc = dvc_python(work.parent)
    rows = []
    memory = None
    per_point_dvc: dict[str, tuple[float, float]] = {}
    sys.path.insert(0, str(REPO))
    from skill.storage.run_summary import full_log_bytes, summary_path

    try:
        for n in counts:
            for kind in ("f64", "f32") if n <= 10_000 else ("f64",):
                ours = new_repo(work / f"ours-{n}-{kind}")
                (ours / "train.py").write_text(OURS)
                git(ours, "add", "-A")
                git(ours, "commit", "-qm", "script")
                # the first run also adds what every run of this environment shares (its package list, once
                # per repository); the second run is what each further run costs: that one is measured
                subprocess.run([sys.executable, "train.py", str(min(n, 100)), kind, "first"], cwd=ours, env=env,
                               check=True)
                staged_blobs(ours)
                subprocess.run([sys.executable, "train.py", str(n), kind, "long"], cwd=ours, env=env, check=True)
                blobs = staged_blobs(ours)
                mine = sizes(blobs)
                folder = next(ours.glob(".specweave/increments/*/experiments/exp-002-*"))
                log = full_log_bytes(folder)
                previous_blobs = {k: v for k, v in blobs.items()
                                  if not k.endswith(("metrics.summary.json", ".gitignore")) or "/experiments/" not in k}
                previous_blobs["metrics.jsonl"] = log
                previous = sizes(previous_blobs)
                theirs, note = None, ""
                if python_dvc is not None and n <= 10_000:
                    repo = new_repo(work / f"dvc-{n}-{kind}")
                    subprocess.run([python_dvc.parent / "dvc", "init", "-q"], cwd=repo, check=True)
                    (repo / "train.py").write_text(THEIRS)
                    git(repo, "add", "-A")
                    git(repo, "commit", "-qm", "script + dvc init")
                    subprocess.run([python_dvc, "train.py", str(n), kind], cwd=repo, check=True,
                                   env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
                    theirs = sizes(staged_blobs(repo))
                    per_point_dvc[kind] = (theirs[0] / n, theirs[1] / n)
                elif kind in per_point_dvc:
                    per = per_point_dvc[kind]
                    theirs, note = (int(per[0] * n), int(per[1] * n)), " est."
                rows.append((f"{n:,} {kind}", mine, previous, theirs, note))
                if n == 1_000_000:  # settle again from a fresh log, measuring the process's peak memory
                    summary_path(folder).unlink()
                    (folder / "metrics.jsonl").write_bytes(log)
                    done = subprocess.run([sys.executable, "-c", MEMORY, str(folder)], cwd=ours, env=env,
                                          capture_output=True, text=True, check=True)
                    memory = done.stdout.split()
        print("\ngit bytes of one more run in a repository (raw blobs, and zlib-compressed as git stores them), "
              "one metric per step;\nf64: Python float values, f32: float32 values as from `loss.item()`")
        print(f"{'points':>14}  {'schema 3 (this)':>26}  {'schema 2 (previous)':>26}  {'dvclive':>26}  "
              f"{'prev/this':>9}  {'dvclive/this':>12}")
        for n, mine, previous, theirs, note in rows:
            ratio = f"{theirs[0] / mine[0]:.2f}x" if theirs else "-"
            print(f"{n:>14}  {fmt(mine):>26}  {fmt(previous):>26}  {fmt(theirs, note):>26}  "
                  f"{previous[0] / mine[0]:>8.1f}x  {ratio:>12}")
        if memory:
            print(f"\npeak memory, 1,000,000 points: settle (gzip + summary) {memory[0]} MB, then reading the "
                  f"history {memory[1]} MB (target < 300 MB); points read: {int(memory[2]):,}")
    finally:
        clean(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
