"""Lightning: a one-layer module trained a few steps with SpecweaveLogger, checked on disk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from skill.storage.run_summary import full_log_bytes
import yaml

pytest.importorskip("lightning")
torch = pytest.importorskip("torch")

import lightning.pytorch as pl  # noqa: E402

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
