"""compare_models: task detection, the metrics of each task, saved models, the seed's table."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import f1_score, mean_squared_error, precision_score, roc_auc_score
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from skill.errors import InvalidInput
from skill.analysis.listing import list_experiments
from skill.storage.run_records import find_experiment
from skill.workflows.model_compare import COMPARE_TAG, compare_models

X, Y = make_classification(n_samples=80, n_features=5, random_state=0)
XTR, XTE, YTR, YTE = X[:60], X[60:], Y[:60], Y[60:]


def test_binary_classification_metrics_models_and_report(project: Path) -> None:
    models = {"logreg": LogisticRegression(), "tree": DecisionTreeClassifier(max_depth=2, random_state=0),
              "svc": SVC()}  # no predict_proba: no ROC AUC for it
    result = compare_models(models, XTR, YTR, XTE, YTE, increment="0042")
    assert result.task == "classification" and result.average == "binary"
    assert result.models["logreg"] is models["logreg"] and hasattr(models["logreg"], "coef_")  # fitted in place
    predicted = models["logreg"].predict(XTE)
    logreg = result.metrics["logreg"]
    assert logreg["precision"] == pytest.approx(precision_score(YTE, predicted))
    assert logreg["f1"] == pytest.approx(f1_score(YTE, predicted))
    assert logreg["roc_auc"] == pytest.approx(roc_auc_score(YTE, models["logreg"].predict_proba(XTE)[:, 1]))
    assert "roc_auc" not in result.metrics["svc"]
    assert logreg["training_time"] > 0 and logreg["inference_time"] > 0
    records = {r.name: r for r in list_experiments(project, "0042", tag=COMPARE_TAG)}
    assert set(records) == {"logreg", "tree", "svc"}
    tree = records["tree"]
    assert tree.params == {"max_depth": 2, "random_state": 0, "model": "DecisionTreeClassifier",
                           "task": "classification", "average": "binary", "pos_label": 1, "n_train": 60, "n_test": 20}
    assert [a.name for a in tree.meta.artifacts] == ["model.pkl"]
    report = (project / ".specweave").glob("increments/0042-*/experiments/comparison.md")
    text = next(report).read_text()
    assert text == result.markdown
    header = next(line for line in text.splitlines() if line.startswith("| Experiment"))
    assert [c.strip() for c in header.strip("|").split("|")][:5] == ["Experiment", "Accuracy", "Precision", "Recall",
                                                                      "F1"]
    assert "Training Time" in header and "**Best Model**" in text
    best = max(result.metrics, key=lambda n: result.metrics[n]["accuracy"])
    assert result.metrics[result.best]["accuracy"] == result.metrics[best]["accuracy"]
    assert result.best_model is models[result.best]
    assert len(result.dataframe) == 3


def test_multiclass_uses_weighted_averaging_and_ovr_auc(project: Path) -> None:
    Xm, ym = make_classification(n_samples=90, n_features=6, n_informative=4, n_classes=3, random_state=0)
    result = compare_models([LogisticRegression(max_iter=500), DecisionTreeClassifier(random_state=0)],
                            Xm[:60], ym[:60], Xm[60:], ym[60:])
    assert result.average == "weighted" and set(result.models) == {"logisticregression", "decisiontreeclassifier"}
    model = result.models["logisticregression"]
    values = result.metrics["logisticregression"]
    assert values["f1"] == pytest.approx(f1_score(ym[60:], model.predict(Xm[60:]), average="weighted"))
    assert values["roc_auc"] == pytest.approx(
        roc_auc_score(ym[60:], model.predict_proba(Xm[60:]), multi_class="ovr", average="weighted"))
    macro = compare_models({"m": LogisticRegression(max_iter=500)}, Xm[:60], ym[:60], Xm[60:], ym[60:],
                           average="macro", write_report=False)
    assert macro.metrics["m"]["f1"] == pytest.approx(f1_score(ym[60:], model.predict(Xm[60:]), average="macro"))


def test_regression_metrics(project: Path) -> None:
    Xr, yr = make_regression(n_samples=60, n_features=3, noise=5.0, random_state=0)
    result = compare_models({"linear": LinearRegression(), "tree": DecisionTreeRegressor(max_depth=3)},
                            Xr[:40], yr[:40], Xr[40:], yr[40:])
    assert result.task == "regression" and result.average is None and result.primary_metric == "rmse"
    linear = result.metrics["linear"]
    predicted = result.models["linear"].predict(Xr[40:])
    assert linear["rmse"] == pytest.approx(math.sqrt(mean_squared_error(yr[40:], predicted)))
    assert {"mae", "r2", "training_time", "inference_time"} <= set(linear)
    assert result.best == min(result.metrics, key=lambda n: result.metrics[n]["rmse"])
    assert "RMSE" in result.markdown and "Accuracy" not in result.markdown


def test_a_model_that_fails_is_recorded_and_the_rest_compared(project: Path) -> None:
    result = compare_models({"ok": DummyClassifier(), "broken": LogisticRegression(C=-1.0)}, XTR, YTR, XTE, YTE)
    assert set(result.failed) == {"broken"} and "C" in result.failed["broken"]
    broken = find_experiment(project, result.experiments["broken"])
    assert broken.status == "failed" and broken.meta.artifacts == []
    assert result.best == "ok"


@pytest.mark.parametrize(("models", "kwargs"), [
    ({}, {}),
    ({"a": LogisticRegression(), "b": LinearRegression()}, {}),
    ({"a": LogisticRegression}, {}),
    ({"a": LogisticRegression()}, {"average": "sideways"}),
    ([1, 2], {}),
])
def test_bad_input_is_refused_before_anything_is_written(models, kwargs, project: Path) -> None:
    with pytest.raises(InvalidInput):
        compare_models(models, XTR, YTR, XTE, YTE, **kwargs)
    assert not list(project.glob(".specweave/increments/*/experiments/exp-*"))


def test_string_labels(project: Path) -> None:
    labels = np.where(Y == 1, "spam", "ham")
    result = compare_models({"lr": LogisticRegression()}, XTR, labels[:60], XTE, labels[60:], write_report=False)
    record = find_experiment(project, result.experiments["lr"])
    assert record.params["pos_label"] == "spam" and "roc_auc" in record.metrics
