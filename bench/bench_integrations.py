"""Framework integrations, side by side in one run: each logger on the same loop.

    python bench/bench_integrations.py           # full sizes (issue 21)
    python bench/bench_integrations.py --quick   # smaller, for a smoke run

1. Lightning: `logger.log_metrics({...}, step=i)` calls, per call: SpecweaveLogger vs MLFlowLogger (sqlite),
   WandbLogger (offline), CSVLogger and dvclive's DVCLiveLogger (in dvclive's own virtualenv,
   build/bench/dvcenv, where torch and Lightning of the same versions are added the first time; `--no-dvclive`
   leaves it out). Target: >= 10x MLflow and W&B, no slower than CSVLogger or DVCLiveLogger.
2. transformers Trainer, tiny BERT from a config, 500 steps logging every step: wall time with
   SpecweaveCallback vs report_to="none" (target within 2%), and report_to="mlflow" / "wandb" beside it;
   each run a fresh process, interleaved rounds, median and spread, the paired ratio to "none" and the
   process's CPU time (steadier than wall time on a shared machine). A third setup imports
   specweave.huggingface without the callback: the cost of our modules in the heap, which each of Python's
   full collections walks, apart from the callback's work; each row also shows the collector's time.
   `--only transformers [--rounds N]` runs this part alone.
3. A non-zero rank's no-op `log_metric`, ns per call (target <= 50 ns).
Ratios are the other's time / ours.
"""

from __future__ import annotations

import argparse
import atexit
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("SPECWEAVE_QUIET", "1")
os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
os.environ.setdefault("WANDB_SILENT", "true")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

from bench._common import clean, median, scratch  # noqa: E402

SCRIPT = Path(__file__).resolve()


def _per_call(logger, n: int, chunk: int = 500) -> float:
    """Per-call time of `n` calls, as the best chunk of `chunk` calls (a shared machine's pauses left out)."""
    best = float("inf")
    for first in range(0, n, chunk):
        start = time.perf_counter()
        for i in range(first, first + chunk):
            logger.log_metrics({"loss": 1.0 / (i + 1), "acc": i / n}, step=i)
        best = min(best, (time.perf_counter() - start) / chunk)
    logger.finalize("success")
    return best


def lightning_loggers(n: int, n_slow: int, dvclive: bool = True) -> dict[str, tuple[float, int]]:
    from lightning.pytorch.loggers import CSVLogger, MLFlowLogger, WandbLogger

    from specweave.lightning import SpecweaveLogger

    out = {}
    folder = scratch("pl-sw")
    logger = SpecweaveLogger("bench", increment="0001", root=str(folder))
    out["SpecweaveLogger"] = (_per_call(logger, n), n)
    clean(folder)
    folder = scratch("pl-csv")
    out["CSVLogger"] = (_per_call(CSVLogger(str(folder)), n), n)
    clean(folder)
    folder = scratch("pl-mlflow")
    out["MLFlowLogger (sqlite)"] = (_per_call(MLFlowLogger(tracking_uri=f"sqlite:///{folder}/mlflow.db"), n_slow,
                                              chunk=50), n_slow)
    clean(folder)
    folder = scratch("pl-wandb")
    os.environ.update(WANDB_MODE="offline", WANDB_DIR=str(folder))
    logger = WandbLogger(project="bench", save_dir=str(folder), offline=True)
    logger.experiment  # noqa: B018 - start the run outside the timed loop, as Lightning does
    out["WandbLogger (offline)"] = (_per_call(logger, n), n)
    import wandb

    wandb.finish()
    clean(folder)
    if dvclive:
        out["DVCLiveLogger (dvclive)"] = (_dvclive_per_call(n), n)
    return out


def _dvclive_per_call(n: int) -> float:
    """DVCLiveLogger's per-call time, measured by this script in dvclive's virtualenv (dvc and dvclive pin
    versions this project's environment does not have)."""
    from importlib import metadata

    from bench.bench_repo import dvc_python

    work = scratch("dvc")
    python = dvc_python(work.parent)  # build/bench/dvcenv
    clean(work)
    if subprocess.run([python, "-c", "import lightning, torch"], capture_output=True).returncode != 0:
        pins = [f"torch=={metadata.version('torch')}", f"lightning=={metadata.version('lightning')}"]
        print(f"+ adding {' '.join(pins)} to {python.parent.parent} (first time only)", flush=True)
        subprocess.run([python, "-m", "pip", "-q", "install", "--find-links", "/opt/wheels", *pins], check=True)
    done = subprocess.run([python, str(SCRIPT), "--dvclive-logger", str(n)], check=True, capture_output=True,
                          text=True, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    return float(done.stdout.strip().splitlines()[-1])


def dvclive_logger_per_call(n: int) -> float:
    """In dvclive's virtualenv: DVCLiveLogger on the same loop, in a folder outside any git repository (the
    system's temp folder, the same disk here): inside this checkout dvclive sets DVC up at its top."""
    import tempfile

    from dvclive.lightning import DVCLiveLogger

    folder = Path(tempfile.mkdtemp(prefix="pl-dvclive-"))
    os.chdir(folder)
    try:
        return _per_call(DVCLiveLogger(dir=str(folder / "dvclive"), save_dvc_exp=False), n)
    finally:
        os.chdir(folder.parent)
        clean(folder)


def trainer_wall(steps: int, report_to: str, ours: bool, imported: bool = False) -> tuple[float, ...]:
    """`trainer.train()` (model and data built before the clock starts): wall seconds; the process's CPU
    seconds (all its threads); seconds the main thread spent inside SpecweaveCallback; CPU seconds of the
    threads other than the main one (a background capture's, the flusher's: compare with "none"); the
    seconds `import specweave.huggingface` took (after transformers; 0 when not ours); the seconds
    Python's garbage collector ran inside train(); and the CPU seconds of the child processes that ended
    inside it (the run's git capture). `imported`: the import without the callback, so the cost
    of our modules in the heap (each full collection walks them) shows apart from the callback's work."""
    import gc

    import torch

    torch.set_num_threads(1)  # the same for every setup: two cores shared, so no thread pool fights another
    from transformers import BertConfig, BertForSequenceClassification, PrinterCallback, Trainer, TrainingArguments

    inside = [0.0, 0.0]  # seconds: import specweave.huggingface, and time in its hooks
    callbacks = []
    if imported and not ours:
        import specweave.huggingface  # noqa: F401
    if ours:  # only then: a "none" process never loads specweave
        began = time.perf_counter()
        from specweave.huggingface import SpecweaveCallback  # what a script adds at its top: timed, outside train()

        inside[0] = time.perf_counter() - began

        class Timed(SpecweaveCallback):
            """The callback as users get it, with a clock around each hook Trainer calls."""

            def on_train_begin(self, *a, **k):
                t = time.perf_counter()
                super().on_train_begin(*a, **k)
                inside[1] += time.perf_counter() - t

            def on_log(self, *a, **k):
                t = time.perf_counter()
                super().on_log(*a, **k)
                inside[1] += time.perf_counter() - t

            def on_train_end(self, *a, **k):
                t = time.perf_counter()
                super().on_train_end(*a, **k)
                inside[1] += time.perf_counter() - t

    torch.manual_seed(0)
    config = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=16, num_labels=2)
    g = torch.Generator().manual_seed(0)
    rows = [{"input_ids": torch.randint(0, 50, (8,), generator=g), "attention_mask": torch.ones(8, dtype=torch.long),
             "labels": torch.tensor(i % 2)} for i in range(64)]
    folder = scratch(f"hf-{report_to}-{ours}")
    os.environ.update(WANDB_MODE="offline", WANDB_DIR=str(folder), MLFLOW_TRACKING_URI=f"sqlite:///{folder}/m.db")
    if report_to == "mlflow":
        import mlflow

        mlflow.set_tracking_uri(os.environ["MLFLOW_TRACKING_URI"])
    args = TrainingArguments(output_dir=str(folder / "out"), max_steps=steps, logging_steps=1,
                             per_device_train_batch_size=8, report_to=report_to, use_cpu=True, save_strategy="no",
                             disable_tqdm=True)
    if ours:
        callbacks.append(Timed("bench", increment="0001", root=str(folder)))
    trainer = Trainer(model=BertForSequenceClassification(config), args=args, train_dataset=rows, callbacks=callbacks)
    trainer.remove_callback(PrinterCallback)  # the same for all: no per-step print to the terminal
    collecting = [0.0, 0.0]  # seconds in the collector, when the current collection began

    def clock(phase: str, _info: dict) -> None:
        if phase == "start":
            collecting[1] = time.perf_counter()
        else:
            collecting[0] += time.perf_counter() - collecting[1]

    gc.callbacks.append(clock)
    children = _children_cpu()
    start, cpu, main = time.perf_counter(), time.process_time(), time.thread_time()
    trainer.train()
    elapsed, cpu, main = time.perf_counter() - start, time.process_time() - cpu, time.thread_time() - main
    children = _children_cpu() - children
    gc.callbacks.remove(clock)
    if report_to == "wandb":
        import wandb

        wandb.finish()
    if report_to == "mlflow":
        import mlflow

        mlflow.end_run()
    clean(folder)
    return elapsed, cpu, inside[1], cpu - main, inside[0], collecting[0], children


def _children_cpu() -> float:
    import resource

    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def noop_ns(n: int) -> tuple[float, float]:
    from specweave import track_experiment

    os.environ.update(RANK="1", WORLD_SIZE="2")
    try:
        exp = track_experiment("bench")
    finally:
        del os.environ["RANK"], os.environ["WORLD_SIZE"]
    log = exp.log_metric
    best, empty = float("inf"), float("inf")
    for _ in range(200):  # many short repeats: the best one is the machine's quiet moment
        start = time.perf_counter()
        for i in range(n):
            log("loss", 0.5, i)
        best = min(best, time.perf_counter() - start)
        start = time.perf_counter()
        for i in range(n):
            pass
        empty = min(empty, time.perf_counter() - start)
    return best / n * 1e9, (best - empty) / n * 1e9


def trainer_in_subprocess(steps: int, setup: str) -> tuple[float, ...]:
    """One Trainer run in a fresh process, so no run inherits another's threads or caches."""
    done = subprocess.run([sys.executable, str(SCRIPT), "--trainer", setup, "--steps", str(steps)], check=True,
                          capture_output=True, text=True)
    return tuple(float(x) for x in done.stdout.strip().splitlines()[-1].split())


def trainer_section(steps: int, rounds: int, others: bool) -> None:
    """Ours and report_to="none" (and mlflow, wandb) interleaved, each round in a rotated order; per setup the
    median and spread, and the median of each round's ratio to "none" (neighbours in time share the
    machine's load). On a shared machine a 2% difference drowns in the spread of whole runs, so the
    callback's own cost is also counted directly: the main thread's time inside its hooks, plus the CPU
    its threads add (other-thread CPU over "none"'s median), over "none"'s median wall time."""
    setups = {"report_to='none'": "none", "report_to='none', specweave imported": "imported",
              "report_to='none' + SpecweaveCallback": "ours"}
    if others:
        setups.update({"report_to='mlflow'": "mlflow", "report_to='wandb' (offline)": "wandb"})
    print(f"\ntransformers Trainer, tiny BERT, {steps} steps, logging every step ({rounds} rounds, interleaved, "
          f"each run a fresh process; torch on one thread):", flush=True)
    names = list(setups)
    runs: dict[str, list[tuple[float, ...]]] = {name: [] for name in names}
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            runs[name].append(trainer_in_subprocess(steps, setups[name]))
    base = runs["report_to='none'"]
    for name, got in runs.items():
        walls, cpus = [g[0] for g in got], [g[1] for g in got]
        ratio_wall = median([g[0] / b[0] for g, b in zip(got, base)])
        ratio_cpu = median([g[1] / b[1] for g, b in zip(got, base)])
        print(f"  {name:<38} wall {median(walls):6.2f} s ({min(walls):.2f}-{max(walls):.2f})  cpu {median(cpus):6.2f} s"
              f"  paired to none: wall {100 * (ratio_wall - 1):+5.1f}%, cpu {100 * (ratio_cpu - 1):+5.1f}%"
              f"  gc {median([g[5] for g in got]) * 1000:4.0f} ms", flush=True)
    ours = runs["report_to='none' + SpecweaveCallback"]
    base_wall = median([b[0] for b in base])
    hooks = median([g[2] for g in ours])
    threads = median([g[3] for g in ours]) - median([b[3] for b in base])
    children = median([g[6] for g in ours])
    own = hooks + max(threads, 0.0) + children
    ratio = median([g[0] / b[0] for g, b in zip(ours, base)])
    print(f"  target: the callback's wall time within 2% of report_to='none': paired median "
          f"{100 * (ratio - 1):+.1f}% over {len(base)} rounds", flush=True)
    print(f"  SpecweaveCallback's own CPU inside train(): {hooks * 1000:.0f} ms in its hooks on the main thread "
          f"(median; spread {min(g[2] for g in ours) * 1000:.0f}-{max(g[2] for g in ours) * 1000:.0f}) + "
          f"{threads * 1000:.0f} ms of its threads + {children * 1000:.0f} ms of its child processes (git) = "
          f"{100 * own / base_wall:.1f}% of the run's {base_wall:.2f} s wall (the hooks add to the wall time as they "
          "run; threads and children run beside the loop, mostly on the other core)", flush=True)
    imports = median([g[4] for g in ours])
    print(f"  and once per process, before train(): import specweave.huggingface {imports * 1000:.0f} ms (median, "
          f"after transformers; {100 * imports / base_wall:.1f}% of the run)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--trainer", choices=["none", "imported", "ours", "mlflow", "wandb"])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--only", choices=["noop", "lightning", "transformers"], help="run one part only")
    parser.add_argument("--rounds", type=int, help="transformers: interleaved rounds (default 7; --quick 2)")
    parser.add_argument("--no-dvclive", action="store_true", help="Lightning: leave out dvclive's logger")
    parser.add_argument("--dvclive-logger", type=int, help=argparse.SUPPRESS)  # inside dvclive's virtualenv
    options = parser.parse_args()
    if options.dvclive_logger:
        print(dvclive_logger_per_call(options.dvclive_logger))
        return
    cwd = scratch("integrations-cwd")
    os.chdir(cwd)  # what a library writes relative to the working directory lands here
    atexit.register(clean, cwd)  # each Trainer round is a process of its own: one folder a process, not kept
    if options.trainer:
        report_to = {"ours": "none", "imported": "none"}.get(options.trainer, options.trainer)
        print(*trainer_wall(options.steps, report_to, options.trainer == "ours", options.trainer == "imported"))
        return
    quick = options.quick
    n, n_slow, steps, rounds = (2000, 200, 50, 2) if quick else (10_000, 1000, 500, 7)
    rounds = options.rounds or rounds
    if options.only == "transformers":
        trainer_section(steps, rounds, others=False)
        return

    if options.only in (None, "noop"):
        raw, net = noop_ns(20_000)  # first: before any library has started threads that take the GIL
        print(f"non-zero rank no-op log_metric: {raw:.1f} ns/call with the loop, {net:.1f} ns net of an empty loop "
              f"(target <= 50 ns)\n", flush=True)
    if options.only not in (None, "lightning"):
        return

    print(f"Lightning logger.log_metrics, per call ({n:,} calls; MLflow {n_slow:,}):")
    results = lightning_loggers(n, n_slow, dvclive=not options.no_dvclive)
    ours = results["SpecweaveLogger"][0]
    for name, (per_call, calls) in results.items():
        ratio = per_call / ours
        print(f"  {name:<24} {per_call * 1e6:10.2f} us/call   {ratio:8.1f}x ours", flush=True)

    if options.only is None:
        trainer_section(steps, rounds, others=True)


if __name__ == "__main__":
    main()
