"""`sw-ml import` benchmark, side by side with MLflow reading the same runs.

    /work/main/.venv/bin/python bench/bench_import.py [--runs 1000] [--points 1000] [--tb-points 5000000]

1. An MLflow sqlite store of RUNS runs x POINTS points (one metric, 3 params, 2 tags), written by MLflow's
   own client (`log_batch`, 1,000 points a call).
2. MLflow's own read of it: `search_runs` (every page) plus `get_metric_history` for each run, in a fresh
   process; then `import_runs` of the whole store into an empty project, in a fresh process. Target: the
   import at most 1.5x MLflow's read.
3. A second import of the unchanged store: target at most 10% of the first.
4. One TensorBoard run of TB_POINTS scalars written by torch.utils.tensorboard, imported in a fresh process;
   its peak RSS (ru_maxrss) against 300 MB. (TensorBoard's event reader checks each record's CRC in pure
   Python when TensorFlow is absent: about 0.1 ms a point, so 5M points take minutes; `--tb-points` scales it.)
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
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPO, clean, scratch  # noqa: E402

BUILD_MLFLOW = """
import sys, mlflow
from mlflow.entities import Metric, Param, RunTag
uri, runs, points = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
client = mlflow.MlflowClient(tracking_uri=uri)
exp = client.create_experiment("bench")
for i in range(runs):
    run = client.create_run(exp, run_name=f"run-{i}", start_time=1_700_000_000_000 + i)
    rid = run.info.run_id
    client.log_batch(rid, params=[Param("lr", str(0.01 * (i + 1))), Param("depth", str(i % 8)),
                                  Param("booster", "gbtree")], tags=[RunTag("team", "ml"), RunTag("seed", str(i))])
    batch = [Metric("loss", 1.0 / (s + 1 + i), 1_700_000_000_000 + s, s) for s in range(points)]
    for start in range(0, points, 1000):
        client.log_batch(rid, metrics=batch[start:start + 1000])
    client.set_terminated(rid, "FINISHED", end_time=1_700_000_900_000 + i)
"""

MLFLOW_READ = """
import sys, time, json
start = time.perf_counter()
import mlflow
after_import = time.perf_counter()  # the same start as the import's: after the library is loaded
client = mlflow.MlflowClient(tracking_uri=sys.argv[1])
ids = [e.experiment_id for e in client.search_experiments()]
runs, token = [], None
while True:
    page = client.search_runs(ids, max_results=1000, page_token=token)
    runs.extend(page)
    token = page.token
    if not token:
        break
points = 0
for run in runs:
    for key in run.data.metrics:
        points += len(client.get_metric_history(run.info.run_id, key))
print(json.dumps({"runs": len(runs), "points": points, "work": time.perf_counter() - after_import,
                  "whole": time.perf_counter() - start}))
"""

IMPORT = """
import sys, time, json, resource
start = time.perf_counter()
from pathlib import Path
from skill.exchange.importer import import_runs
root, kind, source = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
if kind == "mlflow":
    import mlflow  # the reader's library, loaded before the clock as MLflow's read loads it
after_import = time.perf_counter()
report = import_runs(root, kind, source)
print(json.dumps({"imported": report.imported, "skipped": report.skipped, "points": report.points,
                  "damaged": report.damaged, "work": time.perf_counter() - after_import,
                  "whole": time.perf_counter() - start,
                  "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

WRITE_TB = """
import sys
from torch.utils.tensorboard import SummaryWriter
writer = SummaryWriter(sys.argv[1])
for i in range(int(sys.argv[2])):
    writer.add_scalar("loss", 1.0 / (i + 1), i)
writer.close()
"""


def run_json(code: str, *args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1", "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "1"}
    done = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1000, help="0 skips the MLflow comparison")
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--tb-points", type=int, default=5_000_000, help="0 skips the TensorBoard memory check")
    parser.add_argument("--store", help="reuse an MLflow sqlite file built by an earlier run (its path)")
    args = parser.parse_args()

    base = scratch("import")
    try:
        if args.runs:
            db = Path(args.store) if args.store else base / "mlflow.db"
            uri = f"sqlite:///{db.resolve()}"
            if not args.store:
                started = time.perf_counter()
                subprocess.run([sys.executable, "-c", BUILD_MLFLOW, uri, str(args.runs), str(args.points)], check=True,
                               cwd=base, capture_output=True)
                print(f"built an MLflow sqlite store of {args.runs} runs x {args.points} points in "
                      f"{time.perf_counter() - started:.0f}s", flush=True)
            run_json(MLFLOW_READ, uri)  # warm the page cache for both sides
            theirs = run_json(MLFLOW_READ, uri)
            (base / "project" / ".git").mkdir(parents=True)
            ours = run_json(IMPORT, str(base / "project"), "mlflow", uri)
            again = run_json(IMPORT, str(base / "project"), "mlflow", uri)
            assert ours["imported"] == theirs["runs"] and ours["points"] == theirs["points"], (ours, theirs)
            assert again["imported"] == 0 and again["skipped"] == theirs["runs"], again
            ratio = ours["work"] / theirs["work"]
            print(f"{'MLflow read, search_runs + get_metric_history':<52} {theirs['work']:8.2f} s "
                  f"(whole process {theirs['whole']:.2f} s), {theirs['runs']} runs, {theirs['points']:,} points")
            print(f"{'import_runs (sw-ml import mlflow), first':<52} {ours['work']:8.2f} s "
                  f"(whole process {ours['whole']:.2f} s)  ratio {ratio:.2f}x MLflow's read"
                  f"  {'OK' if ratio <= 1.5 else 'ABOVE target 1.5x'}")
            share = again["work"] / ours["work"]
            print(f"{'import_runs again, unchanged source':<52} {again['work']:8.2f} s  {share:.1%} of the first"
                  f"  {'OK' if share <= 0.10 else 'ABOVE target 10%'}")

        if args.tb_points:
            logdir = base / "tb"
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", WRITE_TB, str(logdir / "big-run"), str(args.tb_points)],
                           check=True, capture_output=True)
            print(f"wrote a TensorBoard run of {args.tb_points:,} scalars in {time.perf_counter() - started:.0f}s",
                  flush=True)
            (base / "tbproject" / ".git").mkdir(parents=True)
            tb = run_json(IMPORT, str(base / "tbproject"), "tensorboard", str(logdir))
            assert tb["points"] == args.tb_points, tb
            print(f"{'import of one TensorBoard run, ' + format(args.tb_points, ',') + ' points':<52} "
                  f"{tb['work']:8.1f} s  peak RSS {tb['max_rss_mb']:.0f} MB"
                  f"  {'OK' if tb['max_rss_mb'] < 300 else 'ABOVE 300 MB'}")
    finally:
        clean(base)


if __name__ == "__main__":
    main()
