"""Write path, side by side: specweave vs MLflow's default local store (sqlite) vs wandb offline.

    python bench/bench_tracking.py            # full sizes from issue 2
    python bench/bench_tracking.py --quick    # smaller, for a smoke run

Prints each figure and the ratio (other tool's time / ours). Targets:
log_metric >= 25x wandb offline and >= 500x MLflow; 1,000 short runs >= 10x
MLflow; `import specweave` >= 7x faster than `import mlflow`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("SPECWEAVE_QUIET", "1")
os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")

from bench._common import clean, python, row, scratch, time_command  # noqa: E402


def specweave_metric_calls(n: int) -> float:
    from specweave import track_experiment

    folder = scratch("sw-metrics")
    with track_experiment("speed", increment="0001", root=folder) as exp:
        exp.log_params({f"p{i}": i for i in range(100)})
        start = time.perf_counter()
        for i in range(n):
            exp.log_metric("loss", 1.0 / (i + 1), step=i)
        elapsed = time.perf_counter() - start
    clean(folder)
    return elapsed / n


def specweave_steady_calls(n: int, chunk: int = 1_000) -> float:
    """Per-call time once the run's start-up is over: the best chunk of `chunk` calls. The figure above
    counts the first calls after the run opens too, which share the interpreter with the run's one-time
    capture (the package list, git) on its threads for some 20 ms."""
    from specweave import track_experiment

    folder = scratch("sw-metrics")
    with track_experiment("speed", increment="0001", root=folder) as exp:
        best = float("inf")
        for first in range(0, n, chunk):
            start = time.perf_counter()
            for i in range(first, first + chunk):
                exp.log_metric("loss", 1.0 / (i + 1), step=i)
            best = min(best, (time.perf_counter() - start) / chunk)
    clean(folder)
    return best


def mlflow_metric_calls(n: int) -> float:
    import mlflow

    folder = scratch("mlflow-metrics")
    mlflow.set_tracking_uri(f"sqlite:///{folder}/mlflow.db")
    mlflow.set_experiment("bench")
    with mlflow.start_run():
        mlflow.log_params({f"p{i}": i for i in range(100)})
        start = time.perf_counter()
        for i in range(n):
            mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
        elapsed = time.perf_counter() - start
    clean(folder)
    return elapsed / n


def wandb_metric_calls(n: int) -> float:
    import wandb

    folder = scratch("wandb-metrics")
    os.environ.update(WANDB_MODE="offline", WANDB_SILENT="true", WANDB_DIR=str(folder))
    run = wandb.init(project="bench", config={f"p{i}": i for i in range(100)})
    start = time.perf_counter()
    for i in range(n):
        run.log({"loss": 1.0 / (i + 1)}, step=i)
    elapsed = time.perf_counter() - start
    run.finish()
    clean(folder)
    return elapsed / n


def specweave_runs(n: int) -> float:
    from specweave import track_experiment

    folder = scratch("sw-runs")
    start = time.perf_counter()
    for r in range(n):
        with track_experiment(f"run-{r}", increment="0002", root=folder) as exp:
            exp.log_params({f"p{i}": i * r for i in range(10)})
            exp.log_metrics({f"m{i}": i * 0.1 + r for i in range(5)})
    elapsed = time.perf_counter() - start
    clean(folder)
    return elapsed / n


def mlflow_runs(n: int) -> float:
    import mlflow

    folder = scratch("mlflow-runs")
    mlflow.set_tracking_uri(f"sqlite:///{folder}/mlflow.db")
    mlflow.set_experiment("bench")
    start = time.perf_counter()
    for r in range(n):
        with mlflow.start_run(run_name=f"run-{r}"):
            mlflow.log_params({f"p{i}": i * r for i in range(10)})
            mlflow.log_metrics({f"m{i}": i * 0.1 + r for i in range(5)})
    elapsed = time.perf_counter() - start
    clean(folder)
    return elapsed / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument("--no-wandb", action="store_true")
    args = parser.parse_args()
    calls = 2_000 if args.quick else 10_000
    mlflow_calls = 300 if args.quick else 1_000  # ~3 ms a call: 1,000 is plenty for a per-call figure
    runs = 200 if args.quick else 1_000

    print(f"# bench_tracking on {os.cpu_count()} cores, python {sys.version.split()[0]}")
    ours = specweave_metric_calls(calls)
    theirs = mlflow_metric_calls(mlflow_calls)
    print(row(f"log_metric per call ({calls:,} calls)", ours * 1e6, theirs * 1e6, "us", 500))
    steady = specweave_steady_calls(10 * calls)
    print(f"{'  specweave, best 1,000 of ' + format(10 * calls, ',') + ' calls':<48} {steady * 1e6:.3f} us  "
          f"(target <= 0.5 us: {'OK' if steady <= 0.5e-6 else 'BELOW'})")
    if not args.no_wandb:
        wb = wandb_metric_calls(calls)
        print(row(f"log_metric per call ({calls:,} calls)", ours * 1e6, wb * 1e6, "us", 25, who="wandb "))

    ours_runs = specweave_runs(runs)
    theirs_runs = mlflow_runs(runs)
    print(row(f"{runs:,} runs x 10 params + 5 metrics, per run", ours_runs * 1e3, theirs_runs * 1e3, "ms", 10))

    sw_import = time_command([python(), "-c", "import specweave"], repeat=7)
    ml_import = time_command([python(), "-c", "import mlflow"], repeat=3)
    bare = time_command([python(), "-c", "pass"], repeat=7)
    print(row("python -c 'import <pkg>' (fresh process)", sw_import, ml_import, "s", 7))
    print(f"{'  (bare interpreter start, for reference)':<48} {bare:.3f} s")
    sw_track = time_command([python(), "-c", "from specweave import track_experiment"], repeat=5)
    print(f"{'  python -c from specweave import track_experiment':<48} {sw_track:.3f} s")


if __name__ == "__main__":
    main()
