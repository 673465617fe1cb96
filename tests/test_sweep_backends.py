"""track_hyperparameters / track_grid_search on Optuna and Ray Tune: the same parent, children and importance."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml
from sklearn.datasets import make_classification
from sklearn.tree import DecisionTreeClassifier

from skill.errors import InvalidInput
from skill.workflows.sweeps import sweep_tag, track_grid_search, track_hyperparameters

X, Y = make_classification(n_samples=90, n_features=5, n_informative=3, flip_y=0.15, random_state=1)
GRID = {"max_depth": [1, 3, None], "min_samples_leaf": [1, 5]}


def _children(project: Path, parent: str) -> list[dict]:
    metas = [yaml.safe_load((run / "metadata.yaml").read_text())
             for run in project.glob(".specweave/increments/*/experiments/exp-*")]
    return [m for m in metas if m.get("parent") == parent]


def _same_as_local(project: Path, frame, local) -> None:
    assert len(frame) == len(local)
    assert frame["score"].round(12).tolist() == local["score"].round(12).tolist()  # same folds, same scores
    assert frame.attrs["best_params"] == local.attrs["best_params"]
    assert frame.attrs["importance"] == pytest.approx(local.attrs["importance"])
    children = _children(project, frame.attrs["parent"])
    assert sorted(c["id"] for c in children) == sorted(frame["experiment"])  # none lost, none doubled
    assert all(sweep_tag(frame.attrs["parent"]) in c["tags"] and c["status"] == "completed" for c in children)
    parent = yaml.safe_load(next(project.glob(f".specweave/increments/*/experiments/{frame.attrs['parent']}.*")
                                 ).joinpath("metadata.yaml").read_text())
    assert {a["name"] for a in parent["artifacts"]} >= {"param_importance.md"}


def test_optuna_backend_writes_what_the_local_loop_writes(project: Path) -> None:
    pytest.importorskip("optuna")
    model = DecisionTreeClassifier(random_state=0)
    local = track_hyperparameters(model, GRID, X, Y, cv=3, name="local")
    frame = track_hyperparameters(model, GRID, X, Y, cv=3, name="on-optuna", backend="optuna", workers=2,
                                  storage=f"sqlite:///{project.parent / 'study.db'}")
    _same_as_local(project, frame, local)


def test_grid_search_on_optuna_refits_the_best(project: Path) -> None:
    pytest.importorskip("optuna")
    best, frame = track_grid_search(DecisionTreeClassifier(random_state=0), GRID, X, Y, cv=3, backend="optuna")
    assert len(frame) == 6 and not math.isnan(frame.attrs["best_score"])
    assert {k: best.get_params()[k] for k in GRID} == {k: v for k, v in frame.attrs["best_params"].items()}


def test_an_unknown_backend_is_refused(project: Path) -> None:
    with pytest.raises(InvalidInput, match='"optuna" or "ray"'):
        track_hyperparameters(DecisionTreeClassifier(), GRID, X, Y, backend="dask")


@pytest.mark.slow
def test_ray_backend_writes_what_the_local_loop_writes(project: Path, ray_local) -> None:
    pytest.importorskip("ray.tune")
    model = DecisionTreeClassifier(random_state=0)
    grid = {"max_depth": [1, None], "min_samples_leaf": [1, 5]}  # four trials, two at once: Ray's start-up dominates
    local = track_hyperparameters(model, grid, X, Y, cv=3, name="local")
    frame = track_hyperparameters(model, grid, X, Y, cv=3, name="on-ray", backend="ray", workers=2)
    _same_as_local(project, frame, local)
