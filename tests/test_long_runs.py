"""Schema 3: long runs keep git bounded, every reader says whether it read every point or the summary,
a fresh clone gets the full history back with `sw-ml artifacts pull`, and post-run edits merge by union."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from skill.errors import DamagedFile
from skill.project import Project
from skill.storage.downsample import bucket_bounds, minmax_indices
from skill.storage.run_summary import SUMMARY_POINTS, full_log_bytes, read_summary
from specweave import metric_history_dataframe, track_experiment
from tests.fixtures import REPO, git, init_repo, sw


def _git_bytes(repo: Path, folder: Path) -> int:
    """What git would keep of a run folder: the bytes of every file `git add` takes from it."""
    git(repo, "add", "-A")
    listed = git(repo, "ls-files", "-s", "--", str(folder.relative_to(repo))).splitlines()
    total = 0
    for line in listed:
        blob = line.split()[1]
        total += int(git(repo, "cat-file", "-s", blob).strip())
    return total


def _long_run(n: int, name: str = "long") -> tuple[Path, list[float]]:
    values = [((i * 7919) % 1000) / 1000.0 + 1.0 / (i + 1) for i in range(n)]
    with track_experiment(name, increment="0042") as exp:
        for v in values:
            exp.log_metric("loss", v)
        exp.log_metric("auc", 0.9)
    return exp.path, values


def _clone(source: Path, dest: Path) -> Path:
    subprocess.run(["git", "clone", "-q", str(source), str(dest)], check=True, capture_output=True)
    return dest


def test_a_long_run_keeps_a_bounded_summary_and_a_fresh_clone_pulls_every_point(project: Path,
                                                                                   tmp_path: Path) -> None:
    n = 30_000
    folder, values = _long_run(n)
    assert not (folder / "metrics.jsonl").exists()  # settled as the run ended
    summary = read_summary(folder)
    assert summary is not None and summary.log is not None and not summary.complete
    loss = summary.metrics["loss"]
    assert loss.count == n and len(loss.values) <= SUMMARY_POINTS
    assert loss.min == (values.index(min(values)), min(values)) and loss.max[1] == max(values)
    assert loss.first == (0, values[0]) and loss.last == (n - 1, values[-1])
    assert summary.metrics["auc"].complete  # a short metric is kept whole
    git(project, "add", "-A")
    git(project, "commit", "-qm", "a long run")
    assert "metrics.jsonl" not in git(project, "ls-files")

    remote = tmp_path / "remote"
    assert Project(project).push_artifacts(to=str(remote)).copied == 1  # the settled log
    full = metric_history_dataframe("exp-001", metrics=["loss"], root=project)
    assert full.attrs["source"] == "full" and full["value"].tolist() == values
    assert Project(project).history("exp-001", "loss").source == "full"

    clone = _clone(project, tmp_path / "clone")
    before = Project(clone).history("exp-001", "loss", max_points=200)
    assert before.source == "summary" and before.series[0].total_points == n
    # at the summary's own size, the answer is the full log's exactly (the summary is that downsample)
    same = Project(clone).history("exp-001", "loss", max_points=SUMMARY_POINTS)
    assert same.source == "full" and same == Project(project).history("exp-001", "loss", max_points=SUMMARY_POINTS)
    assert same.series[0].steps == loss.kept_steps() == minmax_indices(values, SUMMARY_POINTS)  # steps are 0..n-1
    frame = metric_history_dataframe("exp-001", metrics=["loss"], root=clone)
    assert frame.attrs["source"] == "summary" and len(frame) == len(loss.values)
    shown = sw("history", "exp-001", "loss", cwd=clone)
    assert shown.returncode == 0 and f"{n} points" in shown.stdout
    # every view counts the points the run logged, not the summary's downsample of them
    clone_run = Project(clone).run("exp-001")
    assert {s.key: s.count for s in clone_run.stats()} == {"loss": n, "auc": 1}
    assert {s.key: s.count for s in clone_run.view().stats} == {"loss": n, "auc": 1}
    assert clone_run.view().source == "summary" and Project(project).run("exp-001").view().source == "full"
    assert f"{n} points" in sw("show-experiment", "exp-001", cwd=clone).stdout
    for curves in (Project(clone).curves, Project(clone, memo=True).live_curves):  # the dashboard's curves
        (curve,) = curves(["exp-001"], "loss", max_points=2000).curves
        assert (curve.total_points, curve.downsampled, len(curve.values)) == (n, True, len(loss.values))
        assert curve.source == "summary"  # and says where its points came from
    (curve,) = Project(clone).view_bundle(metric="loss").curves["loss"].curves  # the report's
    assert (curve.total_points, curve.downsampled, curve.source) == (n, True, "summary")
    assert Project(project).curves(["exp-001"], "loss").curves[0].source == "full"
    # the curve from the summary is within the stated error of the full one: each bucket's min and max
    bounds = bucket_bounds(n, SUMMARY_POINTS)
    kept = dict(zip(loss.kept_steps(), loss.values))
    for a, e in zip(bounds, bounds[1:]):
        inside = [kept[s] for s in range(a, e) if s in kept]
        assert min(inside) == min(values[a:e]) and max(inside) == max(values[a:e])

    pulled = Project(clone).pull_artifacts(source=str(remote))
    assert (pulled.copied, pulled.refused, pulled.missing) == (1, [], [])
    after = metric_history_dataframe("exp-001", metrics=["loss"], root=clone)
    assert after.attrs["source"] == "full" and after["value"].tolist() == values  # point for point
    assert after["step"].tolist() == list(range(n)) and after["ts"].tolist() == full["ts"].tolist()
    assert Project(clone).history("exp-001", "loss", max_points=SUMMARY_POINTS).source == "full"
    assert Project(clone).run("exp-001").curves("loss").curves["loss"].source == "full"
    assert Project(clone).curves(["exp-001"], "loss").curves[0].source == "full"
    assert full_log_bytes(next((clone / ".specweave").glob("increments/*/experiments/exp-001-*"))) == \
        full_log_bytes(folder)
    assert git(clone, "status", "--porcelain") == ""


def test_a_short_run_costs_less_git_than_dvclive_and_stays_complete(project: Path) -> None:
    with track_experiment("short", increment="0042") as exp:
        for step in range(100):
            exp.log_metrics({f"metric_{k}": (step * 31 + k) % 97 / 97 for k in range(5)}, step=step)
    summary = read_summary(exp.path)
    assert summary is not None and summary.complete and summary.points == 500
    # dvclive keeps ~37 bytes a point in TSV (timestamp, step, value) plus its own files: 18.5 KB here
    size = (exp.path / "metrics.summary.json").stat().st_size
    assert size < 500 * 37, size


def _objects(project: Path) -> list[Path]:
    return [p for p in (project / ".specweave/objects").rglob("sha256/*/*") if p.is_file()]


def test_a_short_run_needs_no_object_and_every_reader_has_all_of_it(project: Path, tmp_path: Path) -> None:
    """A run whose summary keeps every point writes no gzip object: nothing to push, nothing a clone lacks."""
    with track_experiment("short", increment="0042") as exp:
        for step in range(SUMMARY_POINTS):
            exp.log_metric("loss", 1 / (step + 1), step=step)
        exp.log_metric("acc", float("nan"))
    summary = read_summary(exp.path)
    assert summary is not None and summary.complete and summary.log is None and _objects(project) == []
    git(project, "add", "-A")
    git(project, "commit", "-qm", "a short run")
    clone = _clone(project, tmp_path / "clone")
    for where in (project, clone):
        history = Project(where).history("exp-001", "loss", max_points=10_000)
        assert history.source == "full" and history.series[0].values == [1 / (s + 1) for s in range(SUMMARY_POINTS)]
        folder = next(where.glob(".specweave/increments/*/experiments/exp-001-*"))
        lines = [json.loads(line) for line in full_log_bytes(folder).decode().splitlines()]
        assert len(lines) == SUMMARY_POINTS + 1
        assert [line["value"] for line in lines if line["key"] == "acc"] == ["NaN"]
    # one point more than the summary keeps: the log goes to the object store as before
    with track_experiment("longer", increment="0042") as longer:
        for step in range(SUMMARY_POINTS + 1):
            longer.log_metric("loss", 1 / (step + 1), step=step)
    assert read_summary(longer.path).log is not None and len(_objects(project)) == 1
    # ended before its first flush: the object is gzipped from the buffered lines, every point in it
    lines = [json.loads(line) for line in full_log_bytes(longer.path).decode().splitlines()]
    assert [(p["step"], p["value"]) for p in lines] == [(s, 1 / (s + 1)) for s in range(SUMMARY_POINTS + 1)]


def test_a_run_ending_before_its_first_flush_goes_straight_into_its_summary(project: Path) -> None:
    """No live log is made only to be removed: the buffered points are the summary's (no `live` bytes named),
    while a run that flushed first is settled from its log as before."""
    with track_experiment("quick", increment="0042") as quick:
        quick.log_metrics({"loss": 0.5, "acc": 0.9}, step=0)
        quick.log_metrics({"loss": 0.25, "acc": 0.95}, step=1)
    with track_experiment("flushed", increment="0042") as flushed:
        flushed.log_metric("loss", 0.5)
        flushed.flush()
        flushed.log_metric("loss", 0.25)
    for exp, live in ((quick, False), (flushed, True)):
        raw = json.loads((exp.path / "metrics.summary.json").read_text())
        assert ("live" in raw) is live and raw["log"] is None and not (exp.path / "metrics.jsonl").exists()
        assert read_summary(exp.path).metrics["loss"].values == [0.5, 0.25]
        assert json.loads((exp.path / "metrics.json").read_text())["loss"] == 0.25
        meta = yaml.safe_load((exp.path / "metadata.yaml").read_text())
        assert meta["status"] == "completed" and meta["log_bytes"] == len(full_log_bytes(exp.path))


def test_a_short_run_with_a_damaged_line_keeps_its_exact_log(project: Path) -> None:
    exp = track_experiment("damaged", increment="0042")
    exp.log_metric("loss", 0.5)
    exp.flush()
    with open(exp.path / "metrics.jsonl", "ab") as log:
        log.write(b"not a point\n")
    exp.end()
    summary = read_summary(exp.path)
    assert summary is not None and summary.damaged == 1 and summary.log is not None
    assert b"not a point" in full_log_bytes(exp.path)


@pytest.mark.parametrize("damage", ["not json", "times short", "count short"])
def test_a_damaged_summary_is_reported_by_every_reader_not_read_as_no_metric(project: Path, damage: str) -> None:
    """A short run's summary is its whole history in git. Edited or cut (a bad merge, a hostile clone), it is
    named with what is wrong wherever the history is read; it is never read short, nor as "no metric yet"."""
    with track_experiment("short", increment="0042") as exp:
        for step in range(20):
            exp.log_metric("loss", 1 / (step + 1), step=step)
    path = exp.path / "metrics.summary.json"
    raw = json.loads(path.read_text())
    if damage == "not json":
        path.write_text(path.read_text()[:40])
        why = "metrics.summary.json:"
    elif damage == "times short":
        raw["metrics"]["loss"]["dt"] = raw["metrics"]["loss"]["dt"][:10]
        path.write_text(json.dumps(raw))
        why = "metrics.loss: 20 values but 10 times (dt): one per kept point"
    else:
        raw["metrics"]["loss"]["count"] = 5
        path.write_text(json.dumps(raw))
        why = "metrics.loss: count 5 with 20 kept points (complete: every point kept)"
    assert read_summary(exp.path) is None
    run = Project(project).run("exp-001")
    detail = run.detail()
    assert any(why in problem for problem in detail.problems), detail.problems
    for read in (lambda: Project(project).history("exp-001", "loss"), lambda: run.curves("loss"), run.curves):
        with pytest.raises(DamagedFile, match=re.escape(why)):
            read()
    history = Project(project).history("exp-001")  # every metric: an answer that carries the problem
    assert history.series == [] and any(why in problem for problem in history.problems)
    out = sw("history", "exp-001", "loss", cwd=project)
    assert out.returncode == 4 and why in out.stderr and "no metric" not in out.stderr, out.stderr
    # the dashboard's curves: named as damaged, with why, not listed as a run that never logged the metric
    for curves in (Project(project).curves, Project(project, memo=True).live_curves):
        shown = curves(["exp-001"], "loss")
        assert shown.curves == [] and shown.missing == [] and len(shown.damaged) == 1, shown
        assert shown.damaged[0].startswith("0042-") and why in shown.damaged[0]


def test_a_float32_value_is_written_in_the_fewest_digits_that_give_it_back() -> None:
    """`short_f32` against its definition: the fewest of 6 to 9 significant digits that read back to the
    same float32, on values of every size and sign."""
    import random

    from skill.storage.float32 import short_f32, widen_f32

    rng = random.Random(7)
    values = [widen_f32(rng.uniform(-1, 1) * 10 ** rng.randint(-30, 30)) for _ in range(20_000)]
    values += [0.0, -0.0, 1.0, 0.5, 3.0, 1e10, widen_f32(0.1), widen_f32(3.4e38), widen_f32(1.4e-45)]
    for value in values:
        text = short_f32(value)
        fewest = next(f"{value:.{d}g}" for d in range(6, 10) if widen_f32(float(f"{value:.{d}g}")) == value)
        expected = fewest if "e" in fewest or "." in fewest else fewest + ".0"  # "2" would read back as an int
        assert text == expected and widen_f32(float(text)) == value, value


def test_float32_values_are_kept_in_fewer_digits_and_read_back_bit_for_bit(project: Path, tmp_path: Path) -> None:
    import struct

    def f32(x: float) -> float:  # what `loss.item()` of a float32 tensor hands over
        return struct.unpack("<f", struct.pack("<f", x))[0]

    values = [f32(1.0 / (i + 1) + (i * 7919 % 1000) / 1e5) for i in range(300)]
    with track_experiment("f32", increment="0042") as exp:
        for v in values:
            exp.log_metric("loss", v)
        exp.log_metric("lr", 0.1)  # a float64 metric beside it keeps every digit
        exp.log_metric("lr", float("nan"))
    text = (exp.path / "metrics.summary.json").read_text()
    loss_line = next(line for line in text.splitlines() if line.strip().startswith('"loss"'))
    assert '"f32":true' in loss_line and "0.34171334," in loss_line and "0.3417133390903473" not in loss_line
    assert '"f32"' not in next(line for line in text.splitlines() if line.strip().startswith('"lr"'))
    assert len(loss_line) < 0.65 * len(json.dumps([repr(v) for v in values]))
    git(project, "add", "-A")
    git(project, "commit", "-qm", "a float32 run")
    assert json.loads(text)["log"] is None  # every point is in the summary: no object to keep or push
    clone = _clone(project, tmp_path / "clone")  # the clone reads the summary, which is the whole log
    frame = metric_history_dataframe("exp-001", metrics=["loss", "lr"], root=clone)
    assert frame.attrs["source"] == "full"
    assert frame[frame.key == "loss"]["value"].tolist() == values  # the same floats, bit for bit
    assert frame[frame.key == "lr"]["value"].tolist()[0] == 0.1
    shown = Project(clone).run("exp-001").detail()
    assert shown.metrics["loss"] == values[-1]


def test_points_logged_after_the_end_join_the_settled_log(project: Path) -> None:
    """Lightning's Trainer ends the run in `fit()`'s finalize and logs `test()` after it."""
    code = """
from specweave import track_experiment
exp = track_experiment("late", increment="0042")
exp.log_metric("loss", 1.0, step=0)
exp.log_metric("loss", 0.5, step=1)
exp.end()
exp.log_metrics({"test/acc": 0.75}, step=2)
from skill.storage.run_summary import full_log_bytes
print(full_log_bytes(exp.path).count(b"\\n"), flush=True)  # before the settle: the settled log, then the late point
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=project, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "3"
    folder = next(project.glob(".specweave/increments/*/experiments/exp-001-*"))
    assert not (folder / "metrics.jsonl").exists()  # settled again at exit
    summary = read_summary(folder)
    assert summary is not None and set(summary.metrics) == {"loss", "test/acc"} and summary.points == 3
    lines = [json.loads(line) for line in full_log_bytes(folder).decode().splitlines()]
    assert [(line["key"], line["step"]) for line in lines] == [("loss", 0), ("loss", 1), ("test/acc", 2)]
    assert Project(project).history("exp-001", "loss").series[0].values == [1.0, 0.5]


@pytest.mark.slow
def test_a_million_point_run_is_bounded_in_git_and_in_memory(project: Path, tmp_path: Path) -> None:
    code = """
from specweave import track_experiment
from skill.project import Project
with track_experiment("million", increment="0042") as exp:
    log = exp.log_metric  # a million points through the API, faster than the flusher's one-second beat
    for i in range(1_000_000):
        log("loss", 1.0 / (i + 2) + (i % 1000) * 1e-6, step=i)
history = Project(".").history(exp.id, "loss", max_points=1000)
assert history.source == "full" and history.series[0].total_points == 1_000_000, history.series[0].total_points
# The peak of this process's own address space: getrusage's ru_maxrss survives exec, so it would count the
# pytest worker this was forked from (several hundred MB once it has loaded the frameworks).
print(next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:")) // 1024)
"""
    if not Path("/proc/self/status").exists():
        pytest.skip("the peak is read from /proc/self/status (Linux)")
    done = subprocess.run([sys.executable, "-c", code], cwd=project, capture_output=True, text=True, timeout=300,
                          env={"PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1", "HOME": str(tmp_path),
                               "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.split()[-1]) < 300, done.stdout  # MB: the settle and the read of 1M points
    folder = next(project.glob(".specweave/increments/*/experiments/exp-001-*"))
    assert _git_bytes(project, folder) < 64 * 1024


def _killed_after_a_flush(project: Path, points: int) -> Path:
    """The folder of a run whose process logged `points` points, flushed them and was killed (SIGKILL)."""
    code = f"""
import time
from specweave import track_experiment
exp = track_experiment("doomed", increment="0042")
for i in range({points}):
    exp.log_metric("loss", 1 / (i + 1))
exp.flush()
print("flushed", flush=True)
time.sleep(60)
"""
    env = {"PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1", "HOME": str(project), "PATH": "/usr/bin:/bin"}
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=project, env=env, stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == b"flushed"
    proc.kill()
    proc.wait(timeout=10)
    return next(project.glob(".specweave/increments/*/experiments/exp-001-*"))


def test_sigkill_then_read_settles_the_log_and_loses_nothing(project: Path) -> None:
    folder = _killed_after_a_flush(project, 5000)
    assert (folder / "metrics.jsonl").exists() and not (folder / "metrics.summary.json").exists()
    record = Project(project).experiment("exp-001")
    assert record.status == "crashed" and not record.problems
    assert not (folder / "metrics.jsonl").exists()  # the read settled it
    summary = read_summary(folder)
    assert summary is not None and summary.metrics["loss"].count == 5000
    lines = full_log_bytes(folder).decode().splitlines()
    assert [json.loads(line)["step"] for line in lines] == list(range(5000))


def test_a_settle_killed_before_it_removed_the_log_does_not_take_it_twice(project: Path) -> None:
    """Settling writes the summary, then removes the live log: a kill between the two leaves both, and the
    next settle must see that the summary already holds that log."""
    from skill.storage.atomic_writes import atomic_write
    from skill.storage.run_summary import build_and_store, render_summary, store_of, summary_path

    folder = _killed_after_a_flush(project, 600)
    # a reader's settle of the crashed run, killed after writing the summary and before removing the log
    atomic_write(summary_path(folder), render_summary(build_and_store(folder, store_of(folder))))
    assert (folder / "metrics.jsonl").exists()
    record = Project(project).experiment("exp-001")  # the next read settles it again
    assert record.status == "crashed" and not (folder / "metrics.jsonl").exists()
    assert read_summary(folder).metrics["loss"].count == 600
    assert len(full_log_bytes(folder).splitlines()) == 600


def test_two_clones_note_and_tag_one_run_and_merge_with_nothing_lost(tmp_path: Path) -> None:
    origin = init_repo(tmp_path / "origin")
    with track_experiment("shared", increment="0042", root=origin) as exp:
        exp.log_metric("auc", 0.8)
    git(origin, "add", "-A")
    git(origin, "commit", "-qm", "a run")
    bare = tmp_path / "shared.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(origin), str(bare)], check=True, capture_output=True)
    a, b = _clone(bare, tmp_path / "a"), _clone(bare, tmp_path / "b")
    for clone, who in ((a, "alice"), (b, "bob")):
        git(clone, "config", "user.email", f"{who}@example.com")
        git(clone, "config", "user.name", who)
        assert sw("add-note", "exp-001", f"checked by {who}", cwd=clone).returncode == 0
        assert sw("tag", "exp-001", f"ok-{who}", cwd=clone).returncode == 0
        git(clone, "add", "-A")
        git(clone, "commit", "-qm", f"{who}'s review")
    git(a, "push", "-q", "origin", "HEAD:main")
    done = subprocess.run(["git", "pull", "-q", "--no-rebase", "origin", "main"], cwd=b, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout + done.stderr  # no conflict
    record = Project(b).experiment("exp-001")
    assert {n.text for n in record.meta.notes} >= {"checked by alice", "checked by bob"}
    assert {"ok-alice", "ok-bob"} <= set(record.meta.tags)
    assert not yaml.safe_load((record.path / "metadata.yaml").read_text()).get("notes")  # untouched
    shown = sw("show-experiment", "exp-001", "--json", cwd=b)
    assert "checked by alice" in shown.stdout and "ok-bob" in shown.stdout


def test_migrate_moves_old_logs_and_changes_nothing_else(project: Path, tmp_path: Path) -> None:
    with track_experiment("new", increment="0042") as exp:
        for i in range(2000):
            exp.log_metric("loss", 1 / (i + 1))
    log = full_log_bytes(exp.path)
    old = exp.path.parent / "exp-002-old.abcdef"
    old.mkdir()
    for name in ("params.json", "metrics.json"):
        (old / name).write_bytes((exp.path / name).read_bytes())
    meta = yaml.safe_load((exp.path / "metadata.yaml").read_text())
    meta.update(schema_version=2, id="exp-002-old", uid="abcdef", name="old")
    (old / "metadata.yaml").write_text(yaml.safe_dump(meta))
    (old / "metrics.jsonl").write_bytes(log)  # version 2: every point in git
    git(project, "add", "-A")
    git(project, "commit", "-qm", "an old run")
    before = {p.name: p.read_bytes() for p in old.iterdir()}
    # reading never moves it
    for args in (("list-experiments", "0042"), ("show-experiment", "exp-002"), ("history", "exp-002", "loss"),
                 ("export-experiments", "0042", "--format", "json", "-o", str(tmp_path / "x.json"))):
        assert sw(*args, cwd=project).returncode == 0, args
    assert Project(project).history("exp-002", "loss").source == "full"
    assert {p.name: p.read_bytes() for p in old.iterdir()} == before
    dry = sw("migrate", "--dry-run", "--json", cwd=project)
    assert dry.returncode == 0 and json.loads(dry.stdout)["migrated"] == ["0042-experiments/exp-002-old"]
    assert (old / "metrics.jsonl").exists()
    done = Project(project).migrate()
    assert done.migrated == ["0042-experiments/exp-002-old"] and done.log_bytes == len(log)
    after = {p.name: p.read_bytes() for p in old.iterdir()}
    assert set(after) == set(before) - {"metrics.jsonl"} | {"metrics.summary.json"}
    assert all(after[name] == before[name] for name in before if name != "metrics.jsonl")
    assert full_log_bytes(old) == log
    history = Project(project).history("exp-002", "loss", max_points=5000)
    assert history.source == "full" and history.series[0].values == [1 / (i + 1) for i in range(2000)]
    assert Project(project).migrate().migrated == []  # nothing left to move


def _folders_with_one_log(project: Path, names: tuple[str, ...], points: list[tuple]) -> dict[str, object]:
    """Run folders in a store, each with the same points appended by its own buffer in three flushes; the
    buffers, by folder name."""
    from skill.storage.metrics_writer import MetricsBuffer

    buffers = {}
    for name in names:
        folder = project / ".specweave" / "increments" / "0001-x" / "experiments" / name
        folder.mkdir(parents=True)
        buffer = buffers[name] = MetricsBuffer(folder)
        for i, (key, value, step, ts) in enumerate(points):
            buffer.log_at(key, value, step, ts)
            if i in (10, len(points) // 2):
                assert buffer.flush()
        assert buffer.close()
    return buffers


def _hostile_points() -> list[tuple]:
    import random
    import struct

    rng = random.Random(7)
    keys = ["loss", 'a "quoted" key\\', "tab\tkey", "ünïcode ключ", "lr"]
    specials = [float("nan"), float("inf"), float("-inf"), 0.0, -0.0, 1e-310, 1.7976931348623157e308]
    base = 1_796_000_000.0
    points = []
    for i in range(3000):  # loss past the summary's points: an object is needed
        key = "loss" if i % 2 else rng.choice(keys)
        value = rng.choice(specials) if i % 97 == 0 else (
            struct.unpack("<f", struct.pack("<f", rng.random()))[0] if i % 3 else rng.gauss(0, 1e3))
        ts = base + i * 0.0005 + (0.0004999 if i % 5 == 0 else 0)  # on and beside the millisecond's halves
        points.append((key, value, rng.randrange(-5, 10_000) if i % 11 == 0 else i, ts))
    return points


def test_a_run_settled_from_the_points_it_wrote_is_the_run_settled_from_its_log(project: Path) -> None:
    """A run's own settle takes the points its buffer appended instead of parsing its log back: the summary
    and the object are byte for byte what a reader settling the same log makes, NaN, odd keys and
    millisecond rounding included."""
    from skill.storage.run_summary import render_summary, settle

    points = _hostile_points()
    buffers = _folders_with_one_log(project, ("exp-001-mem.aaaaaa", "exp-002-file.bbbbbb"), points)
    mem, from_file = (project / ".specweave/increments/0001-x/experiments" / n for n in buffers)
    log = (mem / "metrics.jsonl").read_bytes()
    written = buffers[mem.name].take_written()
    assert written is not None and written.size == len(log) and buffers[mem.name].take_written() is None
    a, b = settle(mem, written=written), settle(from_file)
    assert a.log is not None and a.damaged == 0 and a.points == len(points)
    assert render_summary(a) == render_summary(b)
    assert (mem / "metrics.summary.json").read_bytes() == (from_file / "metrics.summary.json").read_bytes()
    assert full_log_bytes(mem) == full_log_bytes(from_file) == log
    assert not (mem / "metrics.jsonl").exists()


def test_points_another_writer_added_to_the_log_are_read_from_it(project: Path) -> None:
    """The points in memory stand for the log only while the log is exactly what the buffer wrote: a line
    another process appended sends the settle to the file, and a buffer that finds a log begun before it
    (a resumed run) keeps nothing."""
    from skill.storage.metrics_writer import MetricsBuffer
    from skill.storage.run_summary import settle

    points = [("loss", 1.0 / (i + 1), i, 1_796_000_000.0 + i) for i in range(50)]
    (name,) = _folders_with_one_log(project, ("exp-001-shared.cccccc",), points).items()
    folder = project / ".specweave/increments/0001-x/experiments" / name[0]
    written = name[1].take_written()
    assert written is not None and len(written.chunks) == 3
    with (folder / "metrics.jsonl").open("ab") as out:  # another process's line, after the run's own
        out.write(b'{"key":"acc","step":0,"ts":1796000051.000,"value":0.25}\n')
    summary = settle(folder, written=written)
    assert summary.metrics["loss"].count == 50 and summary.metrics["acc"].count == 1

    (name,) = _folders_with_one_log(project, ("exp-002-resumed.dddddd",), points[:5])
    folder = project / ".specweave/increments/0001-x/experiments" / name
    resumed = MetricsBuffer(folder)
    resumed.log_at("loss", 0.5, 50, 1_796_000_050.0)
    assert resumed.close() and resumed.take_written() is None
    assert settle(folder).metrics["loss"].count == 6


@pytest.mark.parametrize("kind", ["symlink", "hard link", "fifo"])
def test_migrate_refuses_a_log_that_is_not_the_folders_own_file_and_says_so(project: Path, tmp_path: Path,
                                                                            kind: str) -> None:
    """A version 2 log that is a link out of the store, a file shared by hard links or a FIFO is left where it
    is, named with why: never read into a summary git keeps, never counted as moved."""
    with track_experiment("model", increment="0042") as exp:
        exp.log_metric("loss", 0.5)
    old = exp.path.parent / "exp-002-old.abcdef"
    old.mkdir()
    meta = yaml.safe_load((exp.path / "metadata.yaml").read_text())
    meta.update(schema_version=2, id="exp-002-old", uid="abcdef", name="old")
    (old / "metadata.yaml").write_text(yaml.safe_dump(meta))
    outside = tmp_path / "private.jsonl"
    outside.write_text('{"key": "secret", "step": 0, "value": 42.0, "ts": 1.0}\n')
    log = old / "metrics.jsonl"
    {"symlink": lambda: log.symlink_to(outside), "hard link": lambda: os.link(outside, log),
     "fifo": lambda: os.mkfifo(log)}[kind]()
    why = {"symlink": "is a symbolic link", "hard link": "has more than one hard link",
           "fifo": "not a regular file"}[kind]
    for dry_run in (True, False):
        done = Project(project).migrate(dry_run=dry_run)
        assert done.migrated == [] and done.log_bytes == 0
        assert len(done.skipped) == 1 and done.skipped[0].startswith(f"0042-experiments/exp-002-old: metrics.jsonl {why}")
    assert not (old / "metrics.summary.json").exists() and os.path.lexists(log)
    # the relative path a script in the project passes is checked as the absolute one
    from skill.storage.run_summary import settle

    if kind == "hard link":  # the project is the working directory
        assert settle(old.relative_to(project)) is None and not (old / "metrics.summary.json").exists()
    assert outside.read_text().startswith('{"key": "secret"')
