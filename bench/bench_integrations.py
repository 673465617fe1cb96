"""Framework integrations, side by side in one run: each logger on the same loop.

    python bench/bench_integrations.py           # full sizes (issue 21)
    python bench/bench_integrations.py --quick   # smaller, for a smoke run

1. Lightning: `logger.log_metrics({...}, step=i)` calls, per call: SpecweaveLogger vs MLFlowLogger (sqlite),
   WandbLogger (offline) and CSVLogger. Target: >= 10x MLflow and W&B, no slower than CSVLogger.
2. transformers Trainer, tiny BERT from a config, 500 steps logging every step: wall time with
   SpecweaveCallback vs report_to="none" (target within 2%), and report_to="mlflow" / "wandb" beside it.
3. A non-zero rank's no-op `log_metric`, ns per call (target <= 50 ns).
Ratios are the other's time / ours.
"""

from __future__ import annotations

import argparse
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

from bench._common import clean, scratch  # noqa: E402

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


def lightning_loggers(n: int, n_slow: int) -> dict[str, tuple[float, int]]:
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
    return out


def trainer_wall(steps: int, report_to: str, ours: bool) -> float:
    """Seconds `trainer.train()` takes (model and data built before the clock starts)."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, PrinterCallback, Trainer, TrainingArguments

    from specweave.huggingface import SpecweaveCallback

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
    callbacks = [SpecweaveCallback("bench", increment="0001", root=str(folder))] if ours else []
    trainer = Trainer(model=BertForSequenceClassification(config), args=args, train_dataset=rows, callbacks=callbacks)
    trainer.remove_callback(PrinterCallback)  # the same for all: no per-step print to the terminal
    start = time.perf_counter()
    trainer.train()
    elapsed = time.perf_counter() - start
    if report_to == "wandb":
        import wandb

        wandb.finish()
    if report_to == "mlflow":
        import mlflow

        mlflow.end_run()
    clean(folder)
    return elapsed


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


def trainer_in_subprocess(steps: int, setup: str) -> float:
    """One Trainer run in a fresh process, so no run inherits another's threads or caches."""
    done = subprocess.run([sys.executable, str(SCRIPT), "--trainer", setup, "--steps", str(steps)], check=True,
                          capture_output=True, text=True)
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--trainer", choices=["none", "ours", "mlflow", "wandb"])
    parser.add_argument("--steps", type=int, default=500)
    options = parser.parse_args()
    os.chdir(scratch("integrations-cwd"))  # what a library writes relative to the working directory lands here
    if options.trainer:
        report_to = {"ours": "none"}.get(options.trainer, options.trainer)
        print(trainer_wall(options.steps, report_to, options.trainer == "ours"))
        return
    quick = options.quick
    n, n_slow, steps, rounds = (2000, 200, 50, 1) if quick else (10_000, 1000, 500, 3)

    raw, net = noop_ns(20_000)  # first: before any library has started threads that take the GIL
    print(f"non-zero rank no-op log_metric: {raw:.1f} ns/call with the loop, {net:.1f} ns net of an empty loop "
          f"(target <= 50 ns)\n", flush=True)

    print(f"Lightning logger.log_metrics, per call ({n:,} calls; MLflow {n_slow:,}):")
    results = lightning_loggers(n, n_slow)
    ours = results["SpecweaveLogger"][0]
    for name, (per_call, calls) in results.items():
        ratio = per_call / ours
        print(f"  {name:<24} {per_call * 1e6:10.2f} us/call   {ratio:8.1f}x ours", flush=True)

    print(f"\ntransformers Trainer, tiny BERT, {steps} steps, logging every step (best of {rounds}, interleaved):")
    setups = {"report_to='none'": "none", "report_to='none' + SpecweaveCallback": "ours",
              "report_to='mlflow'": "mlflow", "report_to='wandb' (offline)": "wandb"}
    walls = {name: float("inf") for name in setups}
    for _ in range(rounds):  # interleaved, so a busy minute on a shared machine hits every setup alike
        for name, setup in setups.items():
            walls[name] = min(walls[name], trainer_in_subprocess(steps, setup))
    base = walls["report_to='none'"]
    for name, wall in walls.items():
        print(f"  {name:<38} {wall:8.2f} s   {100 * (wall / base - 1):+6.1f}% over none", flush=True)



if __name__ == "__main__":
    main()
