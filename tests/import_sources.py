"""Sources for the import tests, written by the real libraries in subprocesses (their globals, their files,
their HOME kept out of the test process): an MLflow store (sqlite, `mlruns/` or a server), W&B offline run
folders, TensorBoard event files, a CSV."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

MLFLOW_SCRIPT = textwrap.dedent('''
    import os, sys, mlflow
    from mlflow.entities import Metric
    uri, base, runs, points = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    os.chdir(base)
    client = mlflow.MlflowClient(tracking_uri=uri)
    open("notes.txt", "w").write("trained on v2\\n")
    open("weights.bin", "wb").write(bytes(range(256)) * 8)
    exp = client.create_experiment("churn")
    parent = client.create_run(exp, run_name="sweep", start_time=1_700_000_000_000,
                               tags={"team": "ml", "mlflow.note.content": "the sweep",
                                     "mlflow.source.git.commit": "abc123", "mlflow.source.name": "train.py"})
    pid = parent.info.run_id
    client.log_batch(pid, params=[mlflow.entities.Param("lr", "0.1"), mlflow.entities.Param("depth", "3"),
                                  mlflow.entities.Param("booster", "gbtree")])
    client.log_batch(pid, metrics=[Metric("loss", 1.0 / (i + 1), 1_700_000_000_000 + 1000 * i, i) for i in range(10)]
                     + [Metric("system/cpu_utilization_percentage", 50.0 + i, 1_700_000_000_000 + 1000 * i, i)
                        for i in range(3)])
    client.log_artifact(pid, "notes.txt")
    client.log_artifact(pid, "weights.bin", "model")
    for n in range(runs):
        child = client.create_run(exp, run_name=f"trial-{n}", start_time=1_700_000_100_000 + n,
                                  tags={"mlflow.parentRunId": pid, "trial": str(n)})
        cid = child.info.run_id
        client.log_param(cid, "trial", str(n))
        batch = [Metric("acc", n + i / points, 1_700_000_200_000 + i, i) for i in range(points)]
        for start in range(0, len(batch), 1000):
            client.log_batch(cid, metrics=batch[start:start + 1000])
        client.set_terminated(cid, "FAILED" if n == 1 else "FINISHED", end_time=1_700_000_300_000 + n)
    client.set_terminated(pid, "FINISHED", end_time=1_700_000_400_000)
    other = client.create_experiment("baseline models")
    run = client.create_run(other, run_name="majority")
    client.log_metric(run.info.run_id, "acc", 0.5, timestamp=1_700_000_500_000, step=0)
    client.set_terminated(run.info.run_id, "FINISHED")
''')


def child_env(base: Path, **extra: str) -> dict[str, str]:
    """The subprocess's environment: its HOME and caches inside `base`, never the real ones."""
    home = base / "home"
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "WANDB_"))}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), XDG_CONFIG_HOME=str(home / ".config"),
               PYTHONDONTWRITEBYTECODE="1", **extra)
    return env


def run_script(code: str, args: list[str], base: Path, timeout: float = 300, **env: str) -> str:
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=base, env=child_env(base, **env),
                          capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise AssertionError(f"source script failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done.stdout


def mlflow_source(base: Path, uri: str, *, runs: int = 3, points: int = 20, file_store: bool = False) -> None:
    """Experiment `churn`: a parent `sweep` (params, tags, a note, git commit, a loss history, system
    metrics, a text and a binary artifact) with `runs` nested trials of `points` points (trial 1 failed);
    experiment `baseline models`: one run."""
    extra = {"MLFLOW_ALLOW_FILE_STORE": "true"} if file_store else {}
    run_script(MLFLOW_SCRIPT, [uri, str(base), str(runs), str(points)], base, **extra)


WANDB_SCRIPT = textwrap.dedent('''
    import json, sys, time, wandb
    base, runs, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    logged = {}
    for n in range(runs):
        run = wandb.init(project="vision", name=f"resnet-{n}", dir=base, mode="offline", group="sweep-1",
                         config={"lr": 0.01 * (n + 1), "optimizer": {"name": "adam", "beta": 0.9}},
                         tags=["baseline", f"seed-{n}"], notes=f"run {n} notes")
        open(f"{base}/labels-{n}.txt", "w").write(f"cat dog {n}\\n")
        run.save(f"{base}/labels-{n}.txt", base_path=base)
        before = time.time()
        points = []
        for i in range(steps):
            run.log({"loss": 1.0 / (i + 1 + n), "metrics": {"acc": i / steps}})
            points.append([i, 1.0 / (i + 1 + n), i / steps])
        run.summary["best_acc"] = 0.99
        after = time.time()
        logged[run.id] = {"name": f"resnet-{n}", "points": points, "before": before, "after": after}
        run.finish()
    json.dump(logged, open(f"{base}/logged.json", "w"))
''')


def wandb_source(base: Path, *, runs: int = 2, steps: int = 20) -> dict:
    """`runs` offline runs of project `vision` (group `sweep-1`, config, tags, notes, history, a summary
    number, a saved file); returns what each logged: {run id: {name, points [[step, loss, acc]], before,
    after}}."""
    run_script(WANDB_SCRIPT, [str(base), str(runs), str(steps)], base, WANDB_MODE="offline", WANDB_SILENT="true",
               WANDB_DIR=str(base), WANDB_CACHE_DIR=str(base / "wandb-cache"),
               WANDB_CONFIG_DIR=str(base / "wandb-config"), WANDB_DATA_DIR=str(base / "wandb-data"))
    return json.loads((base / "logged.json").read_text())


TENSORBOARD_SCRIPT = textwrap.dedent('''
    import sys, time
    logdir, runs, points = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    try:  # PyTorch's writer, as Lightning and most training loops write
        from torch.utils.tensorboard import SummaryWriter
        from torch.utils.tensorboard.summary import hparams
    except ImportError:  # else TensorBoard's own writer, with the hparams plugin's protos
        SummaryWriter = None
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.plugins.hparams import plugin_data_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter
    for n in range(runs):
        params = {"lr": 0.1 * (n + 1), "optimizer": "adam", "layers": n + 2}
        if SummaryWriter is not None:
            writer = SummaryWriter(f"{logdir}/version_{n}")
            for i in range(points):
                writer.add_scalar("train/loss", 1.0 / (i + 1 + n), i)
                if i % 10 == 0:
                    writer.add_scalar("val/acc", i / points, i)
            for summary in hparams(params, {"val/acc": 0.0}):
                writer.file_writer.add_summary(summary)
            writer.close()
            continue
        writer = EventFileWriter(f"{logdir}/version_{n}")
        def scalar(tag, value, step):
            value = summary_pb2.Summary.Value(tag=tag, simple_value=value)
            writer.add_event(event_pb2.Event(wall_time=time.time(), step=step, summary=summary_pb2.Summary(value=[value])))
        for i in range(points):
            scalar("train/loss", 1.0 / (i + 1 + n), i)
            if i % 10 == 0:
                scalar("val/acc", i / points, i)
        start = plugin_data_pb2.SessionStartInfo()
        start.hparams["lr"].number_value = params["lr"]
        start.hparams["optimizer"].string_value = params["optimizer"]
        start.hparams["layers"].number_value = params["layers"]
        content = plugin_data_pb2.HParamsPluginData(version=0, session_start_info=start).SerializeToString()
        meta = summary_pb2.SummaryMetadata(plugin_data=summary_pb2.SummaryMetadata.PluginData(
            plugin_name="hparams", content=content))
        value = summary_pb2.Summary.Value(tag="_hparams_/session_start_info", metadata=meta)
        writer.add_event(event_pb2.Event(wall_time=time.time(), summary=summary_pb2.Summary(value=[value])))
        writer.close()
''')


def tensorboard_source(logdir: Path, *, runs: int = 2, points: int = 50) -> None:
    """`runs` run folders (`version_N`) of `train/loss` every step and `val/acc` every tenth, with hparams,
    written by torch.utils.tensorboard (or, without torch, TensorBoard's own EventFileWriter)."""
    logdir.mkdir(parents=True, exist_ok=True)
    run_script(TENSORBOARD_SCRIPT, [str(logdir), str(runs), str(points)], logdir.parent)


def csv_source(path: Path, rows: int = 20) -> None:
    """A CSV with `epoch`, `loss`, `acc` (empty every third row) and a text column."""
    with open(path, "w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["epoch", "loss", "acc", "phase"])
        for i in range(rows):
            out.writerow([i, 1.0 / (i + 1), "" if i % 3 == 2 else i / rows, "train"])
