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


_SAME_SCRIPT = '''
import json, sys, time
from pathlib import Path
from sklearn.datasets import make_classification
from sklearn.tree import DecisionTreeClassifier
from skill.workflows.sweeps import track_hyperparameters

class SlowTree(DecisionTreeClassifier):
    """A fit slow enough that the two processes' trials overlap."""
    def fit(self, X, y, *args, **kwargs):
        time.sleep(0.15)
        return super().fit(X, y, *args, **kwargs)

X, Y = make_classification(n_samples=90, n_features=5, n_informative=3, flip_y=0.15, random_state=1)
go = Path(sys.argv[2])
Path(sys.argv[3]).touch()  # imported: ready
while not go.exists():  # both processes start the sweep together
    time.sleep(0.02)
frame = track_hyperparameters(SlowTree(random_state=0), {"max_depth": [1, 3, None], "min_samples_leaf": [1, 5]},
                              X, Y, cv=3, name="shared", backend="optuna", storage=sys.argv[1])
print(json.dumps({"rows": frame[["experiment", "score"]].values.tolist(), "parent": frame.attrs["parent"],
                  "best": frame.attrs["best_params"]}))
'''


def test_optuna_backend_shared_by_two_processes_runs_each_combination_once(project: Path, tmp_path: Path) -> None:
    """The same script in two processes on one RDB storage: one parent, each combination run once across them,
    both get the whole table, and the parent's summary is the local loop's."""
    import json
    import os
    import subprocess
    import sys
    import time

    optuna = pytest.importorskip("optuna")
    from tests.fixtures import REPO

    (project / "sweep.py").write_text(_SAME_SCRIPT)
    storage, go = f"sqlite:///{tmp_path / 'study.db'}", tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1", "HOME": str(tmp_path / "home")}
    ready = [tmp_path / f"ready-{i}" for i in range(2)]
    procs = [subprocess.Popen([sys.executable, "sweep.py", storage, str(go), str(flag)], cwd=project, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for flag in ready]
    deadline = time.monotonic() + 120
    while not all(flag.exists() for flag in ready) and time.monotonic() < deadline:
        time.sleep(0.05)  # both imported sklearn and wait at the barrier, however slow the machine
    go.touch()
    outs = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err[-3000:]
        outs.append(json.loads(out.strip().splitlines()[-1]))
    assert outs[0] == outs[1]  # the same parent, rows and best in both processes
    parent_id = outs[0]["parent"]
    children = _children(project, parent_id)
    assert sorted(c["id"] for c in children) == sorted(e for e, _ in outs[0]["rows"])  # none lost, none doubled
    assert len(children) == 6 and all(c["status"] == "completed" for c in children)
    parents = [m for m in (yaml.safe_load((r / "metadata.yaml").read_text())
                           for r in project.glob(".specweave/increments/*/experiments/exp-*")) if "sweep" in m["tags"]]
    assert [p["id"] for p in parents] == [parent_id]
    assert parents[0]["status"] == "completed" and {a["name"] for a in parents[0]["artifacts"]} >= {
        "param_importance.md"}
    trials = optuna.load_study(study_name="shared", storage=storage).get_trials()
    workers = {tuple(t.user_attrs["specweave_worker"]) for t in trials if t.state.name == "COMPLETE"}
    assert len(workers) == 2  # both processes ran combinations
    again = subprocess.run([sys.executable, "sweep.py", storage, str(go), str(tmp_path / "ready-again")], cwd=project,
                           env=env, capture_output=True, text=True, timeout=180)
    assert again.returncode == 0, again.stderr[-3000:]
    assert json.loads(again.stdout.strip().splitlines()[-1]) == outs[0]  # run again: the same sweep, no new run
    assert len(_children(project, parent_id)) == 6
    local = track_hyperparameters(DecisionTreeClassifier(random_state=0), GRID, X, Y, cv=3, name="local")
    assert [round(s, 12) for _, s in outs[0]["rows"]] == local["score"].round(12).tolist()
    assert outs[0]["best"] == local.attrs["best_params"]


def test_a_row_from_the_study_database_is_taken_only_in_the_shape_this_package_writes() -> None:
    """A shared study's database is input like any other: a row of another shape is not taken (the combination
    is then run here), never copied into the table or the parent's note as it stands."""
    from skill.workflows.sweep_backends import stored_row

    good = {"experiment": "exp-004-sweep-max-depth-1", "score": 0.8, "score_std": None, "fit_time": 1,
            "status": "completed"}
    row = stored_row(good)
    assert row is not None and math.isnan(row.pop("score_std"))  # None: a NaN, as the table holds it
    assert row == {"experiment": "exp-004-sweep-max-depth-1", "status": "completed", "score": 0.8, "fit_time": 1.0}
    for bad in (None, [], {"experiment": 4}, {**good, "experiment": "exp-004\x1b[31m"}, {**good, "score": "0.8"},
                {**good, "fit_time": True}, {**good, "status": "owned"}):
        assert stored_row(bad) is None, bad
