"""`import_runs` from MLflow: a sqlite store, a tracking server on 127.0.0.1 and an `mlruns/` file store, each
written by the real MLflow; every param, tag and point must equal what MLflow's own client reports."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

mlflow = pytest.importorskip("mlflow")

from skill.errors import InvalidInput, NotFound  # noqa: E402
from skill.exchange.importer import import_runs  # noqa: E402
from skill.storage.mlflow_store import decode_param, tags_to_list  # noqa: E402
from skill.exchange.mlflow_push import push_experiments  # noqa: E402
from skill.project import Project  # noqa: E402
from skill.storage.run_metrics import read_metric_points  # noqa: E402
from skill.storage.objects import object_path  # noqa: E402
from tests.import_sources import mlflow_source  # noqa: E402
from tests.mlflow_server import running_mlflow_server  # noqa: E402

STATUS = {"FINISHED": "completed", "FAILED": "failed", "KILLED": "killed", "RUNNING": "running"}


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    base = tmp_path_factory.mktemp("mlflow-sqlite")
    uri = f"sqlite:///{base / 'mlflow.db'}"
    mlflow_source(base, uri)
    return uri


@pytest.fixture(scope="module")
def file_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("mlflow-files")
    mlflow_source(base, str(base / "mlruns"), file_store=True)  # MLflow 3.13+ writes it only when told to
    return base / "mlruns"


def source_runs(uri: str) -> dict[str, tuple[object, dict[str, list[tuple[int, float, float]]], dict[str, bytes]]]:
    """{run id: (run, {key: [(step, value, time)]}, {artifact name: bytes})} as MLflow's own client reads them."""
    client = mlflow.MlflowClient(tracking_uri=uri)
    out = {}
    for exp in client.search_experiments():
        for run in client.search_runs([exp.experiment_id]):
            history = {key: sorted((m.step, m.value, m.timestamp / 1000)
                                   for m in client.get_metric_history(run.info.run_id, key))
                       for key in run.data.metrics}
            files, pending = {}, [None]
            while pending:
                for info in client.list_artifacts(run.info.run_id, pending.pop()):
                    if info.is_dir:
                        pending.append(info.path)
                    else:
                        local = client.download_artifacts(run.info.run_id, info.path,
                                                          dst_path=str(Path(os.environ["TMP_DL"])))
                        files[info.path] = Path(local).read_bytes()
            out[run.info.run_id] = (run, history, files)
    return out


def imported(project: Path) -> dict[str, object]:
    """Imported experiments by source run id, read back as every face reads them."""
    records = Project(project).experiments(all_increments=True)
    return {r.meta.origin["run_id"]: r for r in records if r.meta is not None and hasattr(r.meta, "origin")}


def check_same(project: Path, uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMP_DL", str(tmp_path / "dl"))
    (tmp_path / "dl").mkdir(exist_ok=True)
    source = source_runs(uri)
    ours = imported(project)
    assert set(ours) == set(source)
    ids = {run_id: rec.id for run_id, rec in ours.items()}
    for run_id, (run, history, files) in source.items():
        rec = ours[run_id]
        assert rec.problems == []
        assert rec.name == (run.info.run_name or run.data.tags["mlflow.runName"])
        assert rec.params == {k: decode_param(v) for k, v in run.data.params.items()}
        assert rec.meta.source_tags == run.data.tags
        assert rec.meta.tags == tags_to_list(run.data.tags)  # the same tags MLflow's runs list with here
        assert rec.status == STATUS[run.info.status]
        assert rec.meta.started.timestamp() * 1000 == pytest.approx(run.info.start_time, abs=1)
        if run.info.end_time:
            assert rec.meta.ended.timestamp() * 1000 == pytest.approx(run.info.end_time, abs=1)
        assert rec.meta.description == run.data.tags.get("mlflow.note.content", "")
        assert rec.meta.git.commit == run.data.tags.get("mlflow.source.git.commit")
        parent = run.data.tags.get("mlflow.parentRunId")
        assert rec.meta.parent == (ids[parent] if parent else None)
        points, bad = read_metric_points(Path(rec.path))
        assert bad == []
        got: dict[str, list[tuple[int, float, float]]] = {}
        for p in points:
            got.setdefault(p.key, []).append((p.step, p.value, p.ts))
        assert {k: sorted(v) for k, v in got.items()} == history
        assert rec.metrics == {k: v for k, v in run.data.metrics.items()}
        arts = {a.name: a for a in rec.meta.artifacts}
        assert set(arts) == set(files)
        for name, data in files.items():
            assert arts[name].sha256 == hashlib.sha256(data).hexdigest()
            kept = object_path(project / ".specweave", arts[name].sha256) if arts[name].stored == "objects" \
                else Path(rec.path) / name
            assert kept.read_bytes() == data
    assert {a.name: a.stored for r in ours.values() for a in r.meta.artifacts} == {
        "notes.txt": "git", "model/weights.bin": "objects"}  # binary to the object store, as for a native save


def folder_state(project: Path) -> dict[str, tuple[int, int]]:
    base = project / ".specweave" / "increments"
    return {str(p.relative_to(base)): (p.stat().st_size, p.stat().st_mtime_ns) for p in base.rglob("*") if p.is_file()}


def test_sqlite_store_comes_in_whole_and_a_second_import_adds_nothing(project: Path, sqlite_store: str,
                                                                      tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    first = import_runs(project, "mlflow", sqlite_store)
    assert (first.imported, first.skipped, first.damaged) == (5, 0, 0)
    assert first.increments == ["0001-churn", "0002-baseline-models"]  # an increment per MLflow experiment
    assert first.points == 10 + 3 + 3 * 20 + 1 and first.bytes > 2048
    check_same(project, sqlite_store, tmp_path, monkeypatch)
    failed = [r for r in imported(project).values() if r.name == "trial-1"]
    assert failed[0].status == "failed"
    before = folder_state(project)

    again = import_runs(project, "mlflow", sqlite_store.replace("sqlite:///", "sqlite:////").replace("/////", "////"))
    assert (again.imported, again.updated, again.skipped, again.points) == (0, 0, 5, 0)
    assert folder_state(project) == before  # not a byte changed
    assert not list((project / ".specweave" / "cache" / "import").iterdir())


def test_a_run_that_went_on_at_the_source_gets_only_its_new_points(project: Path, sqlite_store: str,
                                                                  tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    shutil.copyfile(sqlite_store.replace("sqlite:///", ""), db)  # a copy to change (a new store costs 20 s)
    uri = f"sqlite:///{db}"
    import_runs(project, "mlflow", uri, experiment="churn", increment="0042")
    client = mlflow.MlflowClient(tracking_uri=uri)
    run = next(r for r in client.search_runs([client.get_experiment_by_name("churn").experiment_id])
               if r.info.run_name == "trial-0")
    client.log_metric(run.info.run_id, "acc", 9.5, timestamp=1_700_000_900_000, step=5)
    client.set_tag(run.info.run_id, "late", "yes")

    again = import_runs(project, "mlflow", uri, experiment="churn", increment="0042")
    assert (again.imported, again.updated, again.skipped, again.points) == (0, 1, 3, 1)
    rec = Project(project).experiment("trial-0", "0042")
    points, _ = read_metric_points(Path(rec.path))
    assert [(p.step, p.value) for p in points if p.key == "acc"][-2:] == [(19, 0.95), (5, 9.5)]
    assert len(points) == 21 and rec.metrics["acc"] == 9.5 and "late=yes" in rec.meta.tags
    assert rec.meta.source_tags["late"] == "yes"
    assert Project(project).increments()[0].id == "0042-experiments"  # --increment: every run there


def test_mlruns_file_store_is_read_from_its_files(project: Path, file_store: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    report = import_runs(project, "mlflow", str(file_store))
    assert (report.imported, report.damaged) == (5, 0)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow's own reader, for the comparison only
    check_same(project, str(file_store), tmp_path, monkeypatch)
    assert import_runs(project, "mlflow", f"file://{file_store}").skipped == 5  # the same store, spelt otherwise


def test_a_damaged_run_is_one_line_and_the_rest_comes_in(project: Path, file_store: Path, tmp_path: Path) -> None:
    copy = tmp_path / "mlruns"
    shutil.copytree(file_store, copy)
    runs = sorted(p for p in copy.glob("*/*/meta.yaml") if (p.parent / "metrics" / "acc").exists())
    (runs[0].parent / "metrics" / "acc").write_text("1700000000000 0.5 0\nnot a point\n")
    runs[1].write_text("run_id: [unclosed\n")
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the store")
    (runs[2].parent / "artifacts").mkdir(exist_ok=True)
    (runs[2].parent / "artifacts" / "leak.txt").symlink_to(secret)  # a copied store is data: never followed
    before = {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()}

    report = import_runs(project, "mlflow", str(copy))
    assert (report.imported, report.damaged) == (3, 2)
    problems = [r.problem for r in report.runs if r.action == "damaged"]
    assert any("acc:2" in p for p in problems) and any("meta.yaml" in p for p in problems)
    assert len(report.summary().splitlines()) == 3  # the head line and one line per damaged run
    assert {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()} == before  # the source is only read
    assert not list((project / ".specweave" / "cache" / "import").iterdir())  # nothing half-made left
    assert all(a.name != "leak.txt" for r in imported(project).values() for a in r.meta.artifacts)


def test_experiment_filter_dry_run_and_sources_of_the_wrong_kind(project: Path, sqlite_store: str,
                                                                 tmp_path: Path) -> None:
    dry = import_runs(project, "mlflow", sqlite_store, experiment="baseline models", dry_run=True)
    assert (dry.imported, dry.points, dry.increments) == (1, 1, ["0001-baseline-models (new)"])
    assert not (project / ".specweave" / "increments").exists()  # a dry run writes nothing
    with pytest.raises(NotFound, match="churn"):
        import_runs(project, "mlflow", sqlite_store, experiment="nope")
    (tmp_path / "plain.txt").write_text("hello")
    for source in (str(tmp_path / "missing.db"), str(tmp_path / "plain.txt"), str(tmp_path),
                   f"sqlite:///{tmp_path / 'absent.db'}"):
        with pytest.raises(InvalidInput):
            import_runs(project, "mlflow", source)
    assert not (tmp_path / "absent.db").exists()  # MLflow never got to create it


@pytest.mark.slow
def test_tracking_server_import_and_push_never_sends_the_runs_back(project: Path, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "server").mkdir()
    (tmp_path / "writer").mkdir()
    with running_mlflow_server(tmp_path / "server") as uri:
        mlflow_source(tmp_path / "writer", uri, runs=2, points=10)
        report = import_runs(project, "mlflow", uri + "/")
        assert (report.imported, report.damaged) == (4, 0)
        check_same(project, uri, tmp_path, monkeypatch)  # the same checks, through the server's REST API
        assert import_runs(project, "mlflow", uri).skipped == 4

        client = mlflow.MlflowClient(tracking_uri=uri)
        count = len(client.search_runs([e.experiment_id for e in client.search_experiments()]))
        pushed = push_experiments(project, None, uri)
        assert (pushed.created, pushed.updated, pushed.unchanged) == (0, 0, 4)
        assert {r.run_id for r in pushed.runs} == set(imported(project))
        assert len(client.search_runs([e.experiment_id for e in client.search_experiments()])) == count
        assert {e.name for e in client.search_experiments()} == {"Default", "churn", "baseline models"}
