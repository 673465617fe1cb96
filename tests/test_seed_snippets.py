"""Every Python snippet of the seed description runs against this package as written.

The snippets are taken verbatim from tests/seed/experiment-tracker-skill.md (a
copy of the seed; a test checks it matches ../shared when that is present).
Each runs in a fresh git project, in its own interpreter, after a prelude that
defines what the snippet assumes (data, a model, an open `exp`). XGBoost and
LightGBM stand-ins are scikit-learn estimators with the same parameters; the
real ones are used where installed. Afterwards each snippet's effect on disk
is checked.
"""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures import REPO, init_repo

SEED = Path(__file__).parent / "seed" / "experiment-tracker-skill.md"
SHARED_SEED = REPO.parent / "shared" / "seed" / "experiment-tracker-skill.md"
SNIPPETS = re.findall(r"```python\n(.*?)```", SEED.read_text(encoding="utf-8"), re.S)

DATA = """
import os, sys, warnings
warnings.filterwarnings("ignore")
import numpy as np, pandas as pd
from sklearn.datasets import make_classification
X, y = make_classification(n_samples=120, n_features=6, n_informative=4, random_state=0)
X_train, X_test, y_train, y_test = X[:90], X[90:], y[:90], y[90:]
"""

STANDINS = DATA + """
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.tree import DecisionTreeClassifier

class _Boosted(ClassifierMixin, BaseEstimator):
    # Same parameters as XGBoost's sklearn API; a small GradientBoosting inside keeps tests fast.
    def __init__(self, n_estimators=100, max_depth=3, learning_rate=0.1, subsample=1.0):
        self.n_estimators, self.max_depth = n_estimators, max_depth
        self.learning_rate, self.subsample = learning_rate, subsample
    def fit(self, X, y):
        self.model_ = GradientBoostingClassifier(n_estimators=min(self.n_estimators, 15), max_depth=self.max_depth,
                                                 learning_rate=self.learning_rate, subsample=self.subsample,
                                                 random_state=0).fit(X, y)
        self.classes_ = self.model_.classes_
        return self
    def predict(self, X):
        return self.model_.predict(X)
    def predict_proba(self, X):
        return self.model_.predict_proba(X)

try:
    from xgboost import XGBClassifier
except ImportError:
    class XGBClassifier(_Boosted):
        pass
try:
    from lightgbm import LGBMClassifier
except ImportError:
    class LGBMClassifier(_Boosted):
        pass
params = {"n_estimators": 20, "max_depth": 3}
"""

TRACKED = STANDINS + """
from specweave import track_experiment
model = XGBClassifier(**params).fit(X_train, y_train)
accuracy = float((model.predict(X_test) == y_test).mean())
"""

PRELUDES: dict[int, str] = {
    0: TRACKED,
    1: TRACKED,
    # MLflow 3's sklearn flavour serialises with skops and refuses classes defined in __main__ (our
    # stand-ins): a plain scikit-learn model stands in for XGBoost here.
    2: TRACKED + "from sklearn.linear_model import LogisticRegression\nmodel = LogisticRegression().fit(X_train, y_train)\n",
    3: "open('model.pkl', 'wb').write(b'weights')\n",
    4: """
from specweave import track_experiment
for name, auc in (("baseline", 0.6), ("xgboost", 0.87), ("lightgbm", 0.86)):
    with track_experiment(name, increment="0042-recommendation-model") as exp:
        exp.log_metric("accuracy", auc)
""",
    5: STANDINS,
    6: STANDINS,
    7: STANDINS + "model = XGBClassifier(n_estimators=10)\n",
    8: STANDINS + """
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from specweave import track_experiment
from sklearn.preprocessing import StandardScaler
preprocessor = StandardScaler().fit(X_train)
model = XGBClassifier(**params).fit(X_train, y_train)
cm_plot, _ = plt.subplots()
roc_plot, _ = plt.subplots()
importance_df = pd.DataFrame({"feature": [f"f{i}" for i in range(6)], "importance": model.model_.feature_importances_ if hasattr(model, "model_") else model.feature_importances_})
requirements = "scikit-learn\\nnumpy\\n"
conda_env = {"name": "ml", "dependencies": ["python=3.11", "scikit-learn"]}
""",
    9: "from specweave import track_experiment\n",
    10: "from specweave import track_experiment\n",
    11: "import sys\nimport sklearn\nfrom specweave import track_experiment\nexp = track_experiment('log-everything')\n",
    12: """
from specweave import track_experiment
X_train, y_train = [[0.0]], [0]
class _Net:
    def fit(self, X, y):
        raise MemoryError("CUDA out of memory")
model = _Net()
""",
    13: "",
    14: "from specweave import track_experiment\n",
    15: DATA + """
from sklearn.dummy import DummyClassifier as _Dummy
_NAMES = {"random": "uniform", "majority": "most_frequent", "stratified": "stratified"}
def DummyClassifier(strategy):
    # the seed's strategy names, mapped to scikit-learn's
    return _Dummy(strategy=_NAMES[strategy], random_state=0)
""",
    16: STANDINS,
    17: STANDINS,
    18: "",
    19: "",
    20: DATA + """
import keras
model = keras.Sequential([keras.Input(shape=(6,)), keras.layers.Dense(1, activation="sigmoid")])
model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
y_train = y_train.astype("float32")
import keras.src.models.model as _m
_fit = model.fit
model.fit = lambda *a, **k: _fit(*a, epochs=2, verbose=0, **k)
""",
    21: DATA + """
df = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)]).assign(target=y)
df.loc[::10, "f0"] = np.nan
def preprocess(frame):
    return frame.dropna()
def engineer_features(frame):
    return frame.assign(f0_sq=frame["f0"] ** 2)
def train_model(features):
    from sklearn.linear_model import LogisticRegression
    return LogisticRegression(max_iter=200).fit(features.drop(columns="target"), features["target"])
accuracy = 0.9
""",
}

# What each snippet must leave in the project (a glob under .specweave), beyond running cleanly.
EXPECT: dict[int, str] = {
    0: "increments/*/experiments/exp-001-baseline-model.*/metrics.json",
    1: "increments/*/experiments/exp-001-xgboost-v1.*/metadata.yaml",
    4: "increments/0042-*/experiments/comparison.md",
    5: "increments/0042-*/experiments/exp-*-xgboost-auto.*/metadata.yaml",
    8: "increments/*/experiments/exp-001-xgboost-v1.*/metadata.yaml",
    9: "increments/*/experiments/exp-001-xgboost-v3.*/metadata.yaml",
    12: "increments/*/experiments/exp-001-neural-net-attempt.*/metadata.yaml",
    14: "increments/*/experiments/exp-001-xgboost-v1.*/params.json",
    15: "increments/*/experiments/exp-003-baseline-stratified.*/metrics.json",
    21: "increments/*/experiments/exp-*-training.*/metrics.json",
}


# Artifacts each snippet must leave recorded, with their bytes where the record says (the object store for
# a model or a PNG): (experiment, artifact name).
RECORDED: dict[int, tuple[str, str]] = {1: ("exp-001-xgboost-v1", "model.pkl"),
                                        8: ("exp-001-xgboost-v1", "confusion_matrix.png")}


def test_seed_copy_matches_shared() -> None:
    if not SHARED_SEED.exists():
        pytest.skip("../shared is not beside this checkout")
    assert SEED.read_text(encoding="utf-8") == SHARED_SEED.read_text(encoding="utf-8")


def test_every_snippet_has_a_prelude() -> None:
    assert len(SNIPPETS) == 22
    assert set(PRELUDES) == set(range(len(SNIPPETS)))


def _run(script: Path, cwd: Path, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    """Run `script`; one still running at `timeout` is stopped with SIGABRT, so faulthandler prints where
    each of its threads stood into the failure (a plain timeout kills it and says only that it was slow)."""
    child = subprocess.Popen([sys.executable, str(script)], cwd=cwd, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        out, err = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.send_signal(signal.SIGABRT)
        out, err = child.communicate()
        pytest.fail(f"{script.name} still ran after {timeout:.0f} s; its threads then:\n{err[-8000:]}")
    return subprocess.CompletedProcess(child.args, child.returncode, out, err)


@pytest.mark.parametrize("index", range(len(SNIPPETS)), ids=[f"snippet{i:02d}" for i in range(len(SNIPPETS))])
def test_seed_snippet_runs_as_written(index: int, tmp_path: Path) -> None:
    if index == 20 and importlib.util.find_spec("keras") is None:  # importing it here would pick TensorFlow
        pytest.skip("keras is not installed (make test installs it where a CPU torch wheel is on disk)")
    project = init_repo(tmp_path / "project")
    script = project / "snippet.py"
    script.write_text(PRELUDES[index] + "\n# ---- the seed's snippet, verbatim ----\n" + SNIPPETS[index],
                      encoding="utf-8")
    env = {
        **os.environ, "PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1", "WANDB_MODE": "offline",
        "WANDB_SILENT": "true", "WANDB_DIR": str(tmp_path / "wandb"), "KERAS_BACKEND": os.environ.get(
            "KERAS_BACKEND", "torch"), "MPLBACKEND": "Agg", "PYTHONFAULTHANDLER": "1",
    }
    (tmp_path / "wandb").mkdir()
    done = _run(script, project, env, timeout=300)
    assert done.returncode == 0, f"snippet {index} failed:\n{SNIPPETS[index]}\n--- stderr ---\n{done.stderr[-4000:]}"
    if index in EXPECT:
        assert list((project / ".specweave").glob(EXPECT[index])), f"snippet {index} left no {EXPECT[index]}"
    if index in RECORDED:  # binaries are in the object store: found (and checked) wherever they are
        from skill.project import Project

        exp_id, name = RECORDED[index]
        assert Project(project).artifact_path(exp_id, name).stat().st_size > 0
