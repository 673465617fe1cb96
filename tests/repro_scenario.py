"""The issue's scenario for the diff and reproduce tests: a real git repository with a real scikit-learn
training script that reads a CSV, run three times (clean; code edited and not committed; a param and
the data changed), each run a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.fixtures import REPO, git, init_repo

TRAIN = '''\
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split

from specweave import track_experiment

N_ESTIMATORS = 10
frame = pd.read_csv("data/train.csv")
X_train, X_test, y_train, y_test = train_test_split(frame[["a", "b"]], frame["label"], test_size=0.3,
                                                    random_state=0)
with track_experiment("forest", increment="0001") as exp:
    exp.log_params({"n_estimators": N_ESTIMATORS, "random_state": 0})
    exp.log_dataset("train", "data/train.csv")
    model = RandomForestClassifier(n_estimators=N_ESTIMATORS, random_state=0).fit(X_train, y_train)
    exp.log_metric("accuracy", float(model.score(X_test, y_test)))
    exp.log_metric("train_accuracy", float(model.score(X_train, y_train)))
    exp.log_metric("fit_time", 0.01)
'''
EDITED = "RandomForestClassifier(n_estimators=N_ESTIMATORS, max_depth=2, random_state=0)"


def csv_text(shift: float = 0.0) -> str:
    """A small, deterministic two-feature classification set (no RNG: the same bytes on every machine)."""
    rows = ["a,b,label"]
    for i in range(120):
        a = ((i * 37) % 101) / 50.0 - 1.0
        b = ((i * 53) % 89) / 44.0 - 1.0
        label = int(a + 0.5 * b + (((i * 7) % 13) - 6) / 20.0 > 0)
        rows.append(f"{a + (shift if i % 3 == 0 else 0.0):.4f},{b:.4f},{label}")
    return "\n".join(rows) + "\n"


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("SPECWEAVE_ROOT", "CLAUDE_PROJECT_DIR", "SPECWEAVE_CAPTURE") and not k.startswith("SPECWEAVE_REPRO")}
    return {**env, "PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1", **extra}


def run_script(root: Path, *argv: str, cwd: Path | None = None, stdin: str | None = None,
               **env: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, *argv], cwd=cwd or root, env=clean_env(**env), capture_output=True,
                          text=True, input=stdin, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def build(root: Path) -> Path:
    """The three runs: exp-001 clean, exp-002 dirty (code edit), exp-003 (n_estimators and the data)."""
    init_repo(root)
    (root / "train.py").write_text(TRAIN)
    (root / "data").mkdir()
    (root / "data" / "train.csv").write_text(csv_text())
    git(root, "add", "-A")
    git(root, "commit", "-qm", "forest")
    run_script(root, "train.py")
    (root / "train.py").write_text(TRAIN.replace(
        "RandomForestClassifier(n_estimators=N_ESTIMATORS, random_state=0)", EDITED))
    run_script(root, "train.py")
    (root / "train.py").write_text(TRAIN.replace(
        "RandomForestClassifier(n_estimators=N_ESTIMATORS, random_state=0)", EDITED).replace(
        "N_ESTIMATORS = 10", "N_ESTIMATORS = 30"))
    (root / "data" / "train.csv").write_text(csv_text(shift=0.75))
    run_script(root, "train.py")
    return root
