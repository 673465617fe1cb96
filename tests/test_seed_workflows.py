"""The seed's Key Features 1-3, Examples 1-3 and the multi-stage pipeline, run as written, then checked on disk.

Each snippet is read verbatim from the seed copy in tests/seed and executed in
the test's project after a prelude with the data it assumes. XGBoost and
LightGBM are used when installed; otherwise scikit-learn's gradient boosting
stands in under their names (same parameter names; capped at 10 trees so the
27-combination sweep stays fast).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.dummy import DummyClassifier as _Dummy
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier

from skill.analysis.compare import compare_experiments
from skill.analysis.listing import list_experiments
from skill.storage.run_records import find_experiment
from skill.workflows.sweeps import sweep_tag

SEED = Path(__file__).parent / "seed" / "experiment-tracker-skill.md"


def snippet(heading: str) -> str:
    """The first python block after a heading of the seed, verbatim."""
    text = SEED.read_text(encoding="utf-8")
    start = text.index(heading)
    return re.search(r"```python\n(.*?)```", text[start:], re.DOTALL).group(1)


class _FastBoosting(GradientBoostingClassifier):
    """Gradient boosting under XGBoost's parameter names, fitting at most 10 trees."""

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Any:
        wanted = self.n_estimators
        self.n_estimators = min(wanted, 10)
        try:
            return super().fit(X, y, sample_weight=sample_weight)
        finally:
            self.n_estimators = wanted


try:
    from xgboost import XGBClassifier
except ImportError:
    class XGBClassifier(_FastBoosting):  # type: ignore[no-redef]
        pass
try:
    from lightgbm import LGBMClassifier
except ImportError:
    class LGBMClassifier(_FastBoosting):  # type: ignore[no-redef]
        pass


def _namespace() -> dict[str, Any]:
    X, y = make_classification(n_samples=90, n_features=5, n_informative=3, random_state=0)
    strategies = {"random": "uniform", "majority": "most_frequent", "stratified": "stratified"}
    return {
        "X": X, "y": y, "X_train": X[:60], "y_train": y[:60], "X_test": X[60:], "y_test": y[60:],
        "XGBClassifier": XGBClassifier, "LGBMClassifier": LGBMClassifier,
        "RandomForestClassifier": lambda: RandomForestClassifier(n_estimators=20, random_state=0),
        # the seed's strategy names, mapped to scikit-learn's
        "DummyClassifier": lambda strategy: _Dummy(strategy=strategies[strategy], random_state=0),
        "params": {"n_estimators": 50, "max_depth": 3},
        "model": XGBClassifier(n_estimators=20),
    }


def run_seed(heading: str) -> dict[str, Any]:
    namespace = _namespace()
    exec(compile(snippet(heading), f"<seed: {heading}>", "exec"), namespace)  # noqa: S102 - our own seed text
    return namespace


def test_key_feature_1_automatic_logging(project: Path) -> None:
    ns = run_seed("### 1. Automatic Logging")
    model, score = ns["model"], ns["score"]
    assert isinstance(model, XGBClassifier)
    record = find_experiment(project, "xgboost-auto", "0042")
    assert record.status == "completed" and record.metrics == {"score": pytest.approx(score)}
    assert record.params["n_estimators"] == 50 and record.params["max_depth"] == 3
    assert record.params["model"] == "XGBClassifier"
    assert [a.name for a in record.meta.artifacts] == ["model.pkl"]
    assert record.meta.git.commit and record.meta.python and record.meta.packages


def test_key_feature_2_hyperparameter_tracking_27_combinations(project: Path) -> None:
    ns = run_seed("### 2. Hyperparameter Tracking")
    results = ns["results"]
    assert len(results) == 27 and set(results["status"]) == {"completed"}
    records = list_experiments(project, "0042")
    assert len(records) == 28
    parent = find_experiment(project, results.attrs["parent"], "0042")
    children = [r for r in records if r.meta.parent == parent.id]
    assert len(children) == 27 and all(sweep_tag(parent.id) in r.tags for r in children)
    combos = {(r.params["n_estimators"], r.params["max_depth"], r.params["learning_rate"]) for r in children}
    assert combos == {(n, d, lr) for n in (100, 200, 500) for d in (3, 6, 9) for lr in (0.01, 0.1, 0.3)}
    table = (parent.path / "param_importance.md").read_text()
    for name in ("n_estimators", "max_depth", "learning_rate"):
        assert f"| {name} |" in table
    assert math.isclose(sum(results.attrs["importance"].values()), 1.0)
    comparison = compare_experiments(project, "0042", experiments=[r.id for r in children], primary_metric="score")
    assert len(comparison.rows) == 27 and comparison.best in {r.id for r in children}
    assert len(compare_experiments(project, "0042").rows) == 28  # the whole increment, the sweep as one unit


def test_key_feature_3_cross_validation(project: Path) -> None:
    ns = run_seed("### 3. Cross-Validation Tracking")
    cv_results = ns["cv_results"]
    assert len(cv_results.scores) == 5 and cv_results.mean == pytest.approx(np.mean(cv_results.scores))
    assert cv_results.std == pytest.approx(np.std(cv_results.scores))
    assert len(cv_results.class_distribution) == 5 and sum(f["test"] for f in cv_results.fold_sizes) == 90
    record = find_experiment(project, cv_results.experiment, "0042")
    assert record.metrics["score"] == pytest.approx(cv_results.mean)
    assert record.metrics["score_std"] == pytest.approx(cv_results.std)


def test_artifact_management_snippet_imports_track_artifacts(project: Path) -> None:
    # The seed's snippet saves through exp.save_artifact; its import of track_artifacts must resolve.
    text = snippet("### 4. Artifact Management")
    assert "from specweave import track_artifacts" in text
    namespace: dict[str, Any] = {}
    exec("from specweave import track_artifacts", namespace)  # noqa: S102
    assert callable(namespace["track_artifacts"])


def test_example_1_baselines(project: Path) -> None:
    run_seed("### Example 1: Baseline Experiments")
    records = list_experiments(project)
    assert [r.name for r in records] == ["baseline-random", "baseline-majority", "baseline-stratified"]
    for record, strategy in zip(records, ("random", "majority", "stratified")):
        assert 0 <= record.metrics["accuracy"] <= 1
        assert record.meta.notes[-1].text == f"Baseline: {strategy}"


def test_example_2_grid_search(project: Path) -> None:
    ns = run_seed("### Example 2: Hyperparameter Grid Search")
    best_model, results = ns["best_model"], ns["results"]
    assert isinstance(best_model, XGBClassifier) and len(best_model.predict(ns["X_test"])) == 30  # refitted
    assert len(results) == 9
    parent = find_experiment(project, results.attrs["parent"], "0042")
    assert {"param_importance.md", "param_importance.png", "model.pkl"} <= {a.name for a in parent.meta.artifacts}
    assert parent.params["best.max_depth"] == best_model.max_depth
    assert len(list_experiments(project, "0042")) == 10


def test_example_3_model_comparison(project: Path) -> None:
    ns = run_seed("### Example 3: Model Comparison")
    comparison = ns["comparison"]
    names = [r.name for r in list_experiments(project, "0042")]
    assert names == ["xgboost", "lightgbm", "random-forest"]
    report = next((project / ".specweave").glob("increments/0042-*/experiments/comparison.md")).read_text()
    assert report == comparison.markdown
    assert re.search(r"^\| Experiment\s+\| Accuracy\s+\| Precision\s+\| Recall\s+\| F1\s+\|", report, re.MULTILINE)
    assert "Training Time" in report and f"**Best Model**: {comparison.experiments[comparison.best]}" in report
    assert all(hasattr(m, "predict") for m in comparison.models.values())


def test_advanced_multi_stage_pipeline(project: Path) -> None:
    namespace = _namespace()
    import pandas as pd

    df = pd.DataFrame(namespace["X"], columns=[f"f{i}" for i in range(5)]).assign(target=namespace["y"])
    df.loc[::10, "f0"] = np.nan
    namespace.update(
        df=df, accuracy=0.9, preprocess=lambda frame: frame.dropna(),
        engineer_features=lambda frame: frame.assign(f0_sq=frame["f0"] ** 2),
        train_model=lambda features: RandomForestClassifier(n_estimators=5).fit(
            features.drop(columns="target"), features["target"]),
    )
    exec(compile(snippet("## Advanced: Multi-Stage Experiments"), "<seed: pipeline>", "exec"), namespace)  # noqa: S102
    namespace["pipeline"].end()
    records = list_experiments(project)
    assert [r.name for r in records] == ["recommendation-full-pipeline", "preprocessing", "features", "training"]
    assert records[1].metrics == {"rows_before": 90.0, "rows_after": 81.0}
    assert records[2].metrics == {"num_features": 7.0}
    assert records[0].status == "completed" and all(r.meta.parent == records[0].id for r in records[1:])
