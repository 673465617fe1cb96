"""Reading a store that holds one huge run: time and peak memory of each read, in fresh processes.

    .venv/bin/python bench/bench_hostile.py [--points 5000000] [--runs 20] [--src DIR] [--timeout 300]

Fixture (built once, outside the timing, in a temp folder, removed at the end unless --keep):
one run of --points points (4 metrics, written through the real `track_experiment` API:
5,000,000 points make a metrics.jsonl of about 400 MB) and --runs normal runs (10 params,
100 points each) in the same increment.

Timed, each in a fresh Python process (wall time of the whole process; peak RSS from wait4),
after a baseline (the interpreter and the MCP tool imports alone):
1. `sw-ml list-experiments` of the increment, cold (first read: the read cache is built);
2. the same, warm;
3. `sw-ml show-experiment` of another (normal) run;
4. `sw-ml show-experiment` of the big run;
5. MCP `show_experiment` of the big run (the tool's function: per-metric min/max/last/count),
   cold and then warm (the digest of the long log is in the cache);
6. MCP `get_metric_history` of the big run (every metric, 500 points each);
7. `sw-ml list-experiments` once the big run reads as crashed (its process gone, no final
   status): its numbers then come from the point log.

--src runs the same steps against another checkout (e.g. `git archive HEAD | tar -x -C /tmp/old`)
to compare before and after; a step over --timeout seconds is reported as such.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
INC = "0001-hostile"
KEYS = ("loss", "accuracy", "lr", "grad_norm")

BUILD = r"""
import math, sys
from pathlib import Path
from skill.tracking.track import track_experiment
root, points, runs = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
keys = KEYS
for n in range(runs):
    with track_experiment(f"normal-{n:02d}", increment=INC, root=root) as exp:
        exp.log_params({f"p{i}": i * n for i in range(10)})
        for step in range(25):
            for k in keys:
                exp.log_metric(k, 1.0 / (step + 1 + n))
with track_experiment("huge", increment=INC, root=root) as exp:
    exp.log_params({"lr": 0.001})
    log = exp.log_metric
    for i in range(points // len(keys)):
        v = 1.0 / (i + 1)
        log("loss", v + (5.0 if i == 777_777 else 0.0))
        log("accuracy", 1.0 - v)
        log("lr", 0.001)
        log("grad_norm", math.sin(i) + 2.0)
print(exp.path)
""".replace("KEYS", repr(KEYS)).replace("INC", repr(INC))

MCP = r"""
import sys
from pathlib import Path
from skill.project import Project
from mcp_server.tools_read import detail, locate
from skill.analysis.history import metric_history
project = Project(Path(sys.argv[1]).resolve())
record = locate(project, sys.argv[3], None)
if sys.argv[2] == "show":
    out = detail(project, record)
    print(len(out.metric_summaries), out.metric_summaries["loss"].steps, out.metric_summaries["loss"].max)
else:
    try:
        out = metric_history(record, None, 500, root=project.root)
    except TypeError:  # an older checkout: no root parameter
        out = metric_history(record, None, 500)
    print([(s.key, s.total_points, len(s.values)) for s in out.series])
"""


def run(argv: list[str], *, cwd: Path, src: Path, timeout: float) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MB, last line of output) of one fresh process."""
    env = {**os.environ, "PYTHONPATH": str(src), "SPECWEAVE_QUIET": "1"}
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                _pid, status, usage = os.wait4(proc.pid, 0)
                proc.returncode = -9
                return float("inf"), usage.ru_maxrss / 1024, f"over {timeout:.0f} s: killed"
            time.sleep(0.01)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode("utf-8", "replace").strip()
    rss = usage.ru_maxrss / 1024  # Linux: KiB
    last = text.splitlines()[-1] if text else ""
    if proc.returncode:
        last = f"exit {proc.returncode}: {last}"
    return wall, rss, last[:70]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=5_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--src", type=Path, default=REPO, help="the checkout whose code reads the store")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds before a step is killed")
    parser.add_argument("--dir", type=Path, default=None, help="reuse (or build) the fixture here")
    parser.add_argument("--keep", action="store_true", help="keep the fixture folder")
    args = parser.parse_args()

    base = args.dir or Path(tempfile.mkdtemp(prefix="bench-hostile-", dir=os.environ.get("BENCH_DIR")))
    root = base / "project"
    try:
        big = next(iter((root / ".specweave" / "increments" / INC / "experiments").glob("exp-*-huge.*")), None)
        if big is None:
            root.mkdir(parents=True, exist_ok=True)
            start = time.perf_counter()
            done = subprocess.run([sys.executable, "-c", BUILD, str(root), str(args.points), str(args.runs)],
                                  env={**os.environ, "PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1"},
                                  check=True, capture_output=True, text=True)
            big = Path(done.stdout.strip().splitlines()[-1])
            print(f"fixture built in {time.perf_counter() - start:.0f} s: {base}")
        log = big / "metrics.jsonl"
        print(f"big run {big.name}: {log.stat().st_size / 1e6:.0f} MB of points; {args.runs} other runs; "
              f"code from {args.src}")
        past = time.time() - 60  # as if written a minute ago: the caches may keep what they read
        for path in root.joinpath(".specweave").rglob("*"):
            os.utime(path, (past, past), follow_symlinks=False)
        shutil.rmtree(root / ".specweave" / "cache", ignore_errors=True)

        py, cli = sys.executable, [sys.executable, "-m", "specweave.cli"]
        huge = "huge"
        steps = [
            ("baseline: python + MCP tool imports", [py, "-c", "import mcp_server.tools_read, skill.analysis.history"]),
            ("list-experiments (cold cache)", [*cli, "list-experiments", INC]),
            ("list-experiments (warm cache)", [*cli, "list-experiments", INC]),
            ("show-experiment, another run", [*cli, "show-experiment", "normal-03"]),
            ("show-experiment, the big run", [*cli, "show-experiment", huge]),
            ("MCP show_experiment, big run (cold)", [py, "-c", MCP, str(root), "show", huge]),
            ("MCP show_experiment, big run (warm)", [py, "-c", MCP, str(root), "show", huge]),
            ("MCP get_metric_history, big run", [py, "-c", MCP, str(root), "history", huge]),
        ]
        rows = [(label, *run(argv, cwd=root, src=args.src, timeout=args.timeout)) for label, argv in steps]

        meta = big / "metadata.yaml"  # now make it read as crashed: running, its pid long gone
        text = meta.read_text(encoding="utf-8")
        meta.write_text(text.replace("status: completed", "status: running").replace(
            f"\npid: {_pid_of(text)}\n", "\npid: 999999999\n"), encoding="utf-8")
        os.utime(meta, (past, past))
        os.utime(big, (past, past))
        label = "list-experiments, big run crashed"
        rows.append((label, *run([*cli, "list-experiments", INC], cwd=root, src=args.src, timeout=args.timeout)))
        meta.write_text(text, encoding="utf-8")

        print(f"\n{'step (fresh process each)':<40} {'wall s':>8} {'peak RSS MB':>12}  output")
        for label, wall, rss, last in rows:
            shown = "  killed" if wall == float("inf") else f"{wall:8.2f}"
            print(f"{label:<40} {shown:>8} {rss:12.0f}  {last}")
        print(json.dumps({"points": args.points, "log_mb": round(log.stat().st_size / 1e6),
                          "rows": [{"step": r[0], "wall_s": round(r[1], 2), "rss_mb": round(r[2])} for r in rows]}))
    finally:
        if not args.keep and args.dir is None:
            shutil.rmtree(base, ignore_errors=True)


def _pid_of(text: str) -> str:
    for line in text.splitlines():
        if line.startswith("pid: "):
            return line[5:].strip()
    return ""


if __name__ == "__main__":
    main()
