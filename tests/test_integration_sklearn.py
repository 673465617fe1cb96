"""scikit-learn autolog: opt-in, one run per outermost fit, a search as a sweep, undone by disable=True."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

pytest.importorskip("sklearn")

import specweave  # noqa: E402
from specweave import load_model  # noqa: E402


@pytest.fixture
def autologging(project: Path):
    specweave.autolog()
    yield project
    specweave.autolog(disable=True)


def _runs(project: Path) -> dict[Path, dict]:
    return {run: yaml.safe_load((run / "metadata.yaml").read_text())
            for run in sorted(project.glob(".specweave/increments/*/experiments/exp-*"))}


def _data():
    from sklearn.datasets import make_classification

    return make_classification(n_samples=80, n_features=5, random_state=0)


def test_a_fit_is_one_run_and_pipeline_steps_are_not(autologging: Path) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = _data()
    pipe = make_pipeline(StandardScaler(), LogisticRegression(C=0.5)).fit(X, y)
    (run, meta), = _runs(autologging).items()
    assert meta["status"] == "completed" and meta["source"] == "sklearn" and meta["name"] == "pipeline"
    params = json.loads((run / "params.json").read_text())
    assert params["logisticregression__C"] == 0.5
    summary = json.loads((run / "metrics.json").read_text())
    assert summary["training_score"] == pytest.approx(pipe.score(X, y))
    assert load_model(meta["id"]).predict(X).tolist() == pipe.predict(X).tolist()


def test_grid_search_is_a_sweep_with_the_best_candidate_marked(autologging: Path) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV

    X, y = _data()
    search = GridSearchCV(LogisticRegression(), {"C": [0.01, 0.1, 1.0]}, cv=3).fit(X, y)
    runs = _runs(autologging)
    (parent,) = [m for m in runs.values() if "sweep" in m["tags"]]
    children = [m for m in runs.values() if m.get("parent") == parent["id"]]
    assert len(children) == 3 and len(runs) == 4  # the candidates' inner fits are not runs
    (best,) = [m for m in children if "best" in m["tags"]]
    assert best["name"] == f"logisticregression C={search.best_params_['C']}"
    assert load_model(parent["id"]).C == search.best_params_["C"]


def test_a_failing_fit_is_a_failed_run_and_disable_undoes_it(autologging: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    with pytest.raises(ValueError):
        LogisticRegression().fit([[1.0], [2.0]], ["a", "a"])  # one class only
    (meta,) = _runs(autologging).values()
    assert meta["status"] == "failed" and "Traceback" in meta["notes"][-1]["text"]
    specweave.autolog(disable=True)
    X, y = _data()
    LogisticRegression().fit(X, y)
    assert len(_runs(autologging)) == 1


def test_the_folds_of_scikit_learns_cross_validation_helpers_are_not_runs(project: Path) -> None:
    """k folds are not k runs, however the helper was imported (here: before autolog() was turned on)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict, cross_val_score, learning_curve

    X, y = _data()
    specweave.autolog()
    try:
        assert len(cross_val_score(LogisticRegression(), X, y, cv=3)) == 3
        cross_val_predict(LogisticRegression(), X, y, cv=3)
        learning_curve(LogisticRegression(), X, y, cv=3, train_sizes=[0.5, 1.0])
        assert _runs(project) == {}
        LogisticRegression().fit(X, y)  # a fit of the user's own is still a run
        (meta,) = _runs(project).values()
        assert meta["name"] == "logisticregression"
    finally:
        specweave.autolog(disable=True)
