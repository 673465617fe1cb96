"""Lightning: a one-layer module trained a few steps with SpecweaveLogger, checked on disk."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from skill.storage.run_summary import full_log_bytes
import yaml

pytest.importorskip("lightning")
torch = pytest.importorskip("torch")

import lightning.pytorch as pl  # noqa: E402
from lightning.fabric import Fabric  # noqa: E402

from specweave import load_model  # noqa: E402
from specweave.lightning import SpecweaveLogger  # noqa: E402


class Tiny(pl.LightningModule):
    def __init__(self, lr: float = 0.1, fail_at: int = -1, nested: dict | None = None) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.layer = torch.nn.Linear(4, 1)

    def training_step(self, batch, batch_idx):
        if batch_idx == self.hparams.fail_at:
            raise RuntimeError("loss went to the moon")
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.layer(x), y)
        self.log("train_loss", loss)
        return loss

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


def _loader():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(48, 4, generator=g)
    data = torch.utils.data.TensorDataset(x, x.sum(1, keepdim=True))
    return torch.utils.data.DataLoader(data, batch_size=8)


def _trainer(tmp_path: Path, logger: SpecweaveLogger, **kwargs) -> pl.Trainer:
    return pl.Trainer(max_epochs=2, logger=logger, log_every_n_steps=1, enable_progress_bar=False,
                      enable_model_summary=False, default_root_dir=str(tmp_path / "pl"), accelerator="cpu", **kwargs)


def _meta(exp) -> dict:
    return yaml.safe_load((exp.path / "metadata.yaml").read_text())


def test_hparams_metrics_checkpoint_and_status(project: Path, tmp_path: Path) -> None:
    logger = SpecweaveLogger("pl-run", log_checkpoints="best")
    ckpt = pl.callbacks.ModelCheckpoint(monitor="train_loss", mode="min", dirpath=str(tmp_path / "ckpt"))
    _trainer(tmp_path, logger, callbacks=[ckpt]).fit(Tiny(lr=0.05, nested={"depth": 2}), _loader())
    exp = logger.experiment
    params = json.loads((exp.path / "params.json").read_text())
    assert params["lr"] == 0.05 and params["nested.depth"] == 2 and params["fail_at"] == -1
    points = [json.loads(line) for line in full_log_bytes(exp.path).decode().splitlines()]
    steps = [p["step"] for p in points if p["key"] == "train_loss"]
    assert steps == list(range(12))  # 6 batches x 2 epochs, each at Lightning's global step
    meta = _meta(exp)
    assert meta["status"] == "completed" and meta["source"] == "lightning"
    assert meta["best_checkpoint"]["monitor"] == "train_loss"
    checkpoint = load_model(exp.id, "checkpoints/best.pt")
    assert set(checkpoint["state_dict"]) == {"layer.weight", "layer.bias"}
    assert checkpoint["global_step"] == 12


class _MakesFolder:
    """Unpickling this makes a folder: the sign that a checkpoint was loaded."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (os.mkdir, (self.path,))


class Marked(Tiny):
    marker = ""

    def on_save_checkpoint(self, checkpoint) -> None:
        checkpoint["loaded"] = _MakesFolder(self.marker)


def test_a_checkpoint_is_copied_as_lightning_wrote_it_and_never_loaded(project: Path, tmp_path: Path) -> None:
    """A checkpoint holds pickles (hparams, callbacks' states): keeping it must not run them. Its bytes are
    copied and hashed; only `load_model`, after checking that hash, unpickles."""
    logger = SpecweaveLogger("pl-ckpt", log_checkpoints="all")
    module, marker = Marked(), tmp_path / "loaded"
    module.marker = str(marker)
    ckpt = pl.callbacks.ModelCheckpoint(monitor="train_loss", mode="min", dirpath=str(tmp_path / "ckpt"))
    _trainer(tmp_path, logger, callbacks=[ckpt]).fit(module, _loader())
    assert not marker.exists()
    (saved,) = [a for a in _meta(logger.experiment)["artifacts"] if a["name"] == "checkpoints/best.pt"]
    best = Path(ckpt.best_model_path).read_bytes()
    assert saved["sha256"] == hashlib.sha256(best).hexdigest() and saved["format"] == "torch"
    assert load_model(logger.experiment.id, "checkpoints/best.pt")["global_step"] == 12 and marker.is_dir()


def test_lightnings_own_checkpoints_go_where_its_loggers_put_them(project: Path, tmp_path: Path) -> None:
    """The Trainer checkpoints by default; without a `dirpath` the file goes under the logger's name. That is
    `lightning_logs/`, which Lightning's own loggers use and projects keep out of git, not a new folder
    named after the run in the repository."""
    logger = SpecweaveLogger("resnet-baseline")
    _trainer(tmp_path, logger).fit(Tiny(), _loader())
    root = tmp_path / "pl"
    assert [p.name for p in root.iterdir()] == ["lightning_logs"]
    saved = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.ckpt"))
    assert saved == [f"lightning_logs/{logger.experiment.id}/checkpoints/epoch=1-step=12.ckpt"]
    assert logger.experiment.name == "resnet-baseline" and logger.experiment.id == "exp-001-resnet-baseline"


class TinyWithTest(Tiny):
    def test_step(self, batch, batch_idx):
        x, y = batch
        self.log("test_loss", torch.nn.functional.mse_loss(self.layer(x), y))


def test_fit_then_test_keeps_the_training_curve_and_adds_the_test_metric(project: Path, tmp_path: Path) -> None:
    """fit() finalizes the run; test() logs after that: the late point joins the settled log."""
    from skill.project import Project

    logger = SpecweaveLogger("fit-test")
    trainer = _trainer(tmp_path, logger)
    model = TinyWithTest()
    trainer.fit(model, _loader())
    trainer.test(model, _loader(), verbose=False)
    exp = logger.experiment
    keys = [json.loads(line)["key"] for line in full_log_bytes(exp.path).decode().splitlines()]
    assert keys.count("train_loss") == 12 and keys.count("test_loss") == 1
    history = Project(project).history(exp.id, "train_loss")
    assert history.series[0].total_points == 12 and "test_loss" in Project(project).run(exp.id).detail().metrics
    assert _meta(exp)["status"] == "completed"


def test_all_checkpoints_on_request(project: Path, tmp_path: Path) -> None:
    logger = SpecweaveLogger("pl-all", log_checkpoints="all")
    ckpt = pl.callbacks.ModelCheckpoint(dirpath=str(tmp_path / "ckpt"), every_n_epochs=1, save_top_k=-1)
    _trainer(tmp_path, logger, callbacks=[ckpt]).fit(Tiny(), _loader())
    names = {a["name"] for a in _meta(logger.experiment)["artifacts"]}
    assert {"checkpoints/epoch_0-step_6.pt", "checkpoints/epoch_1-step_12.pt"} <= names


def test_an_exception_in_training_marks_the_run_failed_with_its_traceback(project: Path, tmp_path: Path) -> None:
    logger = SpecweaveLogger("pl-fail")
    with pytest.raises(RuntimeError, match="moon"):
        _trainer(tmp_path, logger).fit(Tiny(fail_at=3), _loader())
    meta = _meta(logger.experiment)
    assert meta["status"] == "failed"
    note = meta["notes"][-1]["text"]
    assert "RuntimeError: loss went to the moon" in note and "Traceback" in note and "training_step" in note


# -- Fabric: the same logger in a loop the user writes ---------------------------------------------------------

def fabric_loop(logger, steps=6, fail_at=-1):
    fabric = Fabric(accelerator="cpu", devices=1, loggers=[logger])
    fabric.logger.log_hyperparams({"lr": 0.1, "optimizer": {"name": "sgd", "momentum": 0.9}})
    model = torch.nn.Linear(4, 1)
    model, optimizer = fabric.setup(model, torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9))
    x = torch.randn(32, 4, generator=torch.Generator().manual_seed(0))
    for step in range(steps):
        if step == fail_at:
            raise RuntimeError("loss went to the moon")
        loss = torch.nn.functional.mse_loss(model(x), x.sum(1, keepdim=True))
        fabric.backward(loss)
        optimizer.step()
        optimizer.zero_grad()
        fabric.log("loss", loss, step=step)
        fabric.log_dict({"weight_norm": model.weight.norm(), "epoch": step // 3}, step=step)


def _steps(exp) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for line in full_log_bytes(exp.path).decode().splitlines():
        point = json.loads(line)
        out.setdefault(point["key"], []).append(point["step"])
    return out


def test_fabric_params_metrics_and_finalize(project: Path) -> None:
    logger = SpecweaveLogger("fabric-run")
    fabric_loop(logger)
    assert _meta(logger.experiment)["status"] == "running"  # Fabric calls no finalize of its own
    logger.finalize("success")
    exp = logger.experiment
    params = json.loads((exp.path / "params.json").read_text())
    assert params == {"lr": 0.1, "optimizer.name": "sgd", "optimizer.momentum": 0.9}
    assert _steps(exp) == {"loss": list(range(6)), "weight_norm": list(range(6)), "epoch": list(range(6))}
    assert _meta(exp)["status"] == "completed" and _meta(exp)["source"] == "lightning"


def test_fabric_loop_in_a_with_block_fails_with_its_traceback(project: Path) -> None:
    with pytest.raises(RuntimeError, match="moon"), SpecweaveLogger("fabric-fail") as logger:
        fabric_loop(logger, fail_at=3)
    meta = _meta(logger.experiment)
    assert meta["status"] == "failed" and _steps(logger.experiment)["loss"] == [0, 1, 2]
    note = meta["notes"][-1]["text"]
    assert "RuntimeError: loss went to the moon" in note and "fabric_loop" in note

    with SpecweaveLogger("fabric-with") as logger:
        fabric_loop(logger)
    assert _meta(logger.experiment)["status"] == "completed"


@pytest.mark.slow
def test_fabric_program_that_dies_leaves_its_run_failed(project: Path, run_py) -> None:
    """No finalize and no `with`: the run ends with the program, failed with the uncaught exception's traceback."""
    script = ("from specweave.lightning import SpecweaveLogger\n"
              "from tests.test_integration_lightning import fabric_loop\n"
              "fabric_loop(SpecweaveLogger('fabric-died'), fail_at=4)\n")
    done = run_py(script, project, check=False)
    assert done.returncode == 1 and "loss went to the moon" in done.stderr
    (run,) = project.glob(".specweave/increments/*/experiments/exp-*")
    meta = yaml.safe_load((run / "metadata.yaml").read_text())
    assert meta["status"] == "failed" and "Traceback" in meta["notes"][-1]["text"]
    assert "fabric_loop" in meta["notes"][-1]["text"]
    assert [json.loads(line)["step"] for line in full_log_bytes(run).decode().splitlines()
            if json.loads(line)["key"] == "loss"] == [0, 1, 2, 3]


_FABRIC_DDP = """
import sys, torch
from lightning.fabric import Fabric
from specweave.lightning import SpecweaveLogger

with SpecweaveLogger("fabric-ddp") as logger:
    fabric = Fabric(accelerator="cpu", devices=2, strategy="ddp", loggers=[logger])
    fabric.launch()  # runs this script again as the second process
    fabric.logger.log_hyperparams({"lr": 0.1, "world": fabric.world_size})
    model, optimizer = fabric.setup(torch.nn.Linear(4, 1), torch.optim.SGD(torch.nn.Linear(4, 1).parameters(), lr=0.1))
    x = torch.randn(16, 4, generator=torch.Generator().manual_seed(fabric.global_rank))
    for step in range(4):
        loss = model(x).pow(2).mean()
        fabric.backward(loss)
        optimizer.step()
        optimizer.zero_grad()
        fabric.log("loss", float(fabric.global_rank * 100 + step), step=step)  # each rank says which it is
    print("rank", fabric.global_rank, "done", flush=True)
"""


@pytest.mark.slow
def test_fabric_on_two_processes_writes_one_run_from_rank_zero(project: Path, tmp_path: Path) -> None:
    """Fabric's own launcher (`strategy="ddp"`, two CPU processes): one run, written by global rank 0 alone."""
    import os
    import subprocess
    import sys

    import yaml

    from tests.fixtures import REPO

    (project / "fabric_ddp.py").write_text(_FABRIC_DDP)
    env = {**os.environ, "PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1", "HOME": str(tmp_path / "home"),
           "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "fabric_ddp.py"], cwd=project, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    (run,) = project.glob(".specweave/increments/*/experiments/exp-*")
    points = [json.loads(line) for line in full_log_bytes(run).decode().splitlines()]
    assert [(p["step"], p["value"]) for p in points if p["key"] == "loss"] == [(s, float(s)) for s in range(4)]
    assert json.loads((run / "params.json").read_text()) == {"lr": 0.1, "world": 2}
    assert yaml.safe_load((run / "metadata.yaml").read_text())["status"] == "completed"
