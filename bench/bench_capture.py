"""The reproduction capture's cost, and the time to reproduce a run.

    python bench/bench_capture.py            # 300 runs per process, 15 fresh processes
    python bench/bench_capture.py --quick

1. Time added to a run's start (track_experiment + __enter__) by the capture, in a dirty repository with
   untracked sources: the median over many runs in one process, and over the first run of fresh
   processes (which starts the capture thread), with the capture on vs SPECWEAVE_CAPTURE=0. Target:
   not measurable (it runs on its own thread). The end of a run waits for the capture (at most 5 s);
   that is printed too.
2. Time to reproduce the tests' scikit-learn script (`sw-ml reproduce` of its dirty run) when a matching
   environment exists (this interpreter), against running the script itself once.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
os.environ.setdefault("SPECWEAVE_QUIET", "1")

from bench._common import REPO, clean, median, scratch  # noqa: E402

STARTS = '''
import json, sys, time
from specweave import track_experiment
n = int(sys.argv[1])
starts, ends = [], []
for i in range(n):
    t0 = time.perf_counter()
    exp = track_experiment(f"run-{i}", increment="0001")
    exp.__enter__()
    t1 = time.perf_counter()
    exp.log_metric("m", float(i))
    t2 = time.perf_counter()
    exp.end()
    ends.append(time.perf_counter() - t2)
    starts.append(t1 - t0)
print(json.dumps({"starts": starts, "ends": ends}))
'''


def dirty_repo(folder: Path) -> Path:
    subprocess.run(["git", "init", "-q", "-b", "main", str(folder)], check=True)
    for key, value in (("user.email", "b@e"), ("user.name", "bench"), ("commit.gpgsign", "false")):
        subprocess.run(["git", "-C", str(folder), "config", key, value], check=True)
    (folder / "src").mkdir()
    for i in range(50):
        (folder / "src" / f"mod_{i}.py").write_text(f"VALUE = {i}\n" * 50)
    (folder / "starts.py").write_text(STARTS)
    subprocess.run(["git", "-C", str(folder), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(folder), "commit", "-qm", "code"], check=True)
    for i in range(0, 50, 5):
        (folder / "src" / f"mod_{i}.py").write_text("CHANGED = True\n")
    for i in range(10):
        (folder / "src" / f"new_{i}.py").write_text("x = 1\n" * 100)
    return folder


def starts(folder: Path, n: int, capture: bool) -> dict[str, list[float]]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "SPECWEAVE_CAPTURE": "1" if capture else "0"}
    env.pop("SPECWEAVE_ROOT", None)
    done = subprocess.run([sys.executable, "starts.py", str(n)], cwd=folder, env=env, capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout)


def start_figures(n: int, fresh: int) -> None:
    folder = dirty_repo(scratch("capture"))
    try:
        many = {flag: starts(folder, n, flag) for flag in (False, True)}
        firsts: dict[bool, list[float]] = {False: [], True: []}
        first_ends: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(fresh):
            for flag in (False, True):  # interleaved, so drift hits both alike
                one = starts(folder, 1, flag)
                firsts[flag].append(one["starts"][0])
                first_ends[flag].append(one["ends"][0])
    finally:
        clean(folder)
    print("Run start with the reproduction capture (median; on vs SPECWEAVE_CAPTURE=0):")
    for label, data in ((f"start, {n} runs in one process", {k: v["starts"] for k, v in many.items()}),
                        (f"start, first run of {fresh} fresh processes", firsts),
                        (f"end, {n} runs in one process", {k: v["ends"] for k, v in many.items()}),
                        (f"end, first run of {fresh} fresh processes", first_ends)):
        on, off = median(data[True]) * 1e3, median(data[False]) * 1e3
        print(f"  {label:<44} capture {on:8.3f} ms   off {off:8.3f} ms   added {on - off:+8.3f} ms "
              f"({(on - off) / off * 100 if off else 0:+.1f}%)")


def reproduce_figures(repeat: int) -> None:
    import shutil

    from repro_scenario import build, clean_env

    folder = scratch("reproduce")
    try:
        root = build(folder / "project")
        env = clean_env()
        direct, rerun = [], []
        for _ in range(repeat):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "train.py"], cwd=root, env=env, check=True, capture_output=True)
            direct.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "specweave.cli", "reproduce", "exp-002", "--quiet"],
                                  cwd=root, env=env, capture_output=True, text=True, check=False)
            rerun.append(time.perf_counter() - t0)
            assert done.returncode == 0, done.stdout + done.stderr
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    d, r = median(direct), median(rerun)
    print("Reproduce the tests' scikit-learn script (matching environment: this interpreter):")
    print(f"  sw-ml reproduce exp-002 (worktree, patch, rerun, verdict)  {r:7.2f} s")
    print(f"  the script run directly                                    {d:7.2f} s")
    print(f"  overhead of reproduce                                      {r - d:+7.2f} s ({r / d:.1f}x the script)")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    start_figures(60 if args.quick else 300, 5 if args.quick else 15)
    reproduce_figures(1 if args.quick else 3)
    return 0


if __name__ == "__main__":
    sys.exit(main())
