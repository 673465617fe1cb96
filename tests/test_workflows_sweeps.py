"""Sweeps: one experiment per combination under a parent, results frame, parameter importance."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.neighbors import KNeighborsClassifier
from sklearn.tree import DecisionTreeClassifier

from skill.analysis.compare import compare_experiments
from skill.errors import InvalidInput
from skill.analysis.importance import param_importance
from skill.analysis.listing import list_experiments
from skill.storage.run_records import find_experiment
from skill.workflows.importance_table import CHART_FILE, TABLE_FILE, render_table
from skill.workflows.progress import progress
from skill.workflows.sweeps import sweep_tag, track_grid_search, track_hyperparameters
from skill.storage.run_summary import full_log_bytes

X, Y = make_classification(n_samples=90, n_features=5, n_informative=3, flip_y=0.15, random_state=1)


def test_importance_ranks_the_parameter_that_drives_the_score() -> None:
    combos = [{"a": a, "b": b} for a in (0, 1, 2) for b in ("x", "y", "z")]
    scores = [c["a"] * 1.0 + {"x": 0.001, "y": -0.001, "z": 0.0}[c["b"]] for c in combos]
    ranking = param_importance(combos, scores)
    assert [p.param for p in ranking] == ["a", "b"]
    assert ranking[0].importance > 0.99 and ranking[1].importance < 0.01
    assert math.isclose(sum(p.importance for p in ranking), 1.0)
    assert ranking[0].best_value == 2 and ranking[0].levels == 3
    assert param_importance(combos, scores, greater_is_better=False)[0].best_value == 0


def test_importance_of_constant_scores_and_failed_runs() -> None:
    combos = [{"a": 1}, {"a": 2}, {"a": 3}]
    assert [p.importance for p in param_importance(combos, [0.5, 0.5, 0.5])] == [0.0]
    ranking = param_importance(combos, [0.1, math.nan, 0.9])  # the failed fit is left out, not a zero
    assert ranking[0].levels == 2 and ranking[0].importance == 1.0
    table = render_table(ranking, title="t", metric="score", n_runs=2)
    assert "| 1 | a | 100.0% |" in table


def test_sweep_where_one_param_matters_ranks_it_first(project: Path) -> None:
    # n_neighbors changes predictions a lot; algorithm never changes them (exact neighbours either way).
    grid = {"algorithm": ["ball_tree", "kd_tree", "brute"], "n_neighbors": [1, 9, 60]}
    results = track_hyperparameters(KNeighborsClassifier, grid, X[:60], Y[:60], "0042", X_val=X[60:], y_val=Y[60:])
    importance = results.attrs["importance"]
    assert max(importance, key=importance.get) == "n_neighbors"
    assert importance["algorithm"] == pytest.approx(0.0, abs=1e-12)
    parent = find_experiment(project, results.attrs["parent"])
    table = (parent.path / TABLE_FILE).read_text()
    rows = [line for line in table.splitlines() if line.startswith(("| 1 |", "| 2 |"))]
    assert rows[0].startswith("| 1 | n_neighbors |") and rows[1].startswith("| 2 | algorithm |")
    from skill.project import Project

    chart = Project(project).artifact_path(results.attrs["parent"], CHART_FILE)  # a PNG: in the object store
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and ".specweave/objects/" in chart.as_posix()
    assert {TABLE_FILE, CHART_FILE} <= {a.name for a in parent.meta.artifacts}
    # the validation score of each combination is the model's own score on the validation set
    best = results.sort_values("rank").iloc[0]
    model = KNeighborsClassifier(n_neighbors=int(best["n_neighbors"]), algorithm=best["algorithm"]).fit(X[:60], Y[:60])
    assert best["score"] == pytest.approx(model.score(X[60:], Y[60:]))


def test_sweep_of_27_combinations_leaves_27_experiments_plus_parent(project: Path) -> None:
    grid = {"max_depth": [1, 2, 3], "min_samples_leaf": [1, 3, 9], "criterion": ["gini", "entropy", "log_loss"]}
    results = track_hyperparameters(DecisionTreeClassifier(random_state=0), grid, X, Y, "0042", cv=2)
    assert len(results) == 27 and set(results["status"]) == {"completed"}
    parent_id = results.attrs["parent"]
    records = list_experiments(project, "0042")
    assert len(records) == 28
    series = list_experiments(project, "0042", tag=sweep_tag(parent_id))
    assert len(series) == 28
    children = [r for r in series if r.meta.parent == parent_id]
    assert sorted(r.id for r in children) == sorted(results["experiment"])
    parent = next(r for r in series if r.id == parent_id)
    assert "sweep" in parent.tags and parent.status == "completed"
    assert parent.params["n_combinations"] == 27 and parent.params["n_failed"] == 0
    assert parent.params["grid.max_depth"] == [1, 2, 3]
    best = results.loc[results["rank"] == 1].iloc[0]
    assert parent.metrics["score"] == pytest.approx(best["score"]) == results.attrs["best_score"]
    assert parent.metrics["score_std"] == pytest.approx(best["score_std"])
    assert {k: parent.params[f"best.{k}"] for k in grid} == results.attrs["best_params"]
    one = children[0]
    assert {"score", "score_std", "fit_time"} <= set(one.metrics)
    assert one.params["random_state"] == 0 and one.params["max_depth"] in (1, 2, 3)
    # the whole series: the sweep is one unit, represented by its parent's best score
    comparison = compare_experiments(project, "0042", experiments=[r.id for r in series])
    assert len(comparison.rows) == 28 and len(comparison.dataframe) == 28
    assert comparison.primary_metric == "score" and comparison.best == parent_id
    # its combinations against each other
    children_only = compare_experiments(project, "0042", experiments=[r.id for r in children], primary_metric="score")
    assert len(children_only.rows) == 27
    assert children_only.best in set(results.loc[results["score"] == results["score"].max(), "experiment"])


def test_a_failing_combination_is_recorded_and_the_sweep_goes_on(project: Path) -> None:
    results = track_hyperparameters(DecisionTreeClassifier, {"max_depth": [2, -1]}, X, Y, cv=2)
    good, bad = results.iloc[0], results.iloc[1]
    assert good["status"] == "completed" and bad["status"] == "failed"
    assert math.isnan(bad["score"]) and bad["rank"] == 2
    failed = find_experiment(project, bad["experiment"])
    assert failed.status == "failed" and "FAILED: InvalidParameterError" in failed.meta.notes[-1].text
    parent = find_experiment(project, results.attrs["parent"])
    assert parent.status == "completed" and parent.params["n_failed"] == 1


def test_all_combinations_failing_fails_the_parent(project: Path) -> None:
    results = track_hyperparameters(DecisionTreeClassifier, {"max_depth": [-1, -2]}, X, Y, cv=2)
    parent = find_experiment(project, results.attrs["parent"])
    assert parent.status == "failed" and "best_params" not in results.attrs


def test_several_scorers(project: Path) -> None:
    results = track_hyperparameters(DecisionTreeClassifier, {"max_depth": [1, 3]}, X, Y, cv=3,
                                    scoring=["f1", "accuracy"])
    child = find_experiment(project, results["experiment"].iloc[0])
    assert child.metrics["score"] == pytest.approx(child.metrics["f1"])
    assert {"accuracy", "accuracy_std", "fold/accuracy", "fold/f1"} <= set(child.metrics)


@pytest.mark.parametrize(("grid", "kwargs"), [
    ({}, {}), ({"max_depth": []}, {}), ("max_depth", {}), ({"max_depth": [1]}, {"X_val": X}),
])
def test_bad_input_is_refused_before_anything_is_written(grid, kwargs, project: Path) -> None:
    with pytest.raises(InvalidInput):
        track_hyperparameters(DecisionTreeClassifier, grid, X, Y, **kwargs)
    assert not list(project.glob(".specweave/increments/*/experiments/exp-*"))


def test_grid_search_logs_every_combination_under_a_parent_with_the_best_model(project: Path) -> None:
    grid = {"max_depth": [1, 3], "min_samples_leaf": [1, 5]}
    best_model, results = track_grid_search(DecisionTreeClassifier(random_state=0), grid, X, Y, "0042", cv=3,
                                            return_train_score=True)
    assert isinstance(best_model, DecisionTreeClassifier) and hasattr(best_model, "tree_")
    assert len(results) == 4
    parent = find_experiment(project, results.attrs["parent"])
    assert [a.name for a in parent.meta.artifacts if a.kind == "model"] == ["model.pkl"]
    assert {k: parent.params[f"best.{k}"] for k in grid} == {k: best_model.get_params()[k] for k in grid}
    assert parent.params["search.cv"] == 3
    from sklearn.model_selection import GridSearchCV

    reference = GridSearchCV(DecisionTreeClassifier(random_state=0), grid, cv=3).fit(X, Y).cv_results_
    for index, exp_id in enumerate(results["experiment"]):
        child = find_experiment(project, exp_id)
        assert child.meta.parent == parent.id and sweep_tag(parent.id) in child.tags
        assert child.metrics["score"] == pytest.approx(reference["mean_test_score"][index])
        assert child.metrics["score_std"] == pytest.approx(reference["std_test_score"][index])
        assert results.loc[index, "rank"] == reference["rank_test_score"][index]
        assert "train_score" in child.metrics and "fit_time" in child.metrics
    child_points = full_log_bytes(find_experiment(project, results["experiment"].iloc[0]).path).decode()
    assert child_points.count('"key":"fold/score"') == 3


def test_grid_search_with_several_scorers_and_no_refit(project: Path) -> None:
    search, results = track_grid_search(DecisionTreeClassifier(), {"max_depth": [1, 4]}, X, Y, cv=2,
                                        scoring={"acc": "accuracy", "f1": "f1"}, refit=False)
    assert not hasattr(search, "best_estimator_")  # refit=False: the fitted search comes back
    child = find_experiment(project, results["experiment"].iloc[0])
    assert child.metrics["score"] == pytest.approx(child.metrics["acc"])
    assert "f1" in child.metrics and "f1_std" in child.metrics
    parent = find_experiment(project, results.attrs["parent"])
    assert not [a for a in parent.meta.artifacts if a.kind == "model"]


def test_progress_bar_only_when_asked_or_on_a_terminal(capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SPECWEAVE_QUIET")
    assert list(progress(range(3), 3, "quiet")) == [0, 1, 2]
    assert capsys.readouterr().out == ""  # captured output is not a terminal
    assert list(progress(range(3), 3, "tqdm", show=True)) == [0, 1, 2]
    assert "3/3" in capsys.readouterr().out
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # tqdm missing: the plain bar
    assert list(progress(range(4), 4, "plain", show=True)) == [0, 1, 2, 3]
    assert "plain [" in capsys.readouterr().out


def test_results_frame_is_sorted_by_nothing_but_ranked(project: Path) -> None:
    results = track_hyperparameters(DecisionTreeClassifier(random_state=0), {"max_depth": [1, 2, 6]}, X, Y, cv=2)
    assert list(results["max_depth"]) == [1, 2, 6]
    assert sorted(results["rank"]) == sorted(np.asarray(results["score"].rank(ascending=False, method="min"), int))
