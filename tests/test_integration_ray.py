"""Ray Tune on a local two-CPU cluster: two trials at once, one child run per trial, the best marked."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
import yaml

from skill.storage.run_summary import full_log_bytes

ray = pytest.importorskip("ray")
tune = pytest.importorskip("ray.tune")


@pytest.mark.slow
def test_trials_as_children_with_the_best_marked(project: Path, tmp_path: Path, ray_local) -> None:
    from specweave.ray import SpecweaveLoggerCallback

    def trainable(config):  # defined here: Ray's workers receive it by value, not by this module's name
        from ray import tune as worker_tune

        if config["x"] == 3:
            raise ValueError("x=3 blows up")
        for i in range(3):
            worker_tune.report({"score": config["x"] * (i + 1), "nested": {"loss": 1.0 / (i + 1)}})

    callback = SpecweaveLoggerCallback("tune-x", metric="score", mode="max")
    tuner = tune.Tuner(trainable, param_space={"x": tune.grid_search([1, 2, 3, 4, 0])},
                       tune_config=tune.TuneConfig(max_concurrent_trials=2),
                       run_config=tune.RunConfig(callbacks=[callback], storage_path=str(tmp_path / "ray"),
                                                 name="exp", verbose=0))
    grid = tuner.fit()
    best = grid.get_best_result(metric="score", mode="max", scope="last")
    runs = sorted(project.glob(".specweave/increments/*/experiments/exp-*"))
    metas = {run: yaml.safe_load((run / "metadata.yaml").read_text()) for run in runs}
    (parent,) = [run for run, meta in metas.items() if "sweep" in meta["tags"]]
    parent_id = metas[parent]["id"]
    children = {json.loads((run / "params.json").read_text())["x"]: (run, meta)
                for run, meta in metas.items() if meta.get("parent") == parent_id}
    assert sorted(children) == [0, 1, 2, 3, 4]
    assert children[3][1]["status"] == "failed" and "x=3 blows up" in children[3][1]["notes"][-1]["text"]
    assert {children[x][1]["status"] for x in (0, 1, 2, 4)} == {"completed"}
    run, _meta = children[4]
    points = [json.loads(line) for line in full_log_bytes(run).decode().splitlines()]
    assert [(p["step"], p["value"]) for p in points if p["key"] == "score"] == [(1, 4.0), (2, 8.0), (3, 12.0)]
    assert [p["step"] for p in points if p["key"] == "nested/loss"] == [1, 2, 3]
    assert not [p for p in points if p["key"].startswith("config/")]  # Tune repeats the config in each result
    assert [x for x, (_r, m) in children.items() if "best" in m["tags"]] == [best.config["x"]] == [4]
    parent_meta = metas[parent]
    assert parent_meta["status"] == "completed" and parent_meta["best_trial"]["params"] == {"x": 4}


def _runs(project: Path) -> dict[Path, dict]:
    return {run: yaml.safe_load((run / "metadata.yaml").read_text())
            for run in sorted(project.glob(".specweave/increments/*/experiments/exp-*"))}


def _failed_with_traceback(meta: dict) -> bool:
    """A run a loop without `with` failed: ended with the traceback (a watcher thread writes it)."""
    return meta["status"] == "failed" and meta["notes"][-1]["text"].startswith("FAILED: ValueError")


def _when(run: Path, done, seconds: float = 60.0) -> dict:
    """run's metadata once `done(meta)` holds (a watcher thread writes it just after the loop's thread ends;
    the bound is for a loaded machine: it returns as soon as that is on disk)."""
    deadline = time.monotonic() + seconds
    meta = yaml.safe_load((run / "metadata.yaml").read_text())
    while not done(meta) and time.monotonic() < deadline:
        time.sleep(0.05)
        meta = yaml.safe_load((run / "metadata.yaml").read_text())
    return meta


@pytest.mark.slow
def test_ray_train_two_workers_write_one_run_from_rank_zero(project: Path, tmp_path: Path, ray_local) -> None:
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer
    from ray.train.v2.api.data_parallel_trainer import DataParallelTrainer

    def train_loop(config):  # run by each Ray Train worker; defined here, so Ray ships it by value
        import torch
        from ray import train
        from ray.train.torch import prepare_model

        from specweave.ray import setup_specweave

        exp = setup_specweave(config, "ddp", increment="0001", root=config["root"])
        rank = train.get_context().get_world_rank()
        torch.manual_seed(0)
        model = prepare_model(torch.nn.Linear(2, 1))  # DDP over gloo: the two workers really train together
        opt = torch.optim.SGD(model.parameters(), lr=config["lr"])
        x, y = torch.randn(16, 2), torch.randn(16, 1)
        for epoch in range(config["epochs"]):
            loss = torch.nn.functional.mse_loss(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            exp.log_metrics({"loss": loss.item(), "rank": rank}, step=epoch)
            if config.get("fail_at") == epoch and rank == 0:
                raise ValueError(f"diverged at epoch {epoch}")
            train.report({"loss": loss.item()})

    def fit(name: str, config: dict) -> None:
        TorchTrainer(train_loop, train_loop_config={"root": str(project), **config},
                     scaling_config=ScalingConfig(num_workers=2, use_gpu=False),
                     run_config=RunConfig(storage_path=str(tmp_path / "ray"), name=name)).fit()

    fit("ok", {"lr": 0.1, "epochs": 3})
    (run, meta), = _runs(project).items()  # two workers, one run
    assert meta["status"] == "completed" and meta["distributed"]["world_size"] == 2
    assert json.loads((run / "params.json").read_text()) == {"root": str(project), "lr": 0.1, "epochs": 3}
    points = [json.loads(line) for line in full_log_bytes(run).decode().splitlines()]
    assert [(p["step"], p["value"]) for p in points if p["key"] == "rank"] == [(0, 0.0), (1, 0.0), (2, 0.0)]
    assert [p["step"] for p in points if p["key"] == "loss"] == [0, 1, 2]

    def failing_loop(config):  # without torch.distributed or RANK: only Ray's context knows the rank
        from specweave.ray import setup_specweave

        exp = setup_specweave(config, "dp", increment="0001", root=config["root"])  # no `with`: ends with the loop
        exp.log_metric("seen", 1.0, step=0)
        if ray.train.get_context().get_world_rank() == 0:
            raise ValueError("diverged at epoch 1")

    with pytest.raises(Exception, match="diverged at epoch 1"):
        DataParallelTrainer(failing_loop, train_loop_config={"root": str(project), "lr": 0.5},
                            scaling_config=ScalingConfig(num_workers=2),
                            run_config=RunConfig(storage_path=str(tmp_path / "ray"), name="fails")).fit()
    (failed,) = [_when(path, _failed_with_traceback) for path in _runs(project) if path != run]
    assert failed["status"] == "failed" and failed["name"] == "dp" and failed["distributed"]["world_size"] == 2
    assert "ValueError: diverged at epoch 1" in failed["notes"][-1]["text"]
    assert "Traceback" in failed["notes"][-1]["text"]


@pytest.mark.parametrize("raises", [False, "kept", "dropped"])
def test_without_with_the_run_ends_with_the_loops_thread(project: Path, raises: bool | str, monkeypatch) -> None:
    """Ray kills its workers, so no exit hook runs: the run ends when the thread that opened it does. A
    failure gets the traceback of the exception, which Ray's thread keeps to report ("kept", as here);
    one nothing holds any more ("dropped") gets the line where the loop stopped."""
    import threading

    from specweave.ray import setup_specweave

    held = []

    def loop(config):
        exp = setup_specweave(config, "plain", increment="0001", root=str(project))
        exp.log_metric("loss", 0.5, step=0)
        if raises:
            raise ValueError("boom")

    # As Ray's thread runner does: the exception caught and kept for the driver. Compiled under a name in
    # Ray's folder (no file is written), so that the loop, not this wrapper, is the frame Ray called.
    runner = "def run_kept(config):\n    try:\n        loop(config)\n    except ValueError as exc:\n" \
             "        held.append(exc)\n"
    scope = {"loop": loop, "held": held}
    code = compile(runner, os.path.join(os.path.dirname(ray.__file__), "runner_in_test.py"), "exec")
    exec(code, scope)  # noqa: S102 - this test's own source, above
    run_kept = scope["run_kept"]

    monkeypatch.setattr(threading, "excepthook", lambda args: None)
    worker = threading.Thread(target=run_kept if raises == "kept" else loop, args=({"lr": 0.1},))
    worker.start()
    worker.join()
    (run,) = _runs(project)
    meta = _when(run, _failed_with_traceback if raises == "kept" else lambda m: m["status"] != "running")
    assert meta["status"] == ("failed" if raises else "completed")
    assert json.loads((run / "params.json").read_text()) == {"lr": 0.1}
    note = meta["notes"][-1]["text"] if raises else ""
    if raises == "kept":
        assert note.startswith("FAILED: ValueError: boom\nTraceback") and 'raise ValueError("boom")' in note
    if raises == "dropped":
        assert "loop raised at" in note and __file__ in note


RAY_TRAIN_V1 = """
import os, sys
import ray
ray.init(num_cpus=4, include_dashboard=False, log_to_driver=False,
         runtime_env={"env_vars": {"PYTHONPATH": sys.argv[1], "SPECWEAVE_QUIET": "1"}})
from ray.train import RunConfig, ScalingConfig
from ray.train.data_parallel_trainer import DataParallelTrainer  # the legacy (V1) trainer under this setting

def loop(config):
    from ray import train
    from specweave.ray import setup_specweave

    if not config["fail"]:
        exp = setup_specweave(config, "v1", increment="0001", root=config["root"])  # no `with`: ends with the loop
        exp.log_metric("seen", 1.0, step=0)
        return
    # V1 kills the workers as soon as the error reaches the driver: `with` is the sure way to record it
    with setup_specweave(config, "v1", increment="0001", root=config["root"]) as exp:
        exp.log_metric("seen", 1.0, step=0)
        if train.get_context().get_world_rank() == 0:
            raise ValueError("diverged in V1")

for fail in (False, True):
    try:
        DataParallelTrainer(loop, train_loop_config={"root": os.getcwd(), "fail": fail},
                            scaling_config=ScalingConfig(num_workers=2),
                            run_config=RunConfig(storage_path=os.getcwd() + "/ray", name=f"v1-{fail}")).fit()
    except Exception as exc:
        print("FIT FAILED", type(exc).__name__)
"""


@pytest.mark.slow
def test_ray_train_v1_writes_one_run_per_fit_and_a_failure_with_its_traceback(project: Path, tmp_path: Path) -> None:
    """Ray Train's legacy API (RAY_TRAIN_V2_ENABLED=0, chosen when Ray is imported: its own process and
    cluster): the same rank rule, a run without `with` ended as its loop returns, a failure in `with`
    recorded with its traceback."""
    import subprocess
    import sys

    repo = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "RAY_TRAIN_V2_ENABLED": "0", "HOME": str(tmp_path), "PYTHONPATH": repo,
           "SPECWEAVE_QUIET": "1"}
    done = subprocess.run([sys.executable, "-c", RAY_TRAIN_V1, repo], cwd=project, env=env, capture_output=True,
                          text=True, timeout=600, check=False)  # the fit that fails is the script's to report
    assert "FIT FAILED" in done.stdout, done.stdout[-2000:] + done.stderr[-4000:]
    ok, failed = _runs(project)
    metas = [_when(ok, lambda m: m["status"] != "running"), _runs(project)[failed]]
    assert [m["status"] for m in metas] == ["completed", "failed"]
    assert all(m["distributed"] == {"ranks": "zero", "world_size": 2, "rank_source": "ray.train"} for m in metas)
    note = metas[1]["notes"][-1]["text"]
    assert note.startswith("FAILED: ValueError: diverged in V1\nTraceback") and ", in loop\n" in note
    assert len(metas[1]["notes"]) == 1  # `with` ended it: no watcher wrote a second end
