"""`import_runs` from W&B offline run folders, TensorBoard event files and a CSV, each written by the real
library (wandb offline mode, torch.utils.tensorboard, the csv module); what came in must equal what the
source's own reader reports (for W&B, which has no offline reader of its own any more, what the script
logged)."""

from __future__ import annotations

import csv
import hashlib
import shutil
from pathlib import Path

import pytest

from skill.errors import InvalidInput
from skill.exchange.importer import import_runs
from skill.exchange.wandb_files import records
from skill.project import Project
from skill.storage.run_metrics import read_metric_points
from tests.import_sources import csv_source, tensorboard_source, wandb_source


def imported(project: Path) -> dict[str, object]:
    records_ = Project(project).experiments(all_increments=True)
    return {r.meta.origin["run_id"]: r for r in records_ if r.meta is not None and hasattr(r.meta, "origin")}


def points_by_key(rec: object) -> dict[str, list[tuple[int, float, float]]]:
    points, bad = read_metric_points(Path(rec.path))
    assert bad == []
    out: dict[str, list[tuple[int, float, float]]] = {}
    for p in points:
        out.setdefault(p.key, []).append((p.step, p.value, p.ts))
    return out


# -- W&B --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def wandb_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    pytest.importorskip("wandb")
    base = tmp_path_factory.mktemp("wandb-source")
    return base, wandb_source(base)


def test_wandb_offline_runs_come_in_with_config_history_summary_and_files(project: Path, wandb_runs) -> None:
    base, logged = wandb_runs
    report = import_runs(project, "wandb", str(base))
    assert (report.imported, report.damaged, report.increments) == (3, 0, ["0001-vision"])
    ours = imported(project)
    group = ours.pop("group:vision/sweep-1")  # the W&B group: a parent run, its members its children
    assert group.name == "sweep-1" and group.meta.parent is None and group.meta.tags == ["wandb.group=sweep-1"]
    assert set(ours) == set(logged)
    assert {rec.meta.parent for rec in ours.values()} == {group.id}
    for run_id, what in logged.items():
        rec = ours[run_id]
        n = int(what["name"].rsplit("-", 1)[1])
        assert rec.name == what["name"] and rec.status == "completed" and rec.problems == []
        assert rec.params == {"lr": 0.01 * (n + 1), "optimizer.name": "adam", "optimizer.beta": 0.9}
        assert rec.meta.tags == ["baseline", f"seed-{n}", "wandb.group=sweep-1"]
        assert rec.meta.description == f"run {n} notes"
        got = points_by_key(rec)
        assert [(s, v) for s, v, _ in got["loss"]] == [(i, loss) for i, loss, _ in what["points"]]
        assert [(s, v) for s, v, _ in got["metrics/acc"]] == [(i, acc) for i, _, acc in what["points"]]
        assert all(what["before"] - 0.01 <= ts <= what["after"] + 0.01 for _, _, ts in got["loss"])
        assert [v for _, v, _ in got["best_acc"]] == [0.99]  # a summary-only number: one point
        arts = {a.name: a for a in rec.meta.artifacts}
        saved = base / f"labels-{n}.txt"
        assert arts[f"labels-{n}.txt"].sha256 == hashlib.sha256(saved.read_bytes()).hexdigest()
        assert "requirements.txt" in arts

    again = import_runs(project, "wandb", str(base / "wandb"))  # the same runs, pointed at otherwise
    assert (again.imported, again.skipped, again.points) == (0, 3, 0)


def test_a_cut_or_broken_wandb_file(project: Path, wandb_runs, tmp_path: Path) -> None:
    base, logged = wandb_runs
    copy = tmp_path / "project-of-the-run" / "wandb"
    shutil.copytree(base / "wandb", copy, symlinks=True)
    # the runs' own folders: wandb's `latest-run` link names one of them again, and which one depends on
    # which run finished last (the cut and the flipped byte must land in two different runs)
    files = sorted(p for p in copy.glob("*/*.wandb") if not p.parent.is_symlink())
    assert len(files) == 2
    secret = tmp_path / "secret.txt"
    secret.write_text("outside the project the run ran in")
    (files[0].parent / "files" / "leak.txt").symlink_to(secret)  # a link out of it is never followed
    data = files[0].read_bytes()
    files[0].write_bytes(data[: len(data) - 40])  # killed mid-write: the last record is cut
    broken = bytearray(files[1].read_bytes())
    broken[200] ^= 0xFF  # a flipped byte: the checksum says so
    files[1].write_bytes(bytes(broken))
    assert sum(1 for _ in records(files[0])) > 10

    report = import_runs(project, "wandb", str(copy))
    assert (report.imported, report.damaged) == (2, 1)  # the cut run and its group's parent run
    assert "bad checksum" in [r.problem for r in report.runs if r.action == "damaged"][0]
    runs = {k: r for k, r in imported(project).items() if not k.startswith("group:")}
    assert [r.status for r in runs.values()] == ["killed"]  # no exit record: interrupted
    names = {a.name for r in runs.values() for a in r.meta.artifacts}
    assert "requirements.txt" in names and "leak.txt" not in names


# -- TensorBoard ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tb_logdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("tensorboard")
    logdir = tmp_path_factory.mktemp("tb-source") / "lightning_logs"
    tensorboard_source(logdir)
    return logdir


def test_tensorboard_scalars_and_hparams(project: Path, tb_logdir: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    report = import_runs(project, "tensorboard", str(tb_logdir))
    assert (report.imported, report.damaged, report.increments) == (2, 0, ["0001-lightning-logs"])
    ours = imported(project)
    assert set(ours) == {"version_0", "version_1"}
    for run_id, rec in ours.items():
        n = int(run_id[-1])
        source = EventAccumulator(str(tb_logdir / run_id), size_guidance={"scalars": 0})  # TensorBoard's own reader
        source.Reload()
        got = points_by_key(rec)
        assert set(got) == set(source.Tags()["scalars"])
        for tag in source.Tags()["scalars"]:
            expected = [(e.step, e.value, round(e.wall_time, 3)) for e in source.Scalars(tag)]
            assert [(s, v, round(t, 3)) for s, v, t in got[tag]] == expected
        assert rec.params == {"lr": pytest.approx(0.1 * (n + 1)), "optimizer": "adam", "layers": n + 2}
        assert rec.meta.started.timestamp() <= rec.meta.ended.timestamp()
    assert import_runs(project, "tensorboard", str(tb_logdir)).skipped == 2


# -- CSV --------------------------------------------------------------------------------------------
def test_csv_with_step_column_and_params(project: Path, tmp_path: Path) -> None:
    import specweave

    path = tmp_path / "results.csv"
    csv_source(path)
    report = specweave.import_runs("csv", str(path), step_column="epoch", params={"model": "xgb", "depth": 6},
                                   root=project)
    assert (report.imported, report.points) == (1, 20 + 14)
    rec = imported(project)["results.csv"]
    assert rec.name == "results" and rec.params == {"model": "xgb", "depth": 6}
    got = points_by_key(rec)
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(s, v) for s, v, _ in got["loss"]] == [(int(r["epoch"]), float(r["loss"])) for r in rows]
    assert [(s, v) for s, v, _ in got["acc"]] == [(int(r["epoch"]), float(r["acc"])) for r in rows if r["acc"]]
    assert "phase" not in got  # text is no metric
    assert {ts for pts in got.values() for _, _, ts in pts} == {round(path.stat().st_mtime, 3)}
    assert import_runs(project, "csv", str(path), step_column="epoch",
                       params={"model": "xgb", "depth": 6}).skipped == 1

    with open(path, "a", newline="") as handle:  # the file grew: only the new rows come in
        csv.writer(handle).writerow([20, 0.01, 0.99, "train"])
    grown = import_runs(project, "csv", str(path), step_column="epoch", params={"model": "xgb", "depth": 6})
    assert (grown.updated, grown.points) == (1, 2)
    assert len(points_by_key(imported(project)["results.csv"])["loss"]) == 21

    with pytest.raises(InvalidInput, match="epoch"):
        import_runs(project, "csv", str(path), step_column="nope")
