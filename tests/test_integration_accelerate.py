"""accelerate: a one-layer loop logs through SpecweaveTracker, given as an object or by its name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
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
    points = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [(p["key"], p["step"]) for p in points] == [("loss", 0), ("loss", 10), ("loss", 20), ("loss", 30)]
    meta = yaml.safe_load((run / "metadata.yaml").read_text())
    assert meta["status"] == "completed" and meta["source"] == "accelerate"


def test_tracker_object(project: Path) -> None:
    tracker = SpecweaveTracker("acc-run")
    _train(Accelerator(log_with=tracker, cpu=True))
    assert tracker.experiment.name == "acc-run"
    _check(tracker.experiment.path)


def test_tracker_by_name(project: Path) -> None:
    accelerator = Accelerator(log_with="specweave", cpu=True)
    _train(accelerator)
    (run,) = project.glob(".specweave/increments/*/experiments/exp-*")
    assert yaml.safe_load((run / "metadata.yaml").read_text())["name"] == "acc-project"
    _check(run)
