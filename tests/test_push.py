"""The team MLflow server: `push_experiments` (sw-ml push) and reads that include the server's runs.

One real `mlflow server` on 127.0.0.1 (sqlite backend and artifact store in a
tmp folder) is started for the whole module and stopped at the end; each
test uses its own increment ids, so its MLflow experiments are its own.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

mlflow = pytest.importorskip("mlflow")

from skill.errors import InvalidInput, SpecweaveError  # noqa: E402
from skill.exchange.mlflow_push import push_experiments  # noqa: E402
from skill.storage.edits import add_note, set_tags  # noqa: E402
from skill.analysis.listing import list_experiments  # noqa: E402
from skill.storage.run_records import find_experiment  # noqa: E402
from skill.tracking.track import track_experiment  # noqa: E402
from tests.mlflow_server import free_port, running_mlflow_server  # noqa: E402


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory):
    """A real MLflow tracking server with proxied artifacts; yields its URI."""
    with running_mlflow_server(tmp_path_factory.mktemp("mlflow-server")) as uri:
        yield uri


def _log_two(inc: str, model_file: Path) -> None:
    with track_experiment("baseline", increment=inc, tags=["baseline"], description="first try") as exp:
        exp.log_params({"lr": 0.1, "depth": 3, "booster": "gbtree", "early_stop": True})
        for step in range(5):
            exp.log_metric("loss", 1.0 / (step + 1), step=step)
        exp.log_metric("auc", 0.81)
        exp.log_note("data v2 used")
        exp.save_artifact("report/summary.txt", "all good")
        exp.save_artifact("weights.bin", model_file)
    with pytest.raises(RuntimeError):
        with track_experiment("unstable", increment=inc) as exp:
            exp.log_metric("loss", float("nan"))
            raise RuntimeError("diverged")


def test_push_copies_everything_and_a_second_push_duplicates_nothing(project: Path, mlflow_server: str) -> None:
    inc = "0101-push-basic"
    weights = project / "w.bin"
    weights.write_bytes(b"\x00\x01" * 100)
    _log_two(inc, weights)

    first = push_experiments(project, "0101", mlflow_server)
    assert (first.created, first.updated, first.unchanged) == (2, 0, 0)
    assert first.increments == [inc] and first.metric_points == 7 and first.artifacts == 2
    assert "2 created" in first.summary() and mlflow_server in first.summary()

    client = mlflow.MlflowClient(tracking_uri=mlflow_server)
    exp = client.get_experiment_by_name(inc)
    runs = {r.info.run_name: r for r in client.search_runs([exp.experiment_id])}
    assert set(runs) == {"baseline", "unstable"}
    base = runs["baseline"]
    local = find_experiment(project, "exp-001", inc)
    assert base.info.status == "FINISHED" and runs["unstable"].info.status == "FAILED"
    assert base.data.params == {"lr": "0.1", "depth": "3", "booster": "gbtree", "early_stop": "true"}
    assert base.data.tags["specweave.uid"] == local.meta.uid and base.data.tags["baseline"] == "true"
    note = base.data.tags["mlflow.note.content"]
    assert "first try" in note and "data v2 used" in note
    assert base.data.tags["mlflow.source.git.commit"] == local.meta.git.commit
    loss = client.get_metric_history(base.info.run_id, "loss")
    assert [(m.step, round(m.value, 4)) for m in loss] == [(s, round(1.0 / (s + 1), 4)) for s in range(5)]
    assert all(abs(m.timestamp / 1000 - local.meta.started.timestamp()) < 60 for m in loss)
    assert base.info.start_time == int(local.meta.started.timestamp() * 1000)
    names = {a.path for a in client.list_artifacts(base.info.run_id)} | {
        a.path for a in client.list_artifacts(base.info.run_id, "report")} | {
        a.path for a in client.list_artifacts(base.info.run_id, "specweave")}
    assert {"weights.bin", "report/summary.txt", "specweave/metadata.yaml"} <= names
    assert {a.name: a.stored for a in local.meta.artifacts} == {"report/summary.txt": "git", "weights.bin": "objects"}
    downloaded = client.download_artifacts(base.info.run_id, "weights.bin", str(project / "dl"))  # from the store
    assert Path(downloaded).read_bytes() == weights.read_bytes()

    second = push_experiments(project, "0101", mlflow_server)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 2)
    assert second.metric_points == 0 and second.artifacts == 0
    assert len(client.search_runs([exp.experiment_id])) == 2
    assert len(client.get_metric_history(base.info.run_id, "loss")) == 5


def test_push_sends_only_what_changed(project: Path, mlflow_server: str) -> None:
    inc = "0102-push-update"
    with track_experiment("grows", increment=inc, tags=["old-tag"]) as exp:
        exp.log_metric("loss", 0.5, step=0)
    push_experiments(project, inc, mlflow_server)

    exp.log_metric("loss", 0.25, step=1)  # an ended experiment still takes points
    exp.log_param("new_param", 7)
    record = find_experiment(project, "exp-001", inc)
    add_note(record, "looked again")
    set_tags(record, add=["production"], remove=["old-tag"])
    again = push_experiments(project, inc, mlflow_server)
    assert (again.created, again.updated, again.unchanged) == (0, 1, 0)
    assert again.metric_points == 1 and again.params == 1

    client = mlflow.MlflowClient(tracking_uri=mlflow_server)
    (run,) = client.search_runs([client.get_experiment_by_name(inc).experiment_id])
    assert [(m.step, m.value) for m in client.get_metric_history(run.info.run_id, "loss")] == [(0, 0.5), (1, 0.25)]
    assert run.data.params["new_param"] == "7"
    assert "production" in run.data.tags and "old-tag" not in run.data.tags
    assert "looked again" in run.data.tags["mlflow.note.content"]
    # the folder's metadata.yaml as readers see it: the note and tags made after the run (edits.jsonl) in it
    sent = yaml.safe_load(Path(client.download_artifacts(run.info.run_id, "specweave/metadata.yaml",
                                                         str(project / "dl"))).read_text(encoding="utf-8"))
    assert [n["text"] for n in sent["notes"]] == ["looked again"] and sent["tags"] == ["production"]


def test_push_reports_a_changed_param_instead_of_failing(project: Path, mlflow_server: str) -> None:
    inc = "0103-push-param"
    with track_experiment("p", increment=inc) as exp:
        exp.log_param("lr", 0.1)
    push_experiments(project, inc, mlflow_server)
    exp.log_param("lr", 0.2)
    result = push_experiments(project, inc, mlflow_server)
    assert result.updated == 1 and any("'lr' changed" in w for w in result.warnings)
    assert "warning: " in result.summary()


def test_push_rejects_bad_targets(project: Path) -> None:
    with track_experiment("x", increment="0104-push-bad") as exp:
        exp.log_metric("m", 1)
    with pytest.raises(InvalidInput, match="tracking URI"):
        push_experiments(project, None, "not a uri")
    with pytest.raises(SpecweaveError, match="does not answer"):
        push_experiments(project, None, f"http://127.0.0.1:{free_port()}")


def test_reads_include_the_server_runs_of_the_increment(project: Path, mlflow_server: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    inc = "0105-team-reads"
    with track_experiment("local-one", increment=inc) as exp:
        exp.log_metric("auc", 0.8)
    push_experiments(project, inc, mlflow_server)  # its server copy must not be listed twice
    client = mlflow.MlflowClient(tracking_uri=mlflow_server)
    exp_id = client.get_experiment_by_name(inc).experiment_id
    other = client.create_run(exp_id, run_name="colleague-xgb", tags={"team": "search"})
    client.log_batch(other.info.run_id, metrics=[mlflow.entities.Metric("auc", 0.9, 0, 0)],
                     params=[mlflow.entities.Param("n_estimators", "200")])
    client.set_terminated(other.info.run_id)

    assert len(list_experiments(project, inc)) == 1  # no server configured: local only
    monkeypatch.setenv("SPECWEAVE_TRACKING_URI", mlflow_server)
    records = {r.id: r for r in list_experiments(project, inc)}
    assert len(records) == 2
    remote = records[f"mlflow-{other.info.run_id[:8]}-colleague-xgb"]
    assert remote.meta.source == "mlflow-server" and remote.meta.tracking_uri == mlflow_server
    assert remote.params == {"n_estimators": 200} and remote.metrics == {"auc": 0.9}
    assert remote.status == "completed" and remote.tags == ["team=search"]

    monkeypatch.delenv("SPECWEAVE_TRACKING_URI")
    (project / ".specweave" / "ml.yaml").write_text(f"tracking_uri: {mlflow_server}\nprimary_metric: auc\n")
    assert len(list_experiments(project, inc)) == 2


def test_an_unreachable_server_leaves_local_reads_working(project: Path, monkeypatch: pytest.MonkeyPatch,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    with track_experiment("solo", increment="0106-offline") as exp:
        exp.log_metric("auc", 0.7)
    monkeypatch.setenv("SPECWEAVE_TRACKING_URI", f"http://127.0.0.1:{free_port()}")
    with caplog.at_level(logging.WARNING, logger="specweave.external"):
        records = list_experiments(project, "0106")
    assert [r.id for r in records] == ["exp-001-solo"]
    assert "not reachable" in caplog.text


def test_sw_mlflow_logs_to_the_team_server_when_configured(project: Path, mlflow_server: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from specweave import mlflow as sw_mlflow

    monkeypatch.setenv("SPECWEAVE_TRACKING_URI", mlflow_server)
    with sw_mlflow.start_run("shared", increment="0107-team-write") as run:
        sw_mlflow.log_metric("auc", 0.91)
    client = mlflow.MlflowClient(tracking_uri=mlflow_server)
    got = client.get_run(run.run_id)
    assert got.data.metrics == {"auc": 0.91} and got.data.tags["specweave.uid"] == run.experiment.metadata.uid
    assert not (run.path.parent / "mlflow.db").exists()
    (rec,) = list_experiments(project, "0107")  # the folder, not also its server copy
    assert rec.meta.source == "specweave" and rec.meta.mlflow_tracking_uri == mlflow_server


def test_sw_ml_push_command(project: Path, mlflow_server: str) -> None:
    with track_experiment("from-cli", increment="0108-cli-push") as exp:
        exp.log_metric("auc", 0.75)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent), "SPECWEAVE_QUIET": "1"}
    cmd = [sys.executable, "-m", "specweave.cli", "push", "0108", "--to", mlflow_server]
    first = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert "1 created" in first.stdout and "View run" not in first.stdout
    again = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, timeout=120)
    assert "0 created, 0 updated, 1 unchanged" in again.stdout


def test_push_defaults_to_the_configured_server(project: Path, mlflow_server: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    with track_experiment("cfg", increment="0109-cfg-push") as exp:
        exp.log_metric("auc", 0.6)
    with pytest.raises(InvalidInput, match="SPECWEAVE_TRACKING_URI"):
        push_experiments(project, "0109", "")
    monkeypatch.setenv("SPECWEAVE_TRACKING_URI", mlflow_server)
    assert push_experiments(project, "0109", "").created == 1


def test_push_never_links_an_object_through_a_committed_cache_link(project: Path, mlflow_server: str,
                                                                  tmp_path: Path) -> None:
    """An object goes to MLflow as a hard link named for its artifact, made in .specweave/cache/tmp: a clone
    that commits that folder as a link gets the artifact left out in one line, and nothing made outside."""
    with track_experiment("linked", increment="0110-linked-tmp") as exp:
        exp.save_artifact("weights.bin", b"\x07" * 300_000)  # past the in-git bound: the object store
        exp.save_artifact("notes.txt", "kept in git")
    add_note(find_experiment(project, "exp-001", "0110-linked-tmp"), "a later note")  # edits.jsonl
    outside = tmp_path / "outside"
    outside.mkdir()
    tmp = project / ".specweave" / "cache" / "tmp"
    shutil.rmtree(tmp)
    tmp.symlink_to(outside, target_is_directory=True)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent), "SPECWEAVE_QUIET": "1"}
    cmd = [sys.executable, "-m", "specweave.cli", "push", "0110", "--to", mlflow_server]
    done = subprocess.run(cmd, check=False, cwd=project, env=env, capture_output=True, text=True, timeout=120)
    said = done.stdout + done.stderr
    assert "artifact weights.bin not sent" in said and "link" in said, said
    assert list(outside.iterdir()) == []
    client = mlflow.MlflowClient(tracking_uri=mlflow_server)
    (run,) = client.search_runs([client.get_experiment_by_name("0110-linked-tmp").experiment_id])
    assert [a.path for a in client.list_artifacts(run.info.run_id)] == ["notes.txt", "specweave"]
    # the folded metadata.yaml would be written in that folder: the two files go as written, nothing lost
    assert "metadata.yaml sent as written, its edits.jsonl beside it" in said, said
    assert [a.path for a in client.list_artifacts(run.info.run_id, "specweave")] == [
        "specweave/edits.jsonl", "specweave/metadata.yaml"]
