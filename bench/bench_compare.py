"""Sweep analysis and the compare view on a 200-run random search, side by side with MLflow's server.

Store: RUNS runs x POINTS points of `val_loss` (plus a final `accuracy`), params lr and weight_decay
(log-uniform), batch_size and seed; only lr drives the loss. The same data in both tools.
Figures:
  1. parameter importance of the RUNS runs (skill.workflows.importance, in process), target < 0.5 s;
     and the whole parallel-coordinates view (/api/parallel: table, axes and importance) over HTTP
  2. the compare view's data for 10 selected runs: our /api/compare plus /api/curves of the primary
     metric, vs MLflow's server comparing the same runs as its compare page does: GET runs/get for
     each run plus metrics/get-history of each metric; target >= 5x. MLflow's store holds only the
     10 compared runs (logging all 200 x 2,000 points into it takes minutes; its lookups are by run
     id, so the other runs would only slow it down)

    python bench/bench_compare.py       # RUNS=200 POINTS=2000 (a couple of minutes, most of it the fixture)
"""

from __future__ import annotations

import json
import math
import os
import random
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import REPO, clean, row, scratch  # noqa: E402
from bench_ui import get, start_ui, timed  # noqa: E402

RUNS = int(os.environ.get("BENCH_COMPARE_RUNS", "200"))
POINTS = int(os.environ.get("BENCH_COMPARE_POINTS", "2000"))
INC = "0007-random-search"
METRIC = "val_loss"
SELECTED = 10


def runs() -> list[tuple[dict, list[float], float]]:
    rng = random.Random(3)
    out = []
    for _ in range(RUNS):
        params = {"lr": 10 ** rng.uniform(-4, -1), "weight_decay": 10 ** rng.uniform(-6, -2),
                  "batch_size": rng.choice([32, 64, 128]), "seed": rng.randrange(10_000)}
        floor = 0.2 + 0.1 * (math.log10(params["lr"]) + 2.5) ** 2
        curve = [floor + 2.0 / (1 + s / 40) + rng.gauss(0, 0.01) for s in range(POINTS)]
        out.append((params, curve, 1 - curve[-1] / 3))
    return out


def make_store(root: Path, data: list[tuple[dict, list[float], float]]) -> None:
    from skill.tracking.track import track_experiment

    subprocess.run(["git", "init", "-q", str(root)], check=True)
    for i, (params, curve, accuracy) in enumerate(data):
        with track_experiment(f"sgd-{i}", increment=INC, root=root, system_metrics=False) as exp:
            exp.log_params(params)
            for step, value in enumerate(curve):
                exp.log_metric(METRIC, value, step=step)
            exp.log_metric("accuracy", accuracy)


def fill_mlflow(db: Path, data: list[tuple[dict, list[float], float]]) -> list[str]:
    import logging

    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient

    logging.getLogger("mlflow").setLevel(logging.ERROR)
    client = MlflowClient(f"sqlite:///{db}")
    exp_id = client.create_experiment("random-search")
    ids = []
    now = int(time.time() * 1000)
    for i, (params, curve, accuracy) in enumerate(data):
        run = client.create_run(exp_id, run_name=f"sgd-{i}")
        metrics = [Metric(METRIC, v, now + s, s) for s, v in enumerate(curve)] + [Metric("accuracy", accuracy, now, 0)]
        for start in range(0, len(metrics), 1000):
            client.log_batch(run.info.run_id, metrics=metrics[start:start + 1000],
                             params=[Param(k, str(v)) for k, v in params.items()] if start == 0 else [])
        client.set_terminated(run.info.run_id)
        ids.append(run.info.run_id)
    return ids


def main() -> int:
    sys.path.insert(0, str(REPO / "tests"))
    from mlflow_server import running_mlflow_server
    from skill.analysis.importance import param_importance

    data = runs()
    combos, losses = [p for p, _, _ in data], [c[-1] for _, c, _ in data]
    param_importance(combos, losses, greater_is_better=False)  # warm
    took = timed(lambda: param_importance(combos, losses, greater_is_better=False), repeat=5)
    ranking = param_importance(combos, losses, greater_is_better=False)
    shares = ", ".join(f"{p.param} {p.importance:.0%}" if p.excluded is None else f"{p.param} ({p.excluded})"
                       for p in ranking)
    verdict = "OK" if took < 0.5 else "ABOVE target 0.5 s"
    print(f"{f'parameter importance, {RUNS} runs':<48} {took * 1000:.1f} ms  (target < 500 ms) {verdict}")
    print(f"  shares: {shares}")

    base = scratch("compare")
    root = base / "project"
    root.mkdir()
    try:
        start = time.perf_counter()
        make_store(root, data)
        print(f"store: {RUNS} runs x {POINTS} points in {time.perf_counter() - start:.1f} s")
        proc, url = start_ui(root)
        try:
            token = url.split("token=")[1]
            api = url.split("?")[0] + "api/"
            auth = {"Authorization": f"Bearer {token}"}
            table = json.loads(get(api + "table", auth))
            keys = [r["key"] for r in table["rows"]]
            chosen = ",".join(keys[:SELECTED])
            parallel = timed(lambda: get(api + "parallel", auth))
            print(f"{f'parallel view over HTTP (axes + importance), {RUNS} runs':<48} {parallel * 1000:.1f} ms")
            (base / "mlflow").mkdir()
            start = time.perf_counter()
            ids = fill_mlflow(base / "mlflow" / "mlflow.db", data[:SELECTED])
            print(f"MLflow: the same data logged with log_batch in {time.perf_counter() - start:.1f} s")
            with running_mlflow_server(base / "mlflow") as uri:
                def mlflow_compare() -> None:
                    for run_id in ids[:SELECTED]:
                        get(f"{uri}/api/2.0/mlflow/runs/get?run_id={run_id}")
                        for key in (METRIC, "accuracy"):
                            get(f"{uri}/api/2.0/mlflow/metrics/get-history?run_id={run_id}&metric_key={key}"
                                f"&max_results=25000")

                mlflow_compare()  # warm
                theirs = timed(mlflow_compare)

            def ours_compare() -> None:
                get(api + f"compare?runs={chosen}", auth)
                get(api + f"curves?runs={chosen}&metric={METRIC}", auth)

            start = time.perf_counter()
            ours_compare()  # cold: the server's first read of these runs' logs
            cold = time.perf_counter() - start
            ours = timed(ours_compare)  # warm: a page reload, another tab (curves kept while logs are unchanged)
            print(row(f"compare view data, {SELECTED} runs x {POINTS} pts, cold", cold, theirs, "s", 5))
            print(row(f"compare view data, {SELECTED} runs x {POINTS} pts, warm", ours, theirs, "s", 5))
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    finally:
        clean(base)
    return 0


if __name__ == "__main__":
    sys.exit(main())
