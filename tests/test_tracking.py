"""The tracking API against real folders: what a training script logs is what lands on disk."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from skill.errors import InvalidInput, UnsafePath
from skill.layout import SCHEMA_VERSION
from skill.project import Project
from skill.schemas.records import GitInfo
from skill.analysis.listing import list_experiments
from skill.storage.run_records import find_experiment
from specweave import ExperimentMetadata, track_experiment
from skill.storage.run_summary import full_log_bytes


def exp_files(path: Path) -> set[str]:
    return {p.name for p in path.iterdir()}


def test_issue_example_writes_the_documented_files(project: Path) -> None:
    losses = [0.9, 0.5, 0.3]
    model = {"weights": [1.0, 2.0]}
    importance_df = pd.DataFrame({"feature": ["a", "b"], "importance": [0.7, 0.3]})
    with track_experiment("xgboost-v1", increment="0042") as exp:
        exp.log_param("n_estimators", 100)
        exp.log_params({"max_depth": 6, "learning_rate": 0.1})
        for step, loss in enumerate(losses):
            exp.log_metric("loss", loss, step=step)
        exp.log_metric("auc", 0.87)
        exp.save_model(model, "model.pkl")
        exp.save_artifact("feature_importance.csv", importance_df)
        exp.add_tag("production-candidate")
        exp.log_note("baseline features only")

    folder = exp.path
    assert folder.parent == project / ".specweave/increments/0042-experiments/experiments"
    assert exp.id == "exp-001-xgboost-v1"
    assert folder.name.startswith("exp-001-xgboost-v1.")
    assert {"params.json", "metrics.json", "metrics.summary.json", "feature_importance.csv",
            "metadata.yaml"} <= exp_files(folder)
    # the folder's .gitignore keeps a live log out of git: made with the log, at the first flush (a second in);
    # a run that ends before it has neither, and its summary names no live bytes it took in
    made_log = "live" in json.loads((folder / "metrics.summary.json").read_text())
    assert (".gitignore" in exp_files(folder)) is made_log
    assert "metrics.jsonl" not in exp_files(folder)  # schema 3: settled into the object store
    assert "model.pkl" not in exp_files(folder)  # a model's bytes go to the git-ignored object store
    stored = Project(project).artifact_path(exp.id, "model.pkl")
    assert stored.parent.parent == project / ".specweave/objects/sha256"
    assert json.loads((folder / "params.json").read_text()) == {
        "learning_rate": 0.1, "max_depth": 6, "n_estimators": 100}
    assert json.loads((folder / "metrics.json").read_text()) == {"auc": 0.87, "loss": 0.3}
    points = [json.loads(line) for line in full_log_bytes(folder).decode().splitlines()]
    # every point, in order within its metric (a short run's log is its summary, where how metrics logged in
    # one millisecond interleaved is not kept)
    assert _by_metric(points) == {"loss": [(0, 0.9), (1, 0.5), (2, 0.3)], "auc": [(0, 0.87)]}
    assert all(set(p) == {"key", "step", "ts", "value"} for p in points)
    assert pd.read_csv(folder / "feature_importance.csv").equals(importance_df)

    meta = yaml.safe_load((folder / "metadata.yaml").read_text())
    assert meta["schema_version"] == SCHEMA_VERSION
    assert meta["status"] == "completed"
    assert meta["tags"] == ["production-candidate"]
    assert [n["text"] for n in meta["notes"]] == ["baseline features only"]
    assert meta["duration_s"] >= 0 and meta["ended"]
    model_entry = next(a for a in meta["artifacts"] if a["name"] == "model.pkl")
    assert model_entry["kind"] == "model" and model_entry["model_class"] == "builtins.dict"
    assert model_entry["stored"] == "objects"
    assert model_entry["size"] == stored.stat().st_size
    import hashlib

    assert model_entry["sha256"] == hashlib.sha256(stored.read_bytes()).hexdigest()
    assert stored.name == model_entry["sha256"][2:]


def test_files_are_canonical(project: Path) -> None:
    with track_experiment("canon") as exp:
        exp.log_params({"b": 1, "a": "é"})
        exp.log_metric("z", 1)
        exp.log_metric("a", 2)
    for name in ("params.json", "metrics.json", "metadata.yaml", "metrics.summary.json"):
        raw = (exp.path / name).read_bytes()
        assert raw.endswith(b"\n")
        raw.decode("utf-8")
    assert (exp.path / "params.json").read_text(encoding="utf-8") == '{\n  "a": "é",\n  "b": 1\n}\n'
    assert list(json.loads((exp.path / "metrics.json").read_text())) == ["a", "z"]
    assert not list(exp.path.glob(".*.tmp"))


def _by_metric(points: list[dict]) -> dict[str, list[tuple[int, float]]]:
    out: dict[str, list[tuple[int, float]]] = {}
    for p in points:
        out.setdefault(p["key"], []).append((p["step"], p["value"]))
    return out


def test_default_step_counts_per_key_and_follows_explicit_steps(project: Path) -> None:
    with track_experiment("steps") as exp:
        exp.log_metric("a", 1.0)
        exp.log_metric("a", 2.0)
        exp.log_metric("b", 3.0, step=10)
        exp.log_metric("b", 4.0)
        exp.log_metrics({"a": 5, "c": 6}, step=7)
    points = [json.loads(x) for x in full_log_bytes(exp.path).decode().splitlines()]
    assert _by_metric(points) == {"a": [(0, 1.0), (1, 2.0), (7, 5)], "b": [(10, 3.0), (11, 4.0)], "c": [(7, 6)]}


def test_nan_inf_and_numpy_values_round_trip(project: Path) -> None:
    with track_experiment("weird-values") as exp:
        exp.log_metric("nan", float("nan"))
        exp.log_metric("pinf", float("inf"))
        exp.log_metric("ninf", -math.inf)
        exp.log_metric("np32", np.float32(0.5))
        exp.log_metric("npint", np.int64(3))
        exp.log_metric("scalar_array", np.array(2.5))
        exp.log_params({"np_int": np.int64(7), "np_bool": np.bool_(True), "arr": np.arange(3),
                        "ts": pd.Timestamp("2024-01-01"), "nan_param": float("nan")})
    record = find_experiment(project, exp.id)
    assert math.isnan(record.metrics["nan"])
    assert record.metrics["pinf"] == math.inf and record.metrics["ninf"] == -math.inf
    assert record.metrics["np32"] == 0.5 and record.metrics["npint"] == 3.0 and record.metrics["scalar_array"] == 2.5
    assert record.params["np_int"] == 7 and record.params["np_bool"] is True
    assert record.params["arr"] == [0, 1, 2]
    assert record.params["ts"].startswith("2024-01-01")
    assert record.params["nan_param"] == "NaN"
    json.loads((exp.path / "metrics.json").read_text())  # strict JSON: no bare NaN tokens
    for line in full_log_bytes(exp.path).decode().splitlines():
        json.loads(line, parse_constant=lambda c: pytest.fail(f"non-standard JSON token {c}"))


def test_unserialisable_params_are_kept_as_repr_with_a_note(project: Path) -> None:
    class Custom:
        def __repr__(self) -> str:
            return "Custom(k=1)"

    with track_experiment("odd-params") as exp:
        exp.log_param("obj", Custom())
        exp.log_param("nested", {"opt": {"name": "adam", "betas": (0.9, 0.99)}})
        exp.log_param("big", "x" * 1_000_000)
    record = find_experiment(project, exp.id)
    assert record.params["obj"] == "Custom(k=1)"
    assert record.params["nested.opt.name"] == "adam" and record.params["nested.opt.betas"] == [0.9, 0.99]
    assert len(record.params["big"]) == 1_000_000
    assert any("'obj'" in n.text and "repr" in n.text for n in record.meta.notes)


@pytest.mark.parametrize("bad", [None, "", "  ", "a\nb", "x" * 300, 5])
def test_bad_metric_names_are_refused(project: Path, bad: object) -> None:
    with track_experiment("bad-metric") as exp:
        with pytest.raises(InvalidInput, match="metric name"):
            exp.log_metric(bad, 1.0)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["high", None, [1, 2], np.arange(3), {"a": 1}])
def test_bad_metric_values_are_refused_with_one_line(project: Path, bad: object) -> None:
    with track_experiment("bad-value") as exp:
        with pytest.raises(InvalidInput) as info:
            exp.log_metric("m", bad)  # type: ignore[arg-type]
    assert "\n" not in str(info.value) and "a number" in str(info.value)


@pytest.mark.parametrize(
    "name", ["../../etc/passwd", "/abs/path", "C:\\evil.txt", "a/../../b", "metadata.yaml", "params.json",
             "metrics.json", "metrics.jsonl", "", "~/.bashrc"],
)
def test_artifact_names_cannot_escape_or_clobber(project: Path, name: str) -> None:
    with track_experiment("safe-names") as exp:
        with pytest.raises(InvalidInput):
            exp.save_artifact(name, b"data")
        with pytest.raises(InvalidInput):
            exp.save_model({"m": 1}, name)
    assert not (project / "etc").exists() and not Path("/abs/path").exists()
    meta = yaml.safe_load((exp.path / "metadata.yaml").read_text())
    assert meta.get("artifacts", []) == []  # empty fields are left out of the file


def test_artifact_through_a_symlink_out_is_refused(project: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    with track_experiment("symlink") as exp:
        (exp.path / "plots").symlink_to(outside)
        with pytest.raises(UnsafePath):
            exp.save_artifact("plots/x.png", b"png")
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize(
    "name,slug",
    [("../../etc/passwd", "etc-passwd"), ("/abs/path", "abs-path"), ("Ünïcødé Model ✨", "unicode-model"),
     ("模型", "run"), ("a" * 200, "a" * 60), ("XGBoost tuned depth6 lr0.1", "xgboost-tuned-depth6-lr0-1")],
)
def test_experiment_names_become_safe_slugs(project: Path, name: str, slug: str) -> None:
    with track_experiment(name) as exp:
        pass
    assert exp.id == f"exp-001-{slug}"
    assert exp.path.parent == project / ".specweave/increments/0001-experiments/experiments"
    assert exp.name == name.strip()
    assert find_experiment(project, exp.id).name == name.strip()


def test_saved_artifacts_by_type(project: Path, tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    source = tmp_path / "requirements.txt"
    source.write_text("numpy==2.0\n")
    fig, ax = plt.subplots()
    ax.plot([1, 2], [3, 4])
    frame = pd.DataFrame({"a": [1, 2], "b": [0.5, 1.5]})
    with track_experiment("artifacts") as exp:
        infos = {
            "raw.bin": exp.save_artifact("raw.bin", b"\x00\x01"),
            "note.txt": exp.save_artifact("note.txt", "hello"),
            "requirements.txt": exp.save_artifact("requirements.txt", str(source)),
            "copy2.txt": exp.save_artifact("copy2.txt", source),
            "conf.json": exp.save_artifact("conf.json", {"lr": 0.1, "layers": [1, 2]}),
            "conda_env.yaml": exp.save_artifact("conda_env.yaml", {"name": "env", "deps": ["python=3.11"]}),
            "frame.csv": exp.save_artifact("frame.csv", frame),
            "frame.json": exp.save_artifact("frame.json", frame),
            "frame.parquet": exp.save_artifact("frame.parquet", frame),
            "plots/roc.png": exp.save_artifact("plots/roc.png", fig),
            "cm.svg": exp.save_artifact("cm.svg", fig),
            "cm.pdf": exp.save_artifact("cm.pdf", fig),
            "preprocessor.pkl": exp.save_artifact("preprocessor.pkl", {1, 2, 3}),
        }
    where = Project(project)

    def p(name: str) -> Path:  # the bytes, in the folder (text) or the object store (binary)
        return where.artifact_path(exp.id, name)

    assert p("raw.bin").read_bytes() == b"\x00\x01"
    assert p("note.txt").read_text() == "hello"
    assert p("requirements.txt").read_text() == "numpy==2.0\n" == p("copy2.txt").read_text()
    assert json.loads(p("conf.json").read_text()) == {"layers": [1, 2], "lr": 0.1}
    assert yaml.safe_load(p("conda_env.yaml").read_text()) == {"name": "env", "deps": ["python=3.11"]}
    assert pd.read_csv(p("frame.csv")).equals(frame)
    assert pd.read_json(p("frame.json")).equals(frame)
    assert pd.read_parquet(p("frame.parquet")).equals(frame)
    assert p("plots/roc.png").read_bytes().startswith(b"\x89PNG")
    assert p("cm.svg").read_text().lstrip().startswith("<?xml")
    assert p("cm.pdf").read_bytes().startswith(b"%PDF")
    binary = {"raw.bin", "frame.parquet", "plots/roc.png", "cm.pdf", "preprocessor.pkl"}
    assert {name for name, info in infos.items() if info.stored == "objects"} == binary
    assert all(p(name).parent == exp.path for name in infos if name not in binary)
    formats = {name: info.format for name, info in infos.items()}
    assert formats["preprocessor.pkl"] == "pickle" and formats["frame.csv"] == "csv"
    assert formats["requirements.txt"] == "copy"
    meta = yaml.safe_load((exp.path / "metadata.yaml").read_text())
    assert sorted(a["name"] for a in meta["artifacts"]) == sorted(infos)


def test_save_model_records_class_and_library_version(project: Path) -> None:
    from sklearn import __version__ as skv
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    with track_experiment("sk") as exp:
        info = exp.save_model(model, "model.pkl")
        joblib_info = exp.save_model(model, "model.joblib")
    assert info.model_class == "sklearn.linear_model._logistic.LogisticRegression"
    assert info.library == "sklearn" and info.library_version == skv
    assert joblib_info.format == "joblib" and joblib_info.stored == "objects"
    assert Project(project).artifact_path(exp.id, "model.joblib").stat().st_size == joblib_info.size


def test_failure_example_from_the_seed(project: Path) -> None:
    with pytest.raises(MemoryError):
        with track_experiment("neural-net-attempt") as exp:
            raise MemoryError("CUDA out of memory")
    exp.log_note("Reason: Out of memory, need smaller batch size")
    exp.set_status("failed")
    record = find_experiment(project, "neural-net-attempt")
    assert record.status == "failed"
    texts = [n.text for n in record.meta.notes]
    assert texts[0].startswith("FAILED: MemoryError: CUDA out of memory")
    assert "Traceback" in texts[0] and "raise MemoryError" in texts[0]
    assert texts[-1] == "Reason: Out of memory, need smaller batch size"


def test_keyboard_interrupt_marks_killed_and_hand_set_status_is_kept(project: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        with track_experiment("interrupted") as exp:
            raise KeyboardInterrupt
    assert find_experiment(project, exp.id).status == "killed"
    with track_experiment("gave-up") as exp2:
        exp2.set_status("failed")
    assert find_experiment(project, exp2.id).status == "failed"
    with pytest.raises(InvalidInput, match="status"):
        exp2.set_status("exploded")


def test_experiment_metadata_in_place_of_a_name(project: Path) -> None:
    metadata = ExperimentMetadata(
        name="xgboost-v3", description="XGBoost with feature engineering v2",
        tags=["production-candidate", "feature-eng-v2"], git_commit="a3b8c9d", data_version="v2024-01",
        author="ml@example.com",
    )
    with track_experiment(metadata) as exp:
        pass
    record = find_experiment(project, "xgboost-v3")
    meta = record.meta
    assert meta.description == "XGBoost with feature engineering v2"
    assert meta.tags == ["production-candidate", "feature-eng-v2"]
    assert meta.git.commit == "a3b8c9d" and meta.data_version == "v2024-01" and meta.author == "ml@example.com"
    assert exp.id == "exp-001-xgboost-v3"


def test_environment_is_captured_without_being_asked(project: Path, run_py) -> None:
    from tests.fixtures import git

    head = git(project, "rev-parse", "HEAD").strip()
    with track_experiment("clean") as exp:
        pass
    meta = find_experiment(project, exp.id).meta
    assert meta.git.commit == head and meta.git.branch == "main" and meta.git.dirty is False
    assert meta.git.diff_sha256 is None
    assert meta.python and meta.platform and meta.cpu_count and meta.command
    assert "pydantic" in meta.packages and "pyyaml" in meta.packages
    assert meta.pid and meta.host
    # git state is taken once per process: each later state is a new process's
    script = "from specweave import track_experiment\nwith track_experiment({name!r}): pass\n"

    def git_of(name: str) -> GitInfo:
        run_py(script.format(name=name), project)
        return find_experiment(project, name).meta.git

    (project / "notes.py").write_text("x = 1\n")  # untracked, not ignored
    untracked = git_of("untracked")
    (project / "train.py").write_text("print('changed')\n")
    both = git_of("both")
    (project / "notes.py").unlink()
    tracked = git_of("tracked")
    hashes = {info.diff_sha256 for info in (untracked, both, tracked)}
    assert all(info.dirty for info in (untracked, both, tracked)) and len(hashes) == 3
    assert all(len(h) == 64 for h in hashes)
    assert git_of("tracked-again").diff_sha256 == tracked.diff_sha256  # the same changes, the same hash


def test_an_environment_file_edited_between_two_runs_of_one_process_is_written_true_again(project: Path) -> None:
    """The process remembers the environment file it checked only while the file is unchanged."""
    with track_experiment("first") as first:
        pass
    key = find_experiment(project, first.id).meta.environment
    env_file = project / ".specweave/environments" / f"{key}.yaml"
    true_text = env_file.read_text()
    env_file.write_text(true_text.replace("packages:\n", "packages:\n  evil-package: 6.6.6\n", 1))
    with track_experiment("second") as second:
        pass
    assert find_experiment(project, second.id).meta.environment == key
    assert env_file.read_text() == true_text


def test_logging_into_the_store_does_not_make_the_tree_dirty(project: Path) -> None:
    from skill.repro.capture import capture_git

    with track_experiment("first") as exp:
        exp.log_metric("m", 1)
    assert capture_git(project).dirty is False


def test_after_the_block_notes_tags_and_metrics_still_land(project: Path) -> None:
    with track_experiment("late") as exp:
        exp.log_metric("m", 1)
    exp.log_note("after")
    exp.add_tag("late-tag")
    exp.log_metric("m", 2)
    exp.log_param("p", 1)
    record = find_experiment(project, exp.id)
    assert record.metrics["m"] == 2 and record.params == {"p": 1}
    assert "late-tag" in record.tags and record.meta.notes[-1].text == "after"


def test_list_and_lookup(project: Path) -> None:
    for name in ("baseline", "xgboost", "lightgbm"):
        with track_experiment(name, increment="0042"):
            pass
    with track_experiment("baseline", increment="0043"):
        pass
    records = list_experiments(project, "0042")
    assert [r.id for r in records] == ["exp-001-baseline", "exp-002-xgboost", "exp-003-lightgbm"]
    assert find_experiment(project, "exp-002", "0042").name == "xgboost"
    assert find_experiment(project, "lightgbm").id == "exp-003-lightgbm"
    assert find_experiment(project, "0043/baseline").increment == "0043-experiments"
    folder = records[1].dir
    assert find_experiment(project, folder).id == "exp-002-xgboost"
    from skill.errors import AmbiguousReference, NotFound

    # in two increments: a bare reference means the default (newest) increment's, unless named
    assert find_experiment(project, "baseline").increment == "0043-experiments"
    assert find_experiment(project, "baseline", "0042").increment == "0042-experiments"
    with track_experiment("baseline", increment="0043"):
        pass
    with pytest.raises(AmbiguousReference) as info:  # twice in the default increment: ambiguous
        find_experiment(project, "baseline")
    assert str(info.value).count("0043-experiments/exp-00") == 2
    with pytest.raises(NotFound) as missing:
        find_experiment(project, "exp-009", "0042")
    assert "exp-001-baseline" in str(missing.value)
    with pytest.raises(InvalidInput):
        find_experiment(project, "../../etc")


def test_points_logged_from_threads_during_flushes_are_never_lost(project: Path) -> None:
    import threading

    with track_experiment("threads") as exp:
        def work(k: int) -> None:
            for i in range(20_000):
                exp.log_metric(f"t{k}", i, step=i)

        threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            exp.flush()
        for t in threads:
            t.join()
    lines = full_log_bytes(exp.path).decode().splitlines()
    assert len(lines) == 80_000
    for k in range(4):
        steps = [json.loads(x)["step"] for x in lines if f'"t{k}"' in x]
        assert steps == list(range(20_000))


def test_a_run_written_at_end_is_whole_when_it_ends_and_written_within_a_second_if_it_stays_open(
        project: Path) -> None:
    """`write_at_end=True` (a trial recorded after the fact): no metadata.yaml while it is open, then the
    same run as any other; one left open gets its first write from the flusher's tick."""
    import time

    exp = track_experiment("after the fact", write_at_end=True)
    assert not (exp.path / "metadata.yaml").exists()
    exp.log_params({"lr": 0.1})
    exp.log_metric("loss", 0.5, step=3)
    exp.add_tag("late")  # a change while open writes at once, as for any run
    assert (exp.path / "metadata.yaml").exists()
    exp.end()
    rec = find_experiment(project, exp.id)
    assert rec.status == "completed" and rec.params == {"lr": 0.1} and rec.metrics == {"loss": 0.5}
    assert rec.meta.tags == ["late"] and rec.meta.ended and rec.meta.git.commit and rec.problems == []

    quiet = track_experiment("quiet", write_at_end=True)
    quiet.end()
    assert find_experiment(project, quiet.id).status == "completed"

    open_one = track_experiment("left open", write_at_end=True)
    deadline = time.monotonic() + 60  # a liveness bound for a loaded machine, not a timing: it ends on the file
    while not (open_one.path / "metadata.yaml").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert find_experiment(project, open_one.id).status == "running"
    open_one.end()


def test_set_fields_goes_with_the_next_write_and_flush_writes_it(project: Path) -> None:
    """Fields set while the run is open wait for its next metadata write (the flusher's, the end's) or a
    `flush()`; after the end they are written at once."""
    import yaml

    exp = track_experiment("fields")
    exp.set_fields(best={"iteration": 3})
    exp.flush()
    assert yaml.safe_load((exp.path / "metadata.yaml").read_text())["best"] == {"iteration": 3}
    exp.set_fields(trial={"state": "COMPLETE"})
    exp.end()
    meta = yaml.safe_load((exp.path / "metadata.yaml").read_text())
    assert meta["trial"] == {"state": "COMPLETE"} and meta["status"] == "completed"
    exp.set_fields(later={"ok": True})
    assert yaml.safe_load((exp.path / "metadata.yaml").read_text())["later"] == {"ok": True}
