"""accelerate: a one-layer loop logs through SpecweaveTracker, given as an object or by its name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from skill.storage.run_summary import full_log_bytes
import yaml

pytest.importorskip("accelerate")
torch = pytest.importorskip("torch")

from accelerate import Accelerator  # noqa: E402

from specweave.accelerate import SpecweaveTracker  # noqa: E402


def _train(accelerator: Accelerator) -> None:
    accelerator.init_trackers("acc-project", config={"lr": 0.1, "optim": {"name": "sgd"}})
    model = torch.nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    model, opt = accelerator.prepare(model, opt)
    for step in range(4):
        loss = model(torch.randn(8, 4)).pow(2).mean()
        accelerator.backward(loss)
        opt.step()
        opt.zero_grad()
        accelerator.log({"loss": loss.item(), "note": "text is skipped"}, step=step * 10)
    accelerator.end_training()


def _check(run: Path) -> None:
    assert json.loads((run / "params.json").read_text()) == {"lr": 0.1, "optim.name": "sgd"}
    points = [json.loads(line) for line in full_log_bytes(run).decode().splitlines()]
    assert [(p["key"], p["step"]) for p in points] == [("loss", 0), ("loss", 10), ("loss", 20), ("loss", 30)]
    meta = yaml.safe_load((run / "metadata.yaml").read_text())
    assert meta["status"] == "completed" and meta["source"] == "accelerate"


def test_tracker_object(project: Path) -> None:
    tracker = SpecweaveTracker("acc-run")
    _train(Accelerator(log_with=tracker, cpu=True))
    assert tracker.experiment.name == "acc-run"
    _check(tracker.experiment.path)


def test_a_nan_loss_is_kept_as_the_core_keeps_it(project: Path) -> None:
    """A loss that went NaN (or a tensor of it) is recorded, as `log_metric` records it; text is skipped."""
    tracker = SpecweaveTracker("diverged")
    accelerator = Accelerator(log_with=tracker, cpu=True)
    accelerator.init_trackers("diverged")
    accelerator.log({"loss": 0.5, "phase": "warmup"}, step=0)
    accelerator.log({"loss": torch.tensor(float("nan")), "grad_norm": float("inf")}, step=1)
    accelerator.end_training()
    points = [json.loads(line) for line in full_log_bytes(tracker.experiment.path).decode().splitlines()]
    assert sorted((p["step"], p["key"], p["value"]) for p in points) == \
        [(0, "loss", 0.5), (1, "grad_norm", "Infinity"), (1, "loss", "NaN")]


def test_tracker_by_name(project: Path) -> None:
    accelerator = Accelerator(log_with="specweave", cpu=True)
    _train(accelerator)
    (run,) = project.glob(".specweave/increments/*/experiments/exp-*")
    assert yaml.safe_load((run / "metadata.yaml").read_text())["name"] == "acc-project"
    _check(run)


_LAUNCHED = """
import sys
import torch
from accelerate import Accelerator
from specweave.accelerate import SpecweaveTracker

accelerator = Accelerator(log_with=SpecweaveTracker("two-procs"), cpu=True)
accelerator.init_trackers("two-procs", config={"lr": 0.1, "procs": accelerator.num_processes})
model = torch.nn.Linear(4, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
model, opt = accelerator.prepare(model, opt)
for step in range(3):
    loss = model(torch.randn(8, 4)).pow(2).mean()
    accelerator.backward(loss)
    opt.step()
    opt.zero_grad()
    accelerator.log({"loss": loss.item()}, step=step)
# torch's gloo worker frees its last collective's work under the GIL; a process that starts finalizing within
# milliseconds of that collective can leave the worker without it, which aborts ("terminate called without an
# active exception", torch's race, hit by a rank that runs none of our code: 7 launches in 109 here, none
# of 80 once the model is released first). A real script's evaluation and saving leave that time anyway.
del model, opt
accelerator.free_memory()
accelerator.end_training()
# one write of one line (print writes its parts one by one, and the launcher's children share a pipe)
sys.stdout.write(f"launched as {accelerator.distributed_type} {accelerator.process_index}\\n")
"""


def _launch(project: Path, tmp_path: Path, script: str, *args: str):
    """`accelerate launch` of `script` on two processes. Its `--cpu` flag starts one process (multi-CPU there
    means an MPI setup), so the launch asks for `--multi_gpu`: on a machine without GPUs accelerate starts the
    processes through torch's elastic launcher and runs them as MULTI_CPU over gloo, as a user's CPU box does."""
    import os
    import shutil
    import subprocess
    import sys

    from tests.fixtures import REPO

    (project / "launched.py").write_text(script)
    launcher = shutil.which("accelerate", path=str(Path(sys.executable).parent))
    env = {**os.environ, "PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1", "HOME": str(tmp_path / "home"),
           "OMP_NUM_THREADS": "1"}
    env.pop("CUDA_VISIBLE_DEVICES", None)
    return subprocess.run([launcher, "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
                           "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "0",
                           "--monitor_interval", "0.5", "launched.py", *args], cwd=project, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_two_processes_write_one_run(project: Path, tmp_path: Path) -> None:
    """The real `accelerate launch` with two processes, a tracker by default: one run."""
    done = _launch(project, tmp_path, _LAUNCHED)
    assert done.returncode == 0, done.stderr[-3000:]
    (run,) = project.glob(".specweave/increments/*/experiments/exp-*")
    assert json.loads((run / "params.json").read_text()) == {"lr": 0.1, "procs": 2}
    points = [json.loads(line) for line in full_log_bytes(run).decode().splitlines()]
    assert [p["step"] for p in points if p["key"] == "loss"] == [0, 1, 2]
    meta = yaml.safe_load((run / "metadata.yaml").read_text())
    assert meta["status"] == "completed" and meta["distributed"]["world_size"] == 2
    assert sorted(done.stdout.split("launched as ")[1:]) == ["DistributedType.MULTI_CPU 0\n",
                                                             "DistributedType.MULTI_CPU 1\n"]


_SHARED = """
import os, signal, sys, time
import torch
from accelerate import Accelerator
from specweave import track_experiment

accelerator = Accelerator(cpu=True)
model = torch.nn.Linear(4, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
model, opt = accelerator.prepare(model, opt)
with track_experiment("shared", ranks="all", system_metrics=0.2) as exp:  # the rank from accelerate's state
    exp.log_params({"procs": accelerator.num_processes})
    for step in range(5):
        loss = model(torch.randn(8, 4)).pow(2).mean()
        accelerator.backward(loss)
        opt.step()
        opt.zero_grad()
        exp.log_metric("loss", loss.item(), step=step)
        if sys.argv[1] == "kill" and accelerator.process_index == 1 and step == 2:
            time.sleep(1.0)  # a few samples first
            os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(0.6)
"""


@pytest.mark.slow
@pytest.mark.parametrize("how", ["end", "kill"])
def test_two_processes_share_one_run_with_ranks_all(project: Path, tmp_path: Path, how: str) -> None:
    """`accelerate launch` with two processes and `ranks="all"`: one run carrying both ranks' system metrics
    and rank 0's loss alone; a rank killed with SIGKILL mid-training is recorded in the run."""
    done = _launch(project, tmp_path, _SHARED, how)
    assert (done.returncode == 0) == (how == "end"), done.stderr[-3000:]
    (run,) = project.glob(".specweave/increments/*/experiments/exp-*")
    points = [json.loads(line) for line in full_log_bytes(run).decode().splitlines()]
    meta = yaml.safe_load((run / "metadata.yaml").read_text())
    ranks = {p["key"].split("/")[2] for p in points if p["key"].startswith("system/")}
    assert ranks == {"rank0", "rank1"}
    assert meta["distributed"]["world_size"] == 2
    if how == "end":
        assert [p["step"] for p in points if p["key"] == "loss"] == [0, 1, 2, 3, 4]  # rank 0's alone
        assert meta["status"] == "completed" and meta["distributed"]["rank_states"] == {"1": "completed"}
        assert json.loads((run / "params.json").read_text()) == {"procs": 2}
    else:
        assert meta["status"] in ("failed", "killed")
        notes = "\n".join(n["text"] for n in meta["notes"])
        assert "rank 1" in notes and "died" in notes
        assert meta["distributed"]["rank_states"] == {"1": "died"}
