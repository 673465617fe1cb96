"""MLflow in the increment: configure_mlflow, plain MLflow runs read back, and the sw_mlflow mirror."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

mlflow = pytest.importorskip("mlflow")

from skill.errors import InvalidInput  # noqa: E402
from skill.storage.external import metric_history  # noqa: E402
from skill.analysis.listing import list_experiments  # noqa: E402


def _exp_dir(project: Path) -> Path:
    (inc,) = (project / ".specweave" / "increments").iterdir()
    return inc / "experiments"


def test_plain_mlflow_runs_land_in_the_increment_and_are_listed(project: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    from specweave import configure_mlflow

    model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    target = configure_mlflow(increment="0042")
    assert target.local and target.experiment_name == "0042-experiments"
    with mlflow.start_run(run_name="xgboost-v1") as run:
        mlflow.log_param("n_estimators", 100)
        mlflow.log_param("booster", "gbtree")
        mlflow.log_metric("auc", 0.80, step=0)
        mlflow.log_metric("auc", 0.87, step=1)
        mlflow.sklearn.log_model(model, "model")

    exp_dir = _exp_dir(project)
    assert (exp_dir / "mlflow.db").is_file()
    assert not (project / "mlruns").exists() and not (project / "mlflow.db").exists()  # nothing outside .specweave

    (record,) = list_experiments(project, "0042")
    run_id = run.info.run_id
    assert record.id == f"mlflow-{run_id[:8]}-xgboost-v1"
    assert record.meta.source == "mlflow" and record.meta.mlflow_run_id == run_id
    assert record.status == "completed" and record.name == "xgboost-v1"
    assert record.params == {"n_estimators": 100, "booster": "gbtree"}  # typed back from MLflow's strings
    assert record.metrics == {"auc": 0.87}
    (model_info,) = [a for a in record.meta.artifacts if a.kind == "model"]
    assert model_info.name == "models/model" and model_info.size > 0
    history = metric_history(record, "auc")
    assert [(p.step, p.value) for p in history] == [(0, 0.80), (1, 0.87)]


def test_local_store_is_ignored_by_git_and_the_rest_is_not(project: Path) -> None:
    from specweave import configure_mlflow

    configure_mlflow(increment="0042")
    with mlflow.start_run(run_name="r"):
        mlflow.log_metric("x", 1.0)
        Path("note.txt").write_text("hello")
        mlflow.log_artifact("note.txt")
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=project,
                            capture_output=True, text=True, check=True).stdout
    assert "mlflow.db" not in status and "mlartifacts" not in status
    assert ".specweave/increments/0042-experiments/experiments/.gitignore" in status
    (record,) = list_experiments(project, "0042")
    assert [a.name for a in record.meta.artifacts] == ["note.txt"]
    # a person's own lines in the .gitignore survive a second configure
    ignore = _exp_dir(project) / ".gitignore"
    ignore.write_text("my-own-line\n" + ignore.read_text())
    configure_mlflow(increment="0042")
    assert ignore.read_text().startswith("my-own-line\n") and ignore.read_text().count("/mlflow.db\n") == 1


def test_sw_mlflow_logs_to_both_and_lists_once(project: Path) -> None:
    from specweave import mlflow as sw_mlflow

    assert sw_mlflow.__name__ == "specweave.mlflow"  # the facade module, not MLflow itself
    with sw_mlflow.start_run("xgboost", increment="0042", tags=["baseline"]) as run:
        sw_mlflow.log_param("max_depth", 6)
        sw_mlflow.log_metric("auc", 0.85)
        run.log_metrics({"auc": 0.88, "loss": 0.3})
        mlflow.log_metric("plain_only", 2.5, step=7)  # plain MLflow inside the wrapper: copied at the end
        mlflow.log_param("plain_param", "yes")
        sw_mlflow.set_tag("team", "search")

    records = list_experiments(project, "0042")
    assert len(records) == 1  # the MLflow copy is not listed beside its original
    (rec,) = records
    assert rec.id == "exp-001-xgboost" and rec.meta.source == "specweave" and rec.status == "completed"
    assert rec.params == {"max_depth": 6, "plain_param": "yes"}
    assert rec.metrics == {"auc": 0.88, "loss": 0.3, "plain_only": 2.5}
    assert "baseline" in rec.tags and "team=search" in rec.tags
    assert rec.meta.mlflow_run_id == run.run_id

    got = mlflow.MlflowClient().get_run(run.run_id)
    assert got.info.status == "FINISHED" and got.data.tags["specweave.uid"] == rec.meta.uid
    assert got.data.params["max_depth"] == "6" and got.data.metrics["auc"] == 0.88
    history = mlflow.MlflowClient().get_metric_history(run.run_id, "auc")
    assert [(m.step, m.value) for m in history] == [(0, 0.85), (1, 0.88)]  # the same steps as the folder
    assert metric_history(rec) is None  # a native folder keeps its own points


def test_sw_mlflow_failure_marks_both_failed(project: Path) -> None:
    from specweave import mlflow as sw_mlflow

    with pytest.raises(RuntimeError, match="diverged"):
        with sw_mlflow.start_run("unstable", increment="0042") as run:
            sw_mlflow.log_metric("loss", float("nan"))
            raise RuntimeError("loss diverged")
    (rec,) = list_experiments(project, "0042")
    assert rec.status == "failed" and "diverged" in rec.meta.notes[-1].text
    assert mlflow.MlflowClient().get_run(run.run_id).info.status == "FAILED"
    with pytest.raises(InvalidInput, match="outside a run"):
        sw_mlflow.log_metric("loss", 1.0)


def test_a_run_copy_of_a_deleted_folder_is_listed_again(project: Path) -> None:
    """The copy is hidden only while its original folder exists."""
    import shutil

    from specweave import mlflow as sw_mlflow

    with sw_mlflow.start_run("kept", increment="0042") as run:
        sw_mlflow.log_metric("auc", 0.7)
    shutil.rmtree(run.path)
    (rec,) = list_experiments(project, "0042")
    assert rec.meta.source == "mlflow" and rec.metrics == {"auc": 0.7}


def test_reads_without_mlflow_files_do_not_import_mlflow(project: Path, run_py) -> None:
    code = (
        "import sys\n"
        "from specweave import track_experiment, list_experiments\n"
        "with track_experiment('a', increment='0042') as e: e.log_metric('m', 1)\n"
        "assert len(list_experiments('0042')) == 1\n"
        "assert 'mlflow' not in sys.modules and 'wandb' not in sys.modules, 'heavy import'\n"
    )
    run_py(code, project)


def test_missing_mlflow_names_the_extra(project: Path, run_py) -> None:
    code = (
        "import sys; sys.modules['mlflow'] = None  # as if mlflow were not installed\n"
        "from specweave import configure_mlflow, MissingExtra\n"
        "try:\n    configure_mlflow(increment='0042')\n"
        "except MissingExtra as exc:\n    print(exc)\n"
    )
    out = run_py(code, project).stdout.strip()
    assert out == "mlflow is not installed; install it with: pip install 'specweave-ml[mlflow]'"


def test_from_specweave_import_mlflow_is_the_facade(project: Path, run_py) -> None:
    code = (
        "import mlflow\n"
        "from specweave import mlflow as sw_mlflow\n"
        "import specweave.mlflow\n"
        "assert sw_mlflow is specweave.mlflow and mlflow.__name__ == 'mlflow'\n"
        "assert callable(sw_mlflow.start_run) and sw_mlflow.configure_mlflow.__module__.startswith('skill.')\n"
    )
    run_py(code, project)


def test_find_external_by_id_folder_or_short_prefix(project: Path) -> None:
    from skill.storage.external import find_external
    from skill.storage.increments import list_increments
    from specweave import configure_mlflow

    configure_mlflow(increment="0042")
    with mlflow.start_run(run_name="lightgbm") as run:
        mlflow.log_metric("auc", 0.86)
    incs = list_increments(project)
    rid = run.info.run_id
    for ref in (f"mlflow-{rid[:8]}-lightgbm", f"mlflow-{rid}", f"mlflow-{rid[:8]}"):
        (hit,) = find_external(project, incs, ref)
        assert hit.meta.mlflow_run_id == rid and hit.metrics == {"auc": 0.86}
    assert find_external(project, incs, "mlflow-") == []  # too short to mean one run
    assert find_external(project, incs, "exp-001") == []


def test_runs_of_any_mlflow_experiment_in_the_increment_store_are_listed(project: Path) -> None:
    from specweave import configure_mlflow

    configure_mlflow(increment="0042")
    with mlflow.start_run(run_name="default-exp"):
        mlflow.log_metric("auc", 0.5)
    mlflow.set_experiment("my-own-name")  # the store is the increment's, whatever the experiment is called
    with mlflow.start_run(run_name="renamed-exp"):
        mlflow.log_metric("auc", 0.6)
    assert sorted(r.name for r in list_experiments(project, "0042")) == ["default-exp", "renamed-exp"]


def test_runs_kept_by_mlflow_refuse_edits_with_one_line(project: Path) -> None:
    from skill.errors import ReadOnly
    from skill.storage.edits import add_note, set_tags
    from specweave import configure_mlflow

    configure_mlflow(increment="0042")
    with mlflow.start_run(run_name="plain"):
        mlflow.log_metric("auc", 0.5)
    (record,) = list_experiments(project, "0042")
    for edit in (lambda: add_note(record, "x"), lambda: set_tags(record, add=["y"])):
        with pytest.raises(ReadOnly, match="kept by mlflow; change it there"):
            edit()
    assert not (record.path / "metadata.yaml").exists()


def test_find_experiment_reaches_runs_kept_by_mlflow(project: Path) -> None:
    from skill.storage.run_records import find_experiment
    from specweave import configure_mlflow

    configure_mlflow(increment="0042")
    with mlflow.start_run(run_name="plain") as run:
        mlflow.log_metric("auc", 0.5)
    (listed,) = list_experiments(project, "0042")
    found = find_experiment(project, listed.id)
    assert found.meta.mlflow_run_id == run.info.run_id and found.metrics == {"auc": 0.5}
    assert find_experiment(project, f"0042/{listed.id}").id == listed.id
