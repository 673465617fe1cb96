"""Optuna: one child run per trial under one parent, from the callback alone or with the objective decorated
to log into its trial's run; the best trial or the Pareto front marked; two worker processes on one sqlite
storage share the parent. Read back through the public listing API."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna")

import specweave
from specweave import InvalidInput
from tests.fixtures import REPO

optuna.logging.set_verbosity(optuna.logging.ERROR)


def _sweep(project: Path) -> tuple[object, dict[int, object]]:
    """The one sweep parent and its children by trial number, as the listing reads them."""
    runs = specweave.list_experiments(root=project)
    parents = [run for run in runs if "sweep" in run.tags]
    assert len(parents) == 1, [run.id for run in parents]
    (parent,) = parents
    children = [run for run in runs if run.meta.parent == parent.id]
    by_trial = {run.meta.model_extra["optuna"]["trial"]: run for run in children}
    assert len(by_trial) == len(children)  # no trial written twice
    return parent, by_trial


def _steps(project: Path, run: object, key: str) -> list[tuple[int, float]]:
    frame = specweave.metric_history_dataframe(run.id, run.increment, metrics=[key], root=project)
    return [(int(s), float(v)) for s, v in zip(frame["step"], frame["value"])]


def _diverges() -> None:
    raise ValueError("diverged")


def test_decorated_objective_logs_into_its_trials_run(project: Path) -> None:
    from specweave.optuna import SpecweaveCallback

    cb = SpecweaveCallback("tune")

    @cb.track_in_specweave()
    def objective(trial):
        x = trial.suggest_int("x", 0, 9)
        for step in range(3):  # the trial's own number at each step: a run mixed up between threads shows
            cb.experiment.log_metric("loss", trial.number * 10 + step, step=step)
        if trial.number == 3:
            _diverges()
        if trial.number == 4:
            trial.report(0.5, 0)
            raise optuna.TrialPruned()
        return float("nan") if trial.number == 5 else float(x)

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    study.optimize(objective, n_trials=8, n_jobs=2, callbacks=[cb], catch=(ValueError,))
    cb.finish(study)
    with pytest.raises(InvalidInput, match="track_in_specweave"):
        cb.experiment  # noqa: B018 - outside a trial there is no trial's run

    parent, children = _sweep(project)
    assert sorted(children) == list(range(8))  # one run per trial: the callback reused the decorator's
    for trial in study.trials:
        run = children[trial.number]
        assert run.params == trial.params
        assert _steps(project, run, "loss") == [(s, trial.number * 10 + s) for s in range(3)]
        assert run.status == {"COMPLETE": "completed", "PRUNED": "killed", "FAIL": "failed"}[trial.state.name]
    failed = "\n".join(note.text for note in children[3].meta.notes)
    assert "FAILED: ValueError: diverged" in failed and "Traceback" in failed and "in _diverges" in failed
    assert "pruned" in children[4].tags
    assert "a value it could not use" in children[5].meta.notes[-1].text
    assert [n for n, run in children.items() if "best" in run.tags] == [study.best_trial.number]
    assert parent.meta.model_extra["best_trial"]["number"] == study.best_trial.number
    assert parent.status == "completed" and parent.params["n_trials"] == 8


def test_finish_on_a_study_with_no_trials_says_so_and_writes_nothing(project: Path) -> None:
    from specweave.optuna import SpecweaveCallback

    study = optuna.create_study(study_name="empty")
    with pytest.raises(InvalidInput, match="'empty' with no trials.*after optimize"):
        SpecweaveCallback("tune").finish(study)
    assert not (project / ".specweave" / "increments").exists()  # no parent opened for it


def test_an_uncaught_error_fails_the_run_with_its_traceback(project: Path) -> None:
    from specweave.optuna import SpecweaveCallback

    cb = SpecweaveCallback("crash")

    @cb.track_in_specweave()
    def objective(trial):
        trial.suggest_float("lr", 1e-3, 1e-1, log=True)
        cb.experiment.log_metric("loss", 1.0, step=0)
        raise RuntimeError("out of memory")

    study = optuna.create_study()
    with pytest.raises(RuntimeError, match="out of memory"):  # Optuna re-raises it: no callback runs
        study.optimize(objective, n_trials=3, callbacks=[cb])
    _parent, children = _sweep(project)
    (run,) = children.values()
    notes = "\n".join(note.text for note in run.meta.notes)
    assert run.status == "failed" and "RuntimeError: out of memory" in notes and "Traceback" in notes
    assert run.params == study.trials[0].params and _steps(project, run, "loss") == [(0, 1.0)]


def test_pareto_front_follows_the_study(project: Path) -> None:
    from specweave.optuna import SpecweaveCallback

    cb = SpecweaveCallback("front", background=False)  # each trial's run written before the next trial
    study = optuna.create_study(directions=["minimize", "maximize"])
    points = [(2, 2), (3, 3), (1, 2), (1, 3), (0, 0), (1, 3)]  # (1, 3) dominates the first three; twice
    for x, y in points:
        study.enqueue_trial({"x": x, "y": y})

    def objective(trial):
        return trial.suggest_int("x", 0, 9), trial.suggest_int("y", 0, 9)

    study.optimize(objective, n_trials=len(points), callbacks=[cb])
    front = sorted(t.number for t in study.best_trials)
    assert front == [3, 4, 5]
    parent, children = _sweep(project)  # before finish: the live marks already match
    assert sorted(n for n, run in children.items() if "pareto" in run.tags) == front
    assert sorted(e["number"] for e in parent.meta.model_extra["pareto_front"]) == front
    cb.finish(study)
    parent, children = _sweep(project)
    assert sorted(n for n, run in children.items() if "pareto" in run.tags) == front
    assert parent.params["pareto_front"] == front
    assert [e["values"] for e in parent.meta.model_extra["pareto_front"]] == [[1, 3], [0, 0], [1, 3]]
    assert {key.rsplit(".", 1)[0] for key in parent.params if key.startswith("importance.")} == {
        "importance.value_0", "importance.value_1"}


_WORKER = '''
import sys, optuna
from specweave.optuna import SpecweaveCallback
optuna.logging.set_verbosity(optuna.logging.ERROR)
storage, role, mode = sys.argv[1:4]
cb = SpecweaveCallback()

def objective(trial):
    x = trial.suggest_float("x", -4, 4)
    depth = trial.suggest_int("depth", 1, 3)
    if trial.number % 5 == 3:
        raise ValueError("diverged")
    for step in range(3):
        if mode == "pareto":  # Optuna has no report() for several objectives: the trial's own run
            cb.experiment.log_metric("loss", (x - 1) ** 2 + step, step=step)
        else:
            trial.report((x - 1) ** 2 + step, step)
        if trial.number % 5 == 4 and step == 1:
            raise optuna.TrialPruned()
    if mode == "pareto":
        return (x - 1) ** 2, depth * abs(x)
    return (x - 1) ** 2 + depth

study = optuna.load_study(study_name="tune", storage=storage)
study.optimize(cb.track_in_specweave()(objective) if mode == "pareto" else objective, n_trials=5,
               callbacks=[cb], catch=(ValueError,))
if role == "finish":  # the study's end: once the other worker is done (it writes its mark then)
    import os, time
    deadline = time.monotonic() + 200
    while not os.path.exists(sys.argv[4]) and time.monotonic() < deadline:
        time.sleep(0.05)
    cb.finish(study)
else:
    cb.flush()
    open(sys.argv[4], "w").close()
'''


def _two_workers(project: Path, tmp_path: Path, mode: str, directions: list[str]) -> object:
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    optuna.create_study(study_name="tune", storage=storage, directions=directions,
                        sampler=optuna.samplers.RandomSampler(seed=0))
    (tmp_path / "worker.py").write_text(_WORKER)
    env = {"PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1", "HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}
    done = tmp_path / "plain-done"
    workers = [subprocess.Popen([sys.executable, str(tmp_path / "worker.py"), storage, role, mode, str(done)],
                                cwd=project,
                                env=env, stderr=subprocess.PIPE, text=True) for role in ("finish", "plain")]
    for worker in workers:
        _, err = worker.communicate(timeout=240)
        assert worker.returncode == 0, err[-3000:]
    study = optuna.load_study(study_name="tune", storage=storage)
    _parent, children = _sweep(project)
    assert sorted(children) == list(range(10))  # none lost, none doubled
    for trial in study.trials:
        run = children[trial.number]
        assert run.status == {"COMPLETE": "completed", "PRUNED": "killed", "FAIL": "failed"}[trial.state.name]
        assert run.params == trial.params
        assert f"sweep:{_parent.id}" in run.tags
    assert "pruned" in children[4].tags
    key = "loss" if mode == "pareto" else "intermediate_value"
    assert [s for s, _v in _steps(project, children[4], key)] == [0, 1]
    return study


@pytest.mark.slow
def test_two_workers_share_one_parent(project: Path, tmp_path: Path) -> None:
    study = _two_workers(project, tmp_path, "plain", ["minimize"])
    parent, children = _sweep(project)
    assert [n for n, run in children.items() if "best" in run.tags] == [study.best_trial.number]
    assert parent.meta.model_extra["best_trial"]["number"] == study.best_trial.number


@pytest.mark.slow
def test_two_workers_mark_one_pareto_front(project: Path, tmp_path: Path) -> None:
    study = _two_workers(project, tmp_path, "pareto", ["minimize", "minimize"])
    parent, children = _sweep(project)
    front = sorted(t.number for t in study.best_trials)
    assert front and sorted(n for n, run in children.items() if "pareto" in run.tags) == front
    recorded = {e["number"]: e["values"] for e in parent.meta.model_extra["pareto_front"]}
    assert recorded == {t.number: t.values for t in study.best_trials}
    for trial in study.trials:  # the decorated objective's metric landed in its own trial's run
        if trial.state.name == "COMPLETE":
            loss = (trial.params["x"] - 1) ** 2
            assert _steps(project, children[trial.number], "loss") == [(s, loss + s) for s in range(3)]
    notes = "\n".join(note.text for note in children[3].meta.notes)
    assert "Traceback" in notes and "ValueError: diverged" in notes


FINISH_WITHOUT_IMPORTANCE = """
import sys
import optuna
from specweave.optuna import SpecweaveCallback
optuna.logging.set_verbosity(optuna.logging.ERROR)
cb = SpecweaveCallback("quick", background=False)
study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
study.optimize(lambda trial: (trial.suggest_float("x", -1, 1) - 0.2) ** 2, n_trials=6, callbacks=[cb])
cb.finish(study, importance=False)
print("sklearn" in sys.modules, study.best_trial.number)
"""


def test_finish_without_importance_marks_the_best_and_never_loads_scikit_learn(project: Path, run_py) -> None:
    done = run_py(FINISH_WITHOUT_IMPORTANCE, project)
    loaded, best = done.stdout.split()
    assert loaded == "False"  # Optuna's importance module is what imports it
    parent, children = _sweep(project)
    assert parent.status == "completed" and parent.params["n_trials"] == 6
    assert not any(key.startswith("importance") for key in parent.params)
    assert [n for n, run in children.items() if "best" in run.tags] == [int(best)]
