"""W&B: configure_wandb and specweave.wandb.init, offline (no API key), against the real wandb library."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from skill.storage.run_summary import full_log_bytes

wandb = pytest.importorskip("wandb")

from skill.analysis.listing import list_experiments  # noqa: E402

_ENV = ("WANDB_PROJECT", "WANDB_DIR", "WANDB_MODE", "WANDB_SILENT", "WANDB_API_KEY")


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Offline, quiet, and nothing of configure_wandb's process-wide changes left behind."""
    saved = {k: os.environ.get(k) for k in _ENV}
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    original_init = wandb.init
    yield
    from skill.integrations import wandb_mirror

    wandb.init = wandb_mirror._configured.pop("original_init", original_init)
    wandb_mirror._configured.clear()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def _exp_dir(project: Path) -> Path:
    (inc,) = (project / ".specweave" / "increments").iterdir()
    return inc / "experiments"


def test_seed_snippet_runs_as_written_and_is_mirrored(project: Path, run_py) -> None:
    (project / "model.pkl").write_bytes(b"pretend model")
    code = (
        "import wandb\n"
        "from specweave import configure_wandb\n"
        "\n"
        "configure_wandb(increment=\"0042\")\n"
        "\n"
        "run = wandb.init(name=\"xgboost-v1\")\n"
        "run.log({\"auc\": 0.87})\n"
        "run.log_model(\"model.pkl\")\n"
    )
    run_py(code, project, env={"WANDB_MODE": "offline", "WANDB_SILENT": "true"})
    (rec,) = list_experiments(project, "0042")
    assert rec.name == "xgboost-v1" and rec.status == "completed" and rec.metrics == {"auc": 0.87}
    assert rec.meta.wandb_project == "0042-experiments" and rec.meta.wandb_mode == "offline"
    (model,) = rec.meta.artifacts
    assert model.name == "model.pkl" and model.kind == "model" and model.size == len(b"pretend model")
    assert (rec.path / "model.pkl").read_bytes() == b"pretend model"
    runs = list((_exp_dir(project) / "wandb").glob(f"offline-run-*-{rec.meta.wandb_run_id}"))
    assert len(runs) == 1 and list(runs[0].glob("*.wandb"))  # W&B's own offline files, in the increment
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=project,
                            capture_output=True, text=True, check=True).stdout
    assert "/wandb/" not in status and "metadata.yaml" in status  # W&B's files ignored, the folder shared


def test_sw_wandb_init_mirrors_log_config_summary_and_finish(project: Path) -> None:
    from specweave import wandb as sw_wandb

    assert sw_wandb.__name__ == "specweave.wandb"
    run = sw_wandb.init(increment="0042", name="xgboost", config={"lr": 0.1, "opt": {"beta1": 0.9}})
    assert run.project == "0042-experiments" and run.name == "xgboost"  # the real run's attributes
    for step in range(3):
        run.log({"loss": 1.0 / (step + 1), "val": {"auc": 0.8 + step / 100}, "note": "text is not a metric"})
    run.config.update({"depth": 6})
    run.summary["best_auc"] = 0.83
    run.finish()

    (rec,) = list_experiments(project, "0042")
    assert rec.status == "completed" and rec.meta.wandb_run_id == run.id
    assert rec.params == {"lr": 0.1, "opt.beta1": 0.9, "depth": 6}
    assert rec.metrics == {"loss": pytest.approx(1 / 3), "val/auc": pytest.approx(0.82), "best_auc": 0.83}
    lines = full_log_bytes(rec.path).decode().splitlines()
    assert [json.loads(line)["step"] for line in lines if "\"loss\"" in line] == [0, 1, 2]


def test_sw_wandb_failure_in_a_with_block(project: Path) -> None:
    from specweave import wandb as sw_wandb

    with pytest.raises(ValueError, match="bad batch"):
        with sw_wandb.init(increment="0042", name="crashy") as run:
            run.log({"loss": 0.5})
            raise ValueError("bad batch")
    (rec,) = list_experiments(project, "0042")
    assert rec.status == "failed" and "bad batch" in rec.meta.notes[-1].text and rec.metrics == {"loss": 0.5}


def test_configure_wandb_sets_project_and_dir(project: Path) -> None:
    from specweave import configure_wandb

    target = configure_wandb(increment="0042", mirror=False)
    assert os.environ["WANDB_PROJECT"] == "0042-experiments" == target.project
    assert Path(os.environ["WANDB_DIR"]) == _exp_dir(project)
    run = wandb.init(name="plain")  # mirror=False: plain W&B, nothing mirrored
    run.log({"x": 1})
    run.finish()
    assert list_experiments(project, "0042") == []
    assert list((_exp_dir(project) / "wandb").glob("offline-run-*"))


def test_missing_wandb_names_the_extra(project: Path, run_py) -> None:
    code = (
        "import sys; sys.modules['wandb'] = None  # as if wandb were not installed\n"
        "from specweave import wandb as sw_wandb, MissingExtra\n"
        "try:\n    sw_wandb.init(increment='0042', name='x')\n"
        "except MissingExtra as exc:\n    print(exc)\n"
    )
    assert run_py(code, project).stdout.strip() == (
        "wandb is not installed; install it with: pip install 'specweave-ml[wandb]'")
