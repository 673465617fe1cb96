"""`sw-ml push` benchmark: N local experiments with P metric points each, pushed to a local MLflow server.

    .venv/bin/python bench/bench_push.py [--experiments 100] [--points 1000] [--naive-runs 2]

Steps (the server is a real `mlflow server` on 127.0.0.1, sqlite backend and
proxied artifacts in a scratch folder, one worker):
1. build the store: N experiments in one increment through `track_experiment`
   (5 params, one metric `loss` with P steps, a note, a small artifact);
2. time `push_experiments` (what `sw-ml push` calls) - the first push - and
   MLflow's own client logging the same data straight to the same server,
   the fastest way it offers (per run create_run, log_batch of 1,000
   entities, one artifact, set_terminated); --rounds times, interleaved,
   best of each (the push moves the pushed experiment aside between rounds);
3. time a second push, which must send nothing (idempotent);
4. with --naive-runs K: MLflow's fluent API one call per point
   (`mlflow.log_metric` in a loop), the way most training loops log, on K
   runs, extrapolated to N.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import clean, scratch  # noqa: E402

from tests.mlflow_server import running_mlflow_server  # noqa: E402


def build_store(root: Path, n: int, points: int) -> None:
    from skill.tracking.track import track_experiment

    subprocess.run(["git", "init", "-q", str(root)], check=True)
    for i in range(n):
        with track_experiment(f"run-{i}", increment="0001-bench", root=root) as exp:
            exp.log_params({"lr": 0.01 * (i + 1), "depth": i % 8, "booster": "gbtree", "seed": i, "subsample": 0.8})
            for step in range(points):
                exp.log_metric("loss", 1.0 / (step + 1 + i), step=step)
            exp.log_note(f"bench run {i}")
            exp.save_artifact("summary.txt", f"run {i}")


def mlflow_direct(uri: str, n: int, points: int, artifact: Path) -> float:
    """MLflow's client, batched: the same runs, params, points and one artifact each."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param

    client = MlflowClient(tracking_uri=uri)
    exp_id = client.create_experiment(f"direct-{time.time_ns()}")
    start = time.perf_counter()
    for i in range(n):
        run = client.create_run(exp_id, run_name=f"run-{i}", tags={"mlflow.note.content": f"bench run {i}"})
        rid = run.info.run_id
        params = [Param(k, str(v)) for k, v in {"lr": 0.01 * (i + 1), "depth": i % 8, "booster": "gbtree",
                                                 "seed": i, "subsample": 0.8}.items()]
        now = int(time.time() * 1000)
        metrics = [Metric("loss", 1.0 / (s + 1 + i), now, s) for s in range(points)]
        first = 1000 - len(params)
        client.log_batch(rid, metrics=metrics[:first], params=params)
        for j in range(first, len(metrics), 1000):
            client.log_batch(rid, metrics=metrics[j:j + 1000])
        client.log_artifact(rid, str(artifact))
        client.set_terminated(rid)
    return time.perf_counter() - start


def mlflow_naive(uri: str, runs: int, points: int) -> float:
    """MLflow's fluent API, one HTTP call per point: seconds per run."""
    import mlflow

    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment(f"naive-{time.time_ns()}")
    start = time.perf_counter()
    for i in range(runs):
        with mlflow.start_run(run_name=f"naive-{i}"):
            mlflow.log_params({"lr": 0.01, "depth": 1, "booster": "gbtree", "seed": i, "subsample": 0.8})
            for step in range(points):
                mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
    return (time.perf_counter() - start) / runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiments", type=int, default=100)
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--naive-runs", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    os.environ["SPECWEAVE_QUIET"] = "1"
    os.environ["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] = "true"  # both sides skip the "View run" lines

    from skill.exchange.mlflow_push import push_experiments

    base = scratch("push")
    root = base / "project"
    t = time.perf_counter()
    build_store(root, args.experiments, args.points)
    print(f"store: {args.experiments} experiments x {args.points} points built in {time.perf_counter() - t:.1f}s")
    try:
        with running_mlflow_server(base) as uri:
            from mlflow import MlflowClient

            client = MlflowClient(tracking_uri=uri)
            artifact = base / "summary.txt"
            artifact.write_text("run 0")
            mlflow_direct(uri, 5, args.points, artifact)  # warm the server (first requests are slow) for both
            pushes, directs = [], []
            for rnd in range(args.rounds):  # interleaved: the machine is shared, so noise hits both alike
                if rnd:  # a fresh target for the next first push: move the pushed experiment aside
                    exp = client.get_experiment_by_name("0001-bench")
                    client.rename_experiment(exp.experiment_id, f"0001-bench-round-{rnd}")
                t = time.perf_counter()
                first = push_experiments(root, None, uri)
                pushes.append(time.perf_counter() - t)
                assert first.created == args.experiments, first.summary()
                directs.append(mlflow_direct(uri, args.experiments, args.points, artifact))
            t = time.perf_counter()
            second = push_experiments(root, None, uri)
            again_s = time.perf_counter() - t
            assert second.unchanged == args.experiments and second.metric_points == 0, second.summary()
            push_s, direct_s = min(pushes), min(directs)
            total = args.experiments * args.points
            shown = lambda xs: ", ".join(f"{x:.1f}" for x in xs)  # noqa: E731
            print(f"{args.experiments} experiments x {args.points} metric points = {total:,} points, "
                  f"best of {args.rounds} interleaved rounds against one local mlflow server")
            print(f"first push   (sw-ml push):          {push_s:8.2f} s  "
                  f"({total / push_s:,.0f} points/s; all: {shown(pushes)})")
            print(f"second push  (idempotent, no-op):   {again_s:8.2f} s  ({second.unchanged} unchanged, 0 sent)")
            print(f"MLflow client direct (log_batch):   {direct_s:8.2f} s  "
                  f"({total / direct_s:,.0f} points/s; all: {shown(directs)})")
            print(f"ratio MLflow direct / push:         {direct_s / push_s:8.2f}x  "
                  "(1.0 = push as fast as MLflow's own batched client)")
            print(f"  last round: {first.summary()}")
            if args.naive_runs:
                per_run = mlflow_naive(uri, args.naive_runs, args.points)
                est = per_run * args.experiments
                print(f"MLflow fluent log_metric per point: {est:8.2f} s  (extrapolated from {args.naive_runs} runs;"
                      f" push is {est / push_s:.1f}x faster)")
    finally:
        if not args.keep:
            clean(base)


if __name__ == "__main__":
    main()
