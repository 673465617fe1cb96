"""AutoTracker: one experiment per call, arguments, estimator params, score and model recorded."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from skill.analysis.listing import list_experiments
from skill.storage.run_records import find_experiment
from skill.workflows.autotrack import AutoTracker

X = np.array([[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.1], [0.1, 0.8], [0.8, 0.3]])
Y = np.array([0, 1, 0, 1, 0, 1])


def test_each_call_is_an_experiment_with_args_model_params_score_and_model(project: Path) -> None:
    tracker = AutoTracker(increment="0042")

    @tracker.track(name="logreg-auto")
    def train(C: float, data: np.ndarray, solver: str = "lbfgs", notes=None):
        """Train a logistic regression."""
        model = LogisticRegression(C=C, solver=solver).fit(data, Y)
        return model, model.score(data, Y)

    model, score = train(0.5, X)
    train(2.0, X, notes={"why": "more C"})
    assert isinstance(model, LogisticRegression) and score == 1.0  # the return value is untouched
    assert len(tracker.experiments) == 2
    first = find_experiment(project, tracker.experiments[0])
    assert first.name == "logreg-auto" and first.status == "completed"
    assert first.params["data"] == "ndarray(shape=(6, 2))"  # data by shape, never dumped
    assert first.params["solver"] == "lbfgs" and first.params["notes"] is None
    assert first.params["C"] == 0.5 and first.params["model"] == "LogisticRegression"
    assert first.params["max_iter"] == 100  # from get_params() of the returned model
    assert first.metrics == {"score": 1.0}
    assert first.meta.description == "Train a logistic regression."
    assert [a.name for a in first.meta.artifacts] == ["model.pkl"]
    assert first.meta.artifacts[0].model_class.endswith("LogisticRegression")
    assert first.meta.git.commit and first.meta.python  # environment and git hash from the core
    second = find_experiment(project, tracker.experiments[1])
    assert second.params["C"] == 2.0 and second.params["notes.why"] == "more C"


def test_seed_style_closure_without_arguments(project: Path) -> None:
    params = {"C": 0.3}
    tracker = AutoTracker()

    @tracker.track(name="xgboost-auto")
    def train_model():
        model = LogisticRegression(**params)
        model.fit(X, Y)
        return model, model.score(X, Y)

    _, score = train_model()
    record = find_experiment(project, tracker.experiments[0])
    assert record.params["C"] == 0.3 and record.metrics["score"] == score


@pytest.mark.parametrize(("returned", "metrics"), [
    (0.75, {"score": 0.75}),
    (np.float64(0.5), {"score": 0.5}),
    ({"auc": 0.9, "loss": np.float32(0.25), "label": "x"}, {"auc": 0.9, "loss": 0.25}),
    ((0.1, 0.2), {"score": 0.1, "output_1": 0.2}),
    (None, {}),
    ("not a number", {}),
])
def test_return_values(returned, metrics, project: Path) -> None:
    tracker = AutoTracker()
    run = tracker.track(lambda: returned)
    assert run() is returned
    assert find_experiment(project, tracker.experiments[0]).metrics == metrics


def test_estimator_arguments_log_their_params(project: Path) -> None:
    tracker = AutoTracker()

    @tracker.track
    def fit(estimator, *extra, **options):
        return estimator.fit(X, Y)

    fit(LogisticRegression(C=3.0), 1, 2, seed=7)
    record = find_experiment(project, tracker.experiments[0])
    assert record.name == "fit"
    assert record.params["estimator"] == "LogisticRegression" and record.params["estimator.C"] == 3.0
    assert record.params["extra[0]"] == 1 and record.params["extra[1]"] == 2 and record.params["seed"] == 7
    assert [a.name for a in record.meta.artifacts] == ["model.pkl"]  # a bare model return is saved


def test_failure_is_recorded_and_reraised(project: Path) -> None:
    tracker = AutoTracker(tags=["auto"])

    @tracker.track("exploding")
    def boom(batch_size=512):
        raise MemoryError("CUDA out of memory")

    with pytest.raises(MemoryError, match="CUDA out of memory"):
        boom()
    record = find_experiment(project, tracker.experiments[0])
    assert record.status == "failed" and record.tags == ["auto"]
    assert record.params == {"batch_size": 512}
    assert "MemoryError: CUDA out of memory" in record.meta.notes[-1].text


def test_save_model_off_and_unpicklable_model(project: Path) -> None:
    class Local:  # a class defined in a function cannot be pickled
        def fit(self, X, y):
            return self

        def predict(self, X):
            return X

    tracker = AutoTracker()
    tracker.track(name="kept-out", save_model=False)(lambda: (LogisticRegression().fit(X, Y), 1.0))()
    tracker.track(name="unpicklable")(lambda: (Local(), 0.5))()
    kept_out, unpicklable = (find_experiment(project, ref) for ref in tracker.experiments)
    assert kept_out.meta.artifacts == [] and kept_out.params["model"] == "LogisticRegression"
    assert unpicklable.status == "completed" and unpicklable.metrics == {"score": 0.5}
    assert any("model not saved" in n.text for n in unpicklable.meta.notes)


def test_async_functions(project: Path) -> None:
    tracker = AutoTracker()

    @tracker.track(name="async-train")
    async def train(lr=0.1):
        await asyncio.sleep(0)
        return {"accuracy": 0.8}

    assert asyncio.run(train(lr=0.2)) == {"accuracy": 0.8}
    record = find_experiment(project, tracker.experiments[0])
    assert record.params == {"lr": 0.2} and record.metrics == {"accuracy": 0.8}


def test_calls_land_in_the_increment_and_list(project: Path) -> None:
    tracker = AutoTracker(increment="0007")
    step = tracker.track(name="step")(lambda i: float(i))
    for i in range(3):
        step(i)
    records = list_experiments(project, "0007")
    assert [r.metrics["score"] for r in records] == [0.0, 1.0, 2.0]
    assert json.loads((records[0].path / "params.json").read_text()) == {"i": 0}
