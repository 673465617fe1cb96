"""Cross-validation tracking: per-fold points, mean and std, fold sizes and class balance."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score

from skill.errors import InvalidInput
from skill.storage.run_metrics import read_metric_points
from skill.storage.run_records import find_experiment
from skill.workflows.crossval import FOLDS_FILE, track_cross_validation

X, Y = make_classification(n_samples=60, n_features=4, weights=[0.7, 0.3], random_state=0)


def test_each_fold_is_a_step_and_the_summary_matches_scikit_learn(project: Path) -> None:
    result = track_cross_validation(LogisticRegression(), X, Y, cv=4, increment="0042")
    expected = cross_val_score(LogisticRegression(), X, Y, cv=StratifiedKFold(4))
    assert result.scores == pytest.approx(list(expected))
    assert result.mean == pytest.approx(expected.mean()) and result.std == pytest.approx(expected.std())
    record = find_experiment(project, result.experiment)
    assert record.status == "completed" and "cross-validation" in record.tags
    assert record.metrics["score"] == pytest.approx(expected.mean())
    assert record.metrics["score_std"] == pytest.approx(expected.std())
    points, _ = read_metric_points(record.path)
    folds = [(p.step, p.value) for p in points if p.key == "fold/score"]
    assert [step for step, _ in folds] == [0, 1, 2, 3]
    assert [value for _, value in folds] == pytest.approx(list(expected))
    assert [p.value for p in points if p.key == "fold/test_size"] == [15.0] * 4
    assert record.params["n_splits"] == 4 and record.params["cv"] == "StratifiedKFold"
    assert record.params["C"] == 1.0 and record.params["task"] == "classification"


def test_fold_sizes_and_class_distribution(project: Path) -> None:
    result = track_cross_validation(LogisticRegression(), X, Y, cv=3)
    assert result.fold_sizes == [{"train": 40, "test": 20}] * 3
    assert result.class_distribution is not None and len(result.class_distribution) == 3
    for counts in result.class_distribution:  # stratified: each fold keeps the 70/30 balance
        assert sum(counts.values()) == 20 and counts["0"] >= 13
    record = find_experiment(project, result.experiment)
    stored = json.loads((record.path / FOLDS_FILE).read_text())
    assert stored["class_distribution"] == {"0": int((Y == 0).sum()), "1": int((Y == 1).sum())}
    assert [f["class_distribution"] for f in stored["folds"]] == result.class_distribution
    assert "test-fold class distribution: fold 0:" in record.meta.notes[-1].text


def test_regression_has_no_class_distribution(project: Path) -> None:
    Xr, yr = make_regression(n_samples=40, n_features=3, noise=1.0, random_state=0)
    result = track_cross_validation(Ridge(), Xr, yr, cv=KFold(4), scoring="neg_mean_absolute_error")
    assert result.task == "regression" and result.class_distribution is None
    assert result.scoring == "neg_mean_absolute_error" and all(s < 0 for s in result.scores)
    record = find_experiment(project, result.experiment)
    assert record.params["scoring"] == "neg_mean_absolute_error"
    assert "class_distribution" not in json.loads((record.path / FOLDS_FILE).read_text())


def test_several_scorers_and_returned_estimators(project: Path) -> None:
    result = track_cross_validation(LogisticRegression(), X, Y, cv=3, scoring=["f1", "accuracy"],
                                    return_estimator=True)
    assert result.scoring == "f1" and set(result.all_scores) == {"f1", "accuracy"}
    assert len(result.estimators) == 3 and hasattr(result.estimators[0], "coef_")
    record = find_experiment(project, result.experiment)
    assert record.metrics["score"] == pytest.approx(np.mean(result.all_scores["f1"]))
    assert record.metrics["accuracy"] == pytest.approx(np.mean(result.all_scores["accuracy"]))
    assert "estimators" not in result.to_dict()


def test_a_failing_fit_marks_the_experiment_failed(project: Path) -> None:
    with pytest.raises(ValueError):
        track_cross_validation(LogisticRegression(C=-1.0), X, Y, cv=2, name="broken-cv")
    record = find_experiment(project, "broken-cv")
    assert record.status == "failed"


@pytest.mark.parametrize("cv", [1, "five"])
def test_bad_cv_is_refused(cv, project: Path) -> None:
    with pytest.raises(InvalidInput, match="cv"):
        track_cross_validation(LogisticRegression(), X, Y, cv=cv)
    assert not list(project.glob(".specweave/increments/*/experiments/exp-*"))
