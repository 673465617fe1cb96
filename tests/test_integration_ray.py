"""Ray Tune on a local two-CPU cluster: two trials at once, one child run per trial, the best marked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from skill.storage.run_summary import full_log_bytes
import yaml

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
    run, meta = children[4]
    points = [json.loads(line) for line in full_log_bytes(run).decode().splitlines()]
    assert [(p["step"], p["value"]) for p in points if p["key"] == "score"] == [(1, 4.0), (2, 8.0), (3, 12.0)]
    assert [p["step"] for p in points if p["key"] == "nested/loss"] == [1, 2, 3]
    assert [x for x, (_r, m) in children.items() if "best" in m["tags"]] == [best.config["x"]] == [4]
    parent_meta = metas[parent]
    assert parent_meta["status"] == "completed" and parent_meta["best_trial"]["params"] == {"x": 4}
