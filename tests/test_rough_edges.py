"""Issue 10, rough edges seen by a new user: each one through the real store, files and processes."""

from __future__ import annotations

import math
import os
import pickle
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from tests.fixtures import REPO, init_repo, make_increment, write_experiment

from skill.analysis.compare import compare_experiments
from skill.analysis.metric_names import cv_std
from skill.analysis.query import filter_records, sort_records
from skill.errors import DamagedFile, InvalidInput, NotFound
from skill.project import Project
from skill.analysis.listing import list_experiments

RECORDS = [
    {"id": "exp-001-a", "name": "a", "status": "completed", "tags": [], "params": {"max_depth": 6},
     "metrics": {"accuracy": 0.91, "f1": 0.8}},
    {"id": "exp-002-b", "name": "b", "status": "completed", "tags": [], "params": {"max_depth": 3, "lr": 0.1},
     "metrics": {"accuracy": 0.85}},
]


def sw(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1"}
    return subprocess.run([sys.executable, "-m", "specweave.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


# -- 1. a typo in --where or --sort is said, with the nearest names ------------------------------------------
@pytest.mark.parametrize("where, nearest", [
    ("metrics.acuracy > 0.8", "metrics.accuracy"),
    ("metrics.f1 > 0.5 and params.max_dept <= 6", "params.max_depth"),
    ("params.accuracy > 0.5", "metrics.accuracy"),  # the right name under the wrong prefix
])
def test_a_where_typo_names_the_nearest_fields(where: str, nearest: str) -> None:
    with pytest.raises(InvalidInput) as err:
        filter_records(RECORDS, where)
    message = str(err.value)
    assert nearest in message and "\n" not in message


def test_a_sort_typo_names_the_nearest_fields() -> None:
    with pytest.raises(InvalidInput, match="metrics.accuracy") as err:
        sort_records(RECORDS, "-metrics.acuracy")
    assert "--sort" in str(err.value)
    with pytest.raises(InvalidInput, match="metrics.accuracy"):
        sort_records(RECORDS, "name, metrics.acuracy desc")


def test_a_field_some_runs_lack_is_not_a_typo() -> None:
    assert [r["id"] for r in filter_records(RECORDS, "metrics.f1 > 0.5")] == ["exp-001-a"]
    assert [r["id"] for r in filter_records(RECORDS, "params.lr = 0.1")] == ["exp-002-b"]
    assert [r["id"] for r in sort_records(RECORDS, "-metrics.f1")] == ["exp-001-a", "exp-002-b"]
    # `has` asks exactly whether a run logged a name: no run having it is an answer, not a typo
    assert filter_records(RECORDS, "has metrics.auc") == []
    assert len(filter_records(RECORDS, "not has metrics.auc")) == 2
    # nothing to check against in an empty set, and the simple fields are known by the grammar
    assert filter_records([], "metrics.acuracy > 0.8") == [] and sort_records([], "-metrics.x") == []
    assert filter_records(RECORDS, "stage = train") == []


def test_the_typo_is_refused_through_the_store_and_the_cli(project: Path) -> None:
    inc = make_increment(project, "0042-typos")
    write_experiment(inc, 1, "a", metrics={"accuracy": 0.9}, params={"max_depth": 4})
    write_experiment(inc, 2, "b", metrics={"accuracy": 0.8, "auc": 0.7})
    with pytest.raises(InvalidInput, match="metrics.accuracy"):
        list_experiments(project, "0042", where="metrics.acuracy > 0.5")
    with pytest.raises(InvalidInput, match="metrics.accuracy"):
        list_experiments(project, "0042", sort="-metrics.acuracy")
    assert [r.id for r in list_experiments(project, "0042", where="metrics.auc > 0.5")] == ["exp-002-b"]
    done = sw("list-experiments", "0042", "--where", "metrics.acuracy > 0.5", cwd=project)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "did you mean metrics.accuracy" in done.stderr
    done = sw("list-experiments", "0042", "--sort", "-metrics.acuracy", cwd=project)
    assert done.returncode == 2 and "metrics.accuracy" in done.stderr


# -- 2. per-fold metrics are never a column of the comparison ------------------------------------------------
FOLD_NAMES = ["fold/auc", "fold_0/auc", "folds/auc", "fold0/auc", "cv/fold_1/auc", "auc/fold_2", "auc_fold3",
              "fold4_auc", "split0_test_score", "Fold_1/AUC", "kfold_2/auc"]


def test_per_fold_metrics_are_not_comparison_columns(project: Path) -> None:
    inc = make_increment(project, "0042-folds")
    for number, auc in ((1, 0.9), (2, 0.8)):
        write_experiment(inc, number, f"run{number}", metrics={"auc": auc, "auc_std": 0.01, "system/cpu": 50.0,
                                                               **{name: 0.99 for name in FOLD_NAMES}})
    c = compare_experiments(project, "0042")
    assert c.metrics == ["auc", "auc_std"] and c.primary_metric == "auc" and c.best == "exp-001-run1"
    assert "fold" not in c.markdown.split("\n\n")[1].lower()  # the table
    assert not any("fold" in column.lower() for column in c.dataframe.columns)
    picked = compare_experiments(project, "0042", metrics=["auc", "fold_0/auc"], write_report=False)
    assert picked.metrics == ["auc", "fold_0/auc"]  # asked for by name: shown


def test_a_real_cross_validation_run_shows_only_its_summary(project: Path) -> None:
    pytest.importorskip("sklearn")
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression

    from skill.workflows.crossval import track_cross_validation

    X, y = make_classification(n_samples=80, n_features=5, random_state=0)
    track_cross_validation(LogisticRegression(max_iter=200), X, y, cv=3, increment="0001-cv", root=project,
                           scoring=["accuracy", "f1"])
    c = compare_experiments(project, "0001")
    logged = set(list_experiments(project, "0001")[0].metrics)
    assert any(m.startswith("fold/") for m in logged)
    assert c.metrics and not any(m.startswith("fold") for m in c.metrics)
    assert c.primary_metric == "accuracy"


# -- 3. the CV noise warning finds the std by a documented rule ---------------------------------------------
@pytest.mark.parametrize("metrics, metric, expected", [
    ({"auc": 0.8, "auc_std": 0.03}, "auc", 0.03),
    ({"auc": 0.8, "auc/std": 0.03}, "auc", 0.03),
    ({"auc": 0.8, "std_auc": 0.03}, "auc", 0.03),
    ({"auc": 0.8, "cv_auc_std": 0.03}, "auc", 0.03),
    ({"auc": 0.8, "auc_cv_std": 0.03}, "auc", 0.03),
    ({"cv_auc": 0.8, "cv_auc_std": 0.03}, "cv_auc", 0.03),
    ({"auc_mean": 0.8, "auc_std": 0.03}, "auc_mean", 0.03),
    ({"auc/mean": 0.8, "auc/std": 0.03}, "auc/mean", 0.03),
    ({"mean_test_score": 0.8, "std_test_score": 0.03}, "mean_test_score", 0.03),
    ({"cv_score": 0.8, "f1": 0.7, "cv_std": 0.03}, "cv_score", 0.03),  # cv_std of the CV mean score
    ({"auc": 0.8, "cv_std": 0.03}, "auc", 0.03),  # the run's only metric: cv_std can be of nothing else
    ({"auc": 0.8, "f1": 0.7, "cv_std": 0.03}, "auc", None),  # of which? not guessed
    ({"auc": 0.8, "fold_0/auc": 0.7, "fold_1/auc": 0.9}, "auc", 0.1),
    ({"auc": 0.8, "auc/fold_0": 0.7, "auc/fold_1": 0.9}, "auc", 0.1),
    ({"auc": 0.8, "auc_fold0": 0.7, "auc_fold1": 0.9}, "auc", 0.1),
    ({"auc": 0.8, "auc_std": "NaN"}, "auc", None),
])
def test_cv_std_rule(metrics: dict, metric: str, expected: float | None) -> None:
    got = cv_std(metrics, metric)
    assert got == (pytest.approx(expected) if expected is not None else None)


def test_the_noise_warning_reads_cv_auc_std(project: Path) -> None:
    inc = make_increment(project, "0042-noise")
    write_experiment(inc, 1, "a", metrics={"auc": 0.81, "cv_auc_std": 0.04, "f1": 0.5})
    write_experiment(inc, 2, "b", metrics={"auc": 0.80, "cv_auc_std": 0.03, "f1": 0.6})
    c = compare_experiments(project, "0042", primary_metric="auc")
    assert any("within the cross-validation std (0.04)" in w for w in c.warnings)


# -- 4. the living docs rank by the primary metric of the comparison -----------------------------------------
def _docs(project: Path) -> str:
    return (project / ".specweave/docs/internal/architecture/ml-experiments.md").read_text()


def test_living_docs_follow_the_primary_metric_of_the_latest_comparison(project: Path) -> None:
    from skill.analysis.living_docs import sync_living_docs

    inc = make_increment(project, "0042-primary", "Primary")
    write_experiment(inc, 1, "acc-best", metrics={"accuracy": 0.90, "auc": 0.70})
    write_experiment(inc, 2, "auc-best", metrics={"accuracy": 0.80, "auc": 0.95})
    sync_living_docs(project)
    assert "by accuracy the best so far is exp-001-acc-best" in _docs(project)  # the default: no comparison
    c = compare_experiments(project, "0042", primary_metric="auc")
    assert c.best == "exp-002-auc-best"
    sync_living_docs(project)
    docs = _docs(project)
    assert "by auc the best so far is exp-002-auc-best" in docs and "(auc=0.95)" in docs
    before = docs
    sync_living_docs(project)
    assert _docs(project) == before  # stable: a second sync changes no byte
    # a direction given to the comparison carries over too
    compare_experiments(project, "0042", primary_metric="accuracy", goal="min")
    sync_living_docs(project)
    assert "by accuracy the best so far is exp-002-auc-best" in _docs(project)
    # ml.yaml's primary metric is what compare uses by default, and so do the docs
    (project / ".specweave/ml.yaml").write_text("primary_metric: auc\n")
    sync_living_docs(project)
    assert "by auc the best so far is exp-002-auc-best" in _docs(project)
    assert compare_experiments(project, "0042").best == "exp-002-auc-best"


# -- 5. save_model never writes a pickle under another format's name -----------------------------------------
@pytest.mark.parametrize("name", ["model.onnx", "model.safetensors", "model.bin", "model.json", "model.keras",
                                  "model.pb", "nested/model.txt"])
def test_save_model_refuses_a_format_it_cannot_write(project: Path, name: str) -> None:
    from skill.tracking.track import track_experiment

    with track_experiment("formats") as exp:
        with pytest.raises(InvalidInput) as err:
            exp.save_model({"w": [1, 2]}, name)
        exp.save_model({"w": [1, 2]}, "model.pickle")
        exp.save_model({"w": [1, 2]}, "model")
    message = str(err.value)
    assert "\n" not in message and Path(name).suffix in message and ".pkl" in message
    assert not (exp.path / name).exists()
    meta = yaml.safe_load((exp.path / "metadata.yaml").read_text())
    assert sorted(a["name"] for a in meta["artifacts"]) == ["model", "model.pickle"]
    assert {a["format"] for a in meta["artifacts"]} == {"pickle"}


def test_onnx_message_says_what_would_work(project: Path) -> None:
    from skill.tracking.track import track_experiment

    with track_experiment("onnx") as exp, pytest.raises(InvalidInput, match="torch.onnx.export"):
        exp.save_model({"w": 1}, "model.onnx")


def test_pt_without_torch_is_refused(project: Path, run_py) -> None:
    code = ("import sys\nfrom specweave import track_experiment, InvalidInput\n"
            "with track_experiment('pt') as exp:\n"
            "    try:\n        exp.save_model({'w': 1}, 'model.pt')\n"
            "    except InvalidInput as e:\n        print('REFUSED', e)\n"
            "assert 'torch' not in sys.modules\n")
    out = run_py(code, project).stdout
    assert out.startswith("REFUSED") and ".pt" in out and out.count("\n") == 1


class _RunsWhenUnpickled:
    """Unpickling this makes a folder: the sign that something loaded a file it was only asked to keep."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_a_file_torch_save_wrote_is_copied_as_it_is_never_loaded(project: Path, tmp_path: Path) -> None:
    """A checkpoint (Lightning's `.ckpt`) saved by path: its bytes, hashed as copied; no pickle runs until a
    `load_model` that checks that hash first."""
    torch = pytest.importorskip("torch")
    import hashlib

    from skill.tracking.track import track_experiment
    from specweave import load_model

    ckpt, marker = tmp_path / "epoch=1-step=12.ckpt", tmp_path / "unpickled"
    torch.save({"hook": _RunsWhenUnpickled(str(marker)), "w": torch.ones(2)}, ckpt)
    with track_experiment("ckpt") as exp:
        info = exp.save_model(ckpt, "checkpoints/best.pt")
    assert not marker.exists()
    assert info.sha256 == hashlib.sha256(ckpt.read_bytes()).hexdigest() and info.size == ckpt.stat().st_size
    assert (info.format, info.model_class, info.library) == ("torch", None, "torch")
    assert torch.equal(load_model(exp.id, "checkpoints/best.pt", root=project)["w"], torch.ones(2))
    assert marker.is_dir()  # the verified load is the one place it runs


def test_save_model_takes_a_path_only_for_a_file_torch_save_wrote(project: Path, tmp_path: Path) -> None:
    from skill.tracking.track import track_experiment

    notes = tmp_path / "notes.txt"
    notes.write_text("not a model")
    with track_experiment("paths") as exp:
        with pytest.raises(InvalidInput) as as_pickle:
            exp.save_model(notes, "model.pkl")  # never a pickled path object
        with pytest.raises(InvalidInput) as as_torch:
            exp.save_model(notes, "model.pt")
    for err in (as_pickle, as_torch):
        assert "\n" not in str(err.value) and "save_artifact copies any other file" in str(err.value)
    assert "torch.save wrote" in str(as_torch.value) and "'model.pt'" in str(as_torch.value)
    assert not yaml.safe_load((exp.path / "metadata.yaml").read_text()).get("artifacts")


def test_an_onnx_proto_is_written_as_onnx(project: Path) -> None:
    onnx = pytest.importorskip("onnx")
    from onnx import helper

    from skill.tracking.track import track_experiment
    from specweave import load_model

    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])])
    proto = helper.make_model(graph)
    with track_experiment("onnx") as exp:
        info = exp.save_model(proto, "model.onnx")
    assert info.format == "onnx" and (exp.path / "model.onnx").read_bytes() == proto.SerializeToString()
    assert load_model(exp.id, "model.onnx", root=project) == proto


# -- 6. load_model verifies the sha256 before it unpickles ---------------------------------------------------
@pytest.fixture
def saved_model(project: Path):
    pytest.importorskip("sklearn")
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression

    from skill.tracking.track import track_experiment

    X, y = make_classification(n_samples=60, n_features=4, random_state=1)
    model = LogisticRegression(max_iter=200).fit(X, y)
    with track_experiment("logreg", "0007-models") as exp:
        exp.save_model(model, "model.pkl")
        exp.save_model(model, "model.joblib")
        exp.save_artifact("notes.json", {"a": 1})
    return exp, model, X


def test_load_model_round_trips_a_scikit_learn_model(project: Path, saved_model) -> None:
    import numpy as np

    from specweave import load_model

    exp, model, X = saved_model
    for name in ("model.pkl", "model.joblib"):
        loaded = load_model(exp.id, name, root=project)
        assert type(loaded) is type(model) and np.array_equal(loaded.predict(X), model.predict(X))
    assert type(load_model("exp-001", increment="0007", root=project)) is type(model)  # model.pkl by default


def test_a_tampered_model_is_refused_before_anything_is_unpickled(project: Path, saved_model) -> None:
    from specweave import load_model

    exp, _, _ = saved_model
    path = Project(project).artifact_path(exp.id, "model.pkl")  # in the object store
    os.chmod(path, 0o644)  # objects are made read-only; a tamperer changes that first
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, other bytes
    path.write_bytes(bytes(data))
    with pytest.raises(DamagedFile, match="sha256") as err:
        load_model(exp.id, root=project)
    assert "\n" not in str(err.value)
    # a payload that would run code if it were unpickled: it never is
    marker = project.parent / "unpickled-marker"
    path.write_bytes(pickle.dumps(_Payload(str(marker))))
    with pytest.raises(DamagedFile):
        load_model(exp.id, root=project)
    assert not marker.exists()


class _Payload:
    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (os.mkdir, (self.path,))


def test_a_symlinked_model_file_is_refused(project: Path, saved_model, tmp_path: Path) -> None:
    from specweave import load_model

    exp, _, _ = saved_model
    path = Project(project).artifact_path(exp.id, "model.pkl")  # in the object store
    outside = tmp_path / "elsewhere.pkl"
    shutil.copyfile(path, outside)  # the very same bytes: the sha256 would match
    path.unlink()
    path.symlink_to(outside)
    with pytest.raises(DamagedFile, match="symbolic link"):
        load_model(exp.id, root=project)


def test_an_unrecorded_or_non_model_file_is_refused(project: Path, saved_model) -> None:
    from specweave import load_model

    exp, model, _ = saved_model
    (exp.path / "other.pkl").write_bytes(pickle.dumps(model))
    with pytest.raises(NotFound, match="model.pkl"):
        load_model(exp.id, "other.pkl", root=project)
    with pytest.raises(InvalidInput, match="json"):
        load_model(exp.id, "notes.json", root=project)
    with pytest.raises(InvalidInput):
        load_model(exp.id, "../../model.pkl", root=project)


def test_a_torch_model_round_trips(project: Path, run_py) -> None:
    pytest.importorskip("torch")
    code = ("import torch\nfrom specweave import track_experiment, load_model\n"
            "net = torch.nn.Linear(3, 2)\n"
            "with track_experiment('net') as exp:\n    exp.save_model(net, 'model.pt')\n"
            "back = load_model(exp.id, 'model.pt')\n"
            "assert isinstance(back, torch.nn.Linear) and torch.equal(back.weight, net.weight)\nprint('OK')\n")
    assert run_py(code, project, timeout=300).stdout.strip() == "OK"


# -- 7. a per-step history DataFrame -------------------------------------------------------------------------
def test_metric_history_dataframe(project: Path) -> None:
    from skill.tracking.track import track_experiment
    from specweave import metric_history_dataframe

    with track_experiment("curves", "0003-curves") as exp:
        for step in range(5):
            exp.log_metric("loss", 1.0 / (step + 1), step=step)
            if step % 2 == 0:
                exp.log_metric("val_loss", 2.0 / (step + 1), step=step)
        exp.log_metric("loss", math.nan, step=5)
    df = metric_history_dataframe(exp.id, root=project)
    assert list(df.columns) == ["step", "key", "value", "ts"]
    assert len(df) == 9 and str(df["step"].dtype) == "int64" and str(df["value"].dtype) == "float64"
    loss = df[df.key == "loss"]
    assert list(loss.step) == [0, 1, 2, 3, 4, 5] and math.isnan(loss.value.iloc[-1])
    assert (df.ts > 1e9).all() and df.attrs["problems"] == []
    only = metric_history_dataframe("exp-001", increment="0003", metrics=["val_loss"], root=project)
    assert list(only.key.unique()) == ["val_loss"] and list(only.step) == [0, 2, 4]
    wide = df.pivot_table(index="step", columns="key", values="value", aggfunc="last")
    assert wide.loc[2, "val_loss"] == pytest.approx(2 / 3)
    with pytest.raises(InvalidInput, match="did you mean loss"):
        metric_history_dataframe(exp.id, metrics=["los"], root=project)


# -- 8. errors never show a temp file's name ----------------------------------------------------------------
def test_a_failed_write_names_its_target_not_the_temp_file(project: Path) -> None:
    from mcp_server.core_calls import error_message
    from skill.storage.atomic_writes import atomic_write

    inc = make_increment(project, "0042-writes")
    write_experiment(inc, 1, "a", metrics={"auc": 0.9})
    report = inc / "experiments" / "comparison.md"
    (report / "inside").mkdir(parents=True)  # a folder where the report goes: the rename fails
    with pytest.raises(OSError) as err:
        compare_experiments(project, "0042")
    assert isinstance(err.value, IsADirectoryError) and err.value.filename == str(report)
    assert ".tmp" not in str(err.value) and ".tmp" not in error_message(err.value)
    assert "comparison.md" in error_message(err.value)
    target = project / ".specweave" / "somewhere"
    (target / "x").mkdir(parents=True)
    with pytest.raises(OSError) as err:
        atomic_write(target, "text")
    assert err.value.filename == str(target) and ".tmp" not in str(err.value)
    assert not [p for p in (project / ".specweave/cache/tmp").iterdir() if p.name.endswith(".tmp")]
    done = sw("compare-experiments", "0042", cwd=project)
    assert done.returncode != 0 and ".tmp" not in done.stderr and "comparison.md" in done.stderr


# -- 10. the demo prints commands that paste into a shell ---------------------------------------------------
def test_the_demo_prints_commands_a_user_can_paste(tmp_path: Path) -> None:
    target = tmp_path / "demo"
    done = subprocess.run([sys.executable, str(REPO / "examples" / "demo.py"), str(target)], capture_output=True,
                          text=True, timeout=600, env={**os.environ, "SPECWEAVE_QUIET": "1"}, check=False)
    assert done.returncode == 0, done.stderr
    typed = [line[2:] for line in done.stdout.splitlines() if line.startswith("$ ")]
    assert typed[0] == shlex.join(["cd", str(target)]) and typed[1] == "python train.py"
    commands = [shlex.split(line) for line in typed[2:]]
    assert all(argv[0] == "sw-ml" for argv in commands)
    decision = next(argv for argv in commands if argv[1] == "log-decision")
    assert decision[decision.index("--rationale") + 1].startswith("Best accuracy; ")  # `;` stays quoted
    sw_ml = Path(sys.executable).parent / "sw-ml"
    if not sw_ml.exists():
        pytest.skip("no sw-ml script beside this interpreter to paste the commands into")
    env = {**os.environ, "PATH": f"{sw_ml.parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1"}
    line = next(t for t in typed if t.startswith("sw-ml log-decision"))
    pasted = subprocess.run(["bash", "-c", line], cwd=target, env=env, capture_output=True, text=True, timeout=120,
                            check=False)
    assert pasted.returncode == 0, pasted.stderr
    from skill.storage.decisions import read_decisions

    assert read_decisions(target, None)[-1].rationale.startswith("Best accuracy; lr=0.01")


# -- 11. the suite proves it writes nothing into the checkout -----------------------------------------------
def test_the_checkout_guard_fails_a_run_that_writes_into_the_checkout(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "checkout")
    (repo / "tests").mkdir()
    shutil.copyfile(REPO / "tests" / "conftest.py", repo / "tests" / "conftest.py")
    shutil.copyfile(REPO / ".gitignore", repo / ".gitignore")
    (repo / "tests" / "test_clean.py").write_text("def test_clean(tmp_path):\n    (tmp_path / 'x').write_text('x')\n")
    (repo / "tests" / "test_leak.py").write_text(
        "from pathlib import Path\n\ndef test_leak():\n"
        "    (Path(__file__).parent.parent / '.specweave').mkdir()\n"  # ignored by .gitignore: still seen
        "    (Path(__file__).parent.parent / 'leak.txt').write_text('x')\n")
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-qm", "tests"], cwd=repo, check=True)

    def pytest_run(test: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("PYTEST_") and k != "SPECWEAVE_TEST_NO_CHECKOUT_CHECK"}
        return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"tests/{test}"],
                              cwd=repo, capture_output=True, text=True, timeout=300, env=env, check=False)

    clean = pytest_run("test_clean.py")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    leak = pytest_run("test_leak.py")
    assert leak.returncode == 1 and "1 passed" in leak.stdout
    assert "changed the checkout" in leak.stdout and "leak.txt" in leak.stdout and ".specweave/" in leak.stdout
