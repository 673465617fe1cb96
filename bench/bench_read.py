"""Read-path benchmark, side by side with MLflow's default sqlite store.

    .venv/bin/python bench/bench_read.py [--experiments 5000] [--increments 50] [--repeat 3]

Fixtures (built once, outside the timing, kept under build/bench/read-<N>/):
- specweave: N experiments across M increments, written through the real
  `track_experiment` API (10 params, 5 metrics each).
- MLflow: the same N runs in `sqlite:///mlflow.db`, one MLflow experiment per
  increment, written with `MlflowClient().log_batch`.

Timed, each in a fresh Python process (median of --repeat runs):
1. list all N experiments into a pandas DataFrame
   (specweave: skill.analysis.export.experiments_dataframe, and list_all_experiments + flatten which builds
   the pydantic records too; MLflow: mlflow.search_runs(search_all_experiments=True));
2. compare one increment of N/M experiments
   (specweave: compare_experiments(write_report=False).dataframe; MLflow: search_runs on that
   experiment ordered by the metric).

Both the whole process (interpreter, imports, work) and the work after the
imports are reported. specweave runs three ways: with its read cache warm,
with the cache being rebuilt (first read after every file changed), and with
SPECWEAVE_NO_CACHE=1 (every metadata.yaml parsed).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PARAMS = 10
METRICS = ("accuracy", "auc", "f1", "logloss", "training_time")

SW_LIST = """
import time; t0 = time.perf_counter()
import pandas as pd
from pathlib import Path
from skill.analysis.listing import list_all_experiments
from skill.analysis.export import flatten
t1 = time.perf_counter()
records = list_all_experiments(Path({root!r}))
df = pd.DataFrame([flatten(r) for r in records])
t2 = time.perf_counter()
assert len(df) == {n}, len(df)
print({{"imports": t1 - t0, "work": t2 - t1, "rows": len(df)}})
"""

SW_FRAME = """
import time; t0 = time.perf_counter()
import pandas as pd
from pathlib import Path
from skill.analysis.export import experiments_dataframe
t1 = time.perf_counter()
df = experiments_dataframe(Path({root!r}))
t2 = time.perf_counter()
assert len(df) == {n}, len(df)
print({{"imports": t1 - t0, "work": t2 - t1, "rows": len(df)}})
"""

SW_COMPARE = """
import time; t0 = time.perf_counter()
import pandas as pd
from pathlib import Path
from skill.analysis.compare import compare_experiments
t1 = time.perf_counter()
c = compare_experiments(Path({root!r}), {inc!r}, primary_metric="auc", write_report=False)
df = c.dataframe
t2 = time.perf_counter()
assert len(df) == {n} and c.best, (len(df), c.best)
print({{"imports": t1 - t0, "work": t2 - t1, "rows": len(df)}})
"""

MLFLOW_LIST = """
import time; t0 = time.perf_counter()
import mlflow
t1 = time.perf_counter()
mlflow.set_tracking_uri({uri!r})
df = mlflow.search_runs(search_all_experiments=True, max_results=100000)
t2 = time.perf_counter()
assert len(df) == {n}, len(df)
print({{"imports": t1 - t0, "work": t2 - t1, "rows": len(df)}})
"""

MLFLOW_COMPARE = """
import time; t0 = time.perf_counter()
import mlflow
t1 = time.perf_counter()
mlflow.set_tracking_uri({uri!r})
df = mlflow.search_runs(experiment_names=[{inc!r}], order_by=["metrics.auc DESC"])
best = df.iloc[0]["run_id"]
t2 = time.perf_counter()
assert len(df) == {n}, len(df)
print({{"imports": t1 - t0, "work": t2 - t1, "rows": len(df)}})
"""


def _env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1", "GIT_PYTHON_REFRESH": "quiet",
           "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}
    env.pop("SPECWEAVE_NO_CACHE", None)
    env.update(extra)
    return env


def build_specweave(root: Path, n: int, m: int) -> None:
    code = f"""
import random
from pathlib import Path
from specweave import track_experiment
rng = random.Random(7)
root = Path({str(root)!r})
for i in range({m}):
    inc = f"{{i + 1:04d}}-bench-increment-{{i + 1}}"
    for j in range({n // m}):
        with track_experiment(f"model-{{j}}", increment=inc, root=root) as exp:
            exp.log_params({{f"p{{k}}": rng.choice([1, 2, 3, 0.1, "adam", True]) for k in range({PARAMS})}})
            exp.log_metrics({{"accuracy": rng.random(), "auc": rng.random(), "f1": rng.random(),
                              "logloss": rng.random() * 2, "training_time": rng.random() * 100}})
"""
    root.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    # run as a script in the project, as a user's training script runs (its command line is recorded)
    script = root / "train.py"
    script.write_text(code)
    subprocess.run([sys.executable, "train.py"], check=True, env=_env(), cwd=root)


def build_mlflow(db: Path, n: int, m: int) -> None:
    code = f"""
import random, time
import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric, Param
mlflow.set_tracking_uri({f"sqlite:///{db}"!r})
client = MlflowClient()
rng = random.Random(7)
for i in range({m}):
    exp_id = client.create_experiment(f"{{i + 1:04d}}-bench-increment-{{i + 1}}")
    for j in range({n // m}):
        run = client.create_run(exp_id, run_name=f"model-{{j}}")
        now = int(time.time() * 1000)
        params = [Param(f"p{{k}}", str(rng.choice([1, 2, 3, 0.1, "adam", True]))) for k in range({PARAMS})]
        metrics = [Metric(k, rng.random(), now, 0) for k in {list(METRICS)!r}]
        client.log_batch(run.info.run_id, metrics=metrics, params=params)
        client.set_terminated(run.info.run_id)
"""
    subprocess.run([sys.executable, "-c", code], check=True, env=_env(), capture_output=True)


def timed(code: str, repeat: int, env: dict[str, str], before: str | None = None) -> dict[str, float]:
    """Median wall time of a fresh process, and median work time inside it."""
    walls, works = [], []
    for _ in range(repeat):
        if before:
            subprocess.run([sys.executable, "-c", before], check=True, env=env)
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        walls.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"benchmark step failed:\n{done.stderr[-3000:]}")
        works.append(eval(done.stdout.strip().splitlines()[-1])["work"])  # noqa: S307 - our own script's dict
    return {"wall": statistics.median(walls), "work": statistics.median(works)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--experiments", type=int, default=5000)
    parser.add_argument("--increments", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=Path(os.environ.get("BENCH_DIR", REPO / "build" / "bench")))
    parser.add_argument("--rebuild", action="store_true", help="rebuild the fixtures")
    args = parser.parse_args()
    n, m = args.experiments, args.increments
    base = args.dir / f"read-{n}-{m}"
    root, db = base / "project", base / "mlflow.db"
    if args.rebuild:
        shutil.rmtree(base, ignore_errors=True)
    if not (base / "ready").exists():
        shutil.rmtree(base, ignore_errors=True)
        base.mkdir(parents=True)
        t = time.perf_counter()
        build_specweave(root, n, m)
        print(f"fixture: {n} specweave experiments written in {time.perf_counter() - t:.1f}s", flush=True)
        t = time.perf_counter()
        build_mlflow(db, n, m)
        print(f"fixture: {n} MLflow runs written in {time.perf_counter() - t:.1f}s", flush=True)
        (base / "ready").write_text("ok\n")
    inc = f"{(m // 2):04d}-bench-increment-{m // 2}"
    per = n // m
    uri = f"sqlite:///{db}"
    cache_dir = root / ".specweave" / "cache" / "index"
    drop_cache = f"import shutil; shutil.rmtree({str(cache_dir)!r}, ignore_errors=True)"

    results: dict[str, dict[str, float]] = {}
    results["mlflow list"] = timed(MLFLOW_LIST.format(uri=uri, n=n), args.repeat, _env())
    results["mlflow compare"] = timed(MLFLOW_COMPARE.format(uri=uri, inc=inc, n=per), args.repeat, _env())
    sw_list = SW_LIST.format(root=str(root), n=n)
    sw_cmp = SW_COMPARE.format(root=str(root), inc=inc, n=per)
    sw_frame = SW_FRAME.format(root=str(root), n=n)
    results["sw dataframe (no cache)"] = timed(sw_frame, args.repeat, _env(SPECWEAVE_NO_CACHE="1"))
    results["sw dataframe (cache rebuilt)"] = timed(sw_frame, args.repeat, _env(), before=drop_cache)
    results["sw dataframe (cache warm)"] = timed(sw_frame, args.repeat, _env())
    results["sw list records (cache warm)"] = timed(sw_list, args.repeat, _env())
    results["sw compare (no cache)"] = timed(sw_cmp, args.repeat, _env(SPECWEAVE_NO_CACHE="1"))
    results["sw compare (cache warm)"] = timed(sw_cmp, args.repeat, _env())

    print(f"\n{n} experiments in {m} increments; median of {args.repeat} fresh processes; seconds "
          f"(wall = whole process incl. interpreter and imports; work = after imports)")
    print(f"{'':34} {'wall':>8} {'work':>8}   ratio vs MLflow (wall / work)")
    for name, r in results.items():
        ref = results["mlflow compare" if "compare" in name else "mlflow list"]
        ratio = "" if name.startswith("mlflow") else (
            f"   {ref['wall'] / r['wall']:6.1f}x / {ref['work'] / r['work']:6.1f}x")
        print(f"{name:34} {r['wall']:8.3f} {r['work']:8.3f}{ratio}")
    warm = results["sw dataframe (cache warm)"]
    target = results["mlflow list"]["work"] / warm["work"]
    print(f"\nDataFrame of all, cache warm: {target:.1f}x faster than mlflow.search_runs (work), target >= 10x: "
          f"{'OK' if target >= 10 else 'BELOW'}")
    print(json.dumps({k: {kk: round(vv, 4) for kk, vv in v.items()} for k, v in results.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
