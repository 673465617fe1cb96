"""Optuna: two worker processes on one sqlite storage give one parent and one child per trial."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from skill.storage.run_summary import full_log_bytes
import yaml

optuna = pytest.importorskip("optuna")

from tests.fixtures import REPO

_WORKER = '''
import sys, optuna
from specweave.optuna import SpecweaveCallback
optuna.logging.set_verbosity(optuna.logging.ERROR)
storage = sys.argv[1]

def objective(trial):
    x = trial.suggest_float("x", -4, 4)
    depth = trial.suggest_int("depth", 1, 3)
    if trial.number % 5 == 3:
        raise ValueError("diverged")
    for step in range(3):
        trial.report((x - 1) ** 2 + step, step)
        if trial.number % 5 == 4 and step == 1:
            raise optuna.TrialPruned()
    return (x - 1) ** 2 + depth

study = optuna.load_study(study_name="tune", storage=storage)
callback = SpecweaveCallback()
study.optimize(objective, n_trials=5, callbacks=[callback], catch=(ValueError,))
if sys.argv[2] == "finish":
    callback.finish(study)
'''


def _meta(run: Path) -> dict:
    return yaml.safe_load((run / "metadata.yaml").read_text())


@pytest.mark.slow
def test_two_workers_share_one_parent(project: Path, tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    optuna.create_study(study_name="tune", storage=storage, sampler=optuna.samplers.RandomSampler(seed=0))
    (tmp_path / "worker.py").write_text(_WORKER)
    env = {"PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1", "HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}
    workers = [subprocess.Popen([sys.executable, str(tmp_path / "worker.py"), storage, role], cwd=project, env=env,
                                stderr=subprocess.PIPE, text=True) for role in ("finish", "plain")]
    for worker in workers:
        _, err = worker.communicate(timeout=240)
        assert worker.returncode == 0, err[-3000:]
    study = optuna.load_study(study_name="tune", storage=storage)
    runs = sorted(project.glob(".specweave/increments/*/experiments/exp-*"))
    metas = {run: _meta(run) for run in runs}
    parents = [run for run, meta in metas.items() if "sweep" in meta["tags"]]
    assert len(parents) == 1
    parent_id = metas[parents[0]]["id"]
    children = {meta["optuna"]["trial"]: (run, meta) for run, meta in metas.items() if meta.get("parent") == parent_id}
    assert sorted(children) == list(range(10))  # none lost, none doubled
    for trial in study.trials:
        run, meta = children[trial.number]
        assert meta["status"] == {"COMPLETE": "completed", "PRUNED": "killed", "FAIL": "failed"}[trial.state.name]
        assert json.loads((run / "params.json").read_text()) == trial.params
        assert f"sweep:{parent_id}" in meta["tags"]
    best = [n for n, (_run, meta) in children.items() if "best" in meta["tags"]]
    assert best == [study.best_trial.number]
    assert metas[parents[0]]["best_trial"]["number"] == study.best_trial.number
    pruned_run, pruned = children[4]
    assert "pruned" in pruned["tags"]
    steps = [json.loads(line)["step"] for line in full_log_bytes(pruned_run).decode().splitlines()
             if json.loads(line)["key"] == "intermediate_value"]
    assert steps == [0, 1]
