"""The views' core (skill/views through Project): table, curves, smoothing, stats, parallel, compare,
the live watch and the bundle, on real stores logged with track_experiment."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from skill.errors import InvalidInput, NotFound
from skill.project import Project
from skill.tracking.track import track_experiment
from skill.views.curves import ema, minmax_indices, sparkline
from tests.fixtures import INC, REPO, png, sample_store



@pytest.fixture
def store(project: Path) -> Project:
    return Project(sample_store(project, "views"))


def test_minmax_downsampling_keeps_first_last_and_every_extreme() -> None:
    values = [math.sin(i / 50) for i in range(10_000)]
    values[1234], values[7777] = 50.0, -50.0  # one spike up, one down
    kept = minmax_indices(values, 200)
    assert len(kept) <= 200
    assert kept[0] == 0 and kept[-1] == 9999 and kept == sorted(kept)
    assert 1234 in kept and 7777 in kept
    assert max(values[i] for i in kept) == 50.0 and min(values[i] for i in kept) == -50.0
    assert minmax_indices(values[:150], 200) == list(range(150))  # short series: every point


def test_ema_is_tensorboards_debiased_average() -> None:
    assert ema([1.0, 2.0, 3.0], 0.0) == [1.0, 2.0, 3.0]
    smoothed = ema([1.0, 3.0, None, 5.0], 0.5)
    # debiased: the first point is itself, not pulled to 0; a gap stays a gap and does not move the average
    assert smoothed[0] == pytest.approx(1.0)
    assert smoothed[1] == pytest.approx((0.25 + 1.5) / 0.75)
    assert smoothed[2] is None
    assert smoothed[3] == pytest.approx((0.875 + 2.5) / 0.875)
    with pytest.raises(InvalidInput, match="smoothing"):
        ema([1.0], 1.0)


def test_runs_table_marks_best_and_decision_and_filters_with_where(store: Project) -> None:
    table = store.runs_table()
    assert table.increments == [INC]
    assert table.primary_metric == "accuracy" and table.goal == "max"
    assert [r.best for r in table.rows] == [True, False, False]
    assert set(table.param_columns) == {"booster", "learning_rate", "max_depth"}
    assert "test/logloss" in table.curve_metrics
    store.log_decision("exp-002", "deeper trees generalise on the holdout")
    table = store.runs_table()
    assert [r.selected for r in table.rows] == [False, True, False]
    assert table.decisions[-1].selected.startswith("exp-002")
    kept = store.runs_table(where="params.max_depth > 3 and metrics.accuracy < 0.87")
    assert [r.name for r in kept.rows] == ["gbm-c"]
    with pytest.raises(InvalidInput, match="params.max_deptj"):
        store.runs_table(where="params.max_deptj > 3")


def test_curves_are_downsampled_on_the_server_and_keep_the_minimum(store: Project) -> None:
    keys = [r.key for r in store.runs_table().rows]
    full = store.curves(keys, "test/logloss")
    assert [c.total_points for c in full.curves] == [100, 100, 100] and not full.curves[0].downsampled
    small = store.curves(keys, "test/logloss", max_points=10)
    a = small.curves[0]
    assert a.downsampled and len(a.values) <= 10
    assert min(v for v in a.values if v is not None) == pytest.approx(0.106)
    assert a.steps[a.values.index(min(a.values))] == 45  # the bottom survives, at its step
    assert a.t[0] == 0.0 and a.t == sorted(a.t)
    accuracy = store.curves(keys[:1], "no-such-metric")
    assert accuracy.curves == [] and accuracy.missing == keys[:1]
    with pytest.raises(InvalidInput, match="max_points"):
        store.curves(keys, "test/logloss", max_points=1)


def test_metric_stats_find_the_best_step_by_the_metrics_goal(store: Project) -> None:
    stats = {s.key: s for s in store.metric_stats("exp-001")}
    loss = stats["test/logloss"]
    assert loss.goal == "min" and loss.best == pytest.approx(0.106) and loss.best_step == 45
    assert loss.last == pytest.approx(0.165) and loss.last_step == 99
    assert loss.max == pytest.approx(0.106 + 45 ** 2 / 20000) and loss.max_step == 0 and loss.count == 100
    assert len(loss.sparkline) == 40 and loss.sparkline[0] == "█" and "▁" in loss.sparkline
    assert stats["accuracy"].goal == "max" and stats["accuracy"].best == 0.91
    assert sparkline([]) == "" and sparkline([1.0, 1.0]) == "▁▁"


def test_run_view_has_artifacts_stats_and_decisions(store: Project) -> None:
    store.log_decision("exp-001", "lowest log-loss")
    view = store.run_view("exp-001")
    assert view.row.params["max_depth"] == 3
    assert [a.info.name for a in view.artifacts] == ["confusion_matrix.png"] and view.artifacts[0].image
    assert view.decisions[0].rationale == "lowest log-loss"
    assert {s.key for s in view.stats} == {"test/logloss", "accuracy"}
    path = store.artifact_path("exp-001", "confusion_matrix.png")
    assert path.read_bytes() == png()


def test_parallel_view_and_importance(store: Project) -> None:
    view = store.parallel()
    names = [a.name for a in view.axes]
    assert names[-1] == "accuracy" and {"max_depth", "learning_rate", "booster"} <= set(names)
    booster = next(a for a in view.axes if a.name == "booster")
    assert booster.kind == "category" and booster.categories == ["dart", "gbtree"]
    assert len(view.runs) == 3 and view.importance and abs(sum(p.importance for p in view.importance) - 1) < 1e-6
    with pytest.raises(InvalidInput, match="metric"):
        store.parallel(metric="nope")


def test_compare_view_ranks_the_selected_runs(store: Project) -> None:
    keys = [r.key for r in store.runs_table().rows]
    (view,) = store.compare_view(keys[1:])
    assert view.best and view.best.startswith("exp-002") and view.runs[0] == keys[1]
    assert "max_depth" not in view.differing_params and "learning_rate" in view.differing_params
    assert view.reasons
    with pytest.raises(InvalidInput):
        store.compare_view([])
    with pytest.raises(NotFound):
        store.compare_view(["exp-999"])


def test_store_watch_pushes_appended_points_and_new_runs_only(store: Project, project: Path) -> None:
    watch = store.watch([INC], "accuracy")
    assert watch.poll() == []  # the first look is the baseline: nothing is re-sent
    run = store.experiment("exp-001")
    log = Path(run.path) / "metrics.jsonl"
    with log.open("a") as handle:
        handle.write('{"key":"test/logloss","step":100,"ts":1e9,"value":0.2}\n{"key":"test/logloss","st')
    events = watch.poll()
    assert events == [{"type": "points", "run": f"{INC}/{run.dir}",
                       "points": {"test/logloss": [[100, pytest.approx(1e9 - watch.starts[Path(run.path)], abs=1e-3),
                                                    0.2]]}}]
    with log.open("a") as handle:  # the half-written line is read once it is whole
        handle.write('ep":101,"ts":1e9,"value":"NaN"}\n')
    assert watch.poll()[0]["points"]["test/logloss"][0][::2] == [101, None]
    with track_experiment("gbm-d", increment=INC, root=project) as exp:
        exp.log_metric("test/logloss", 0.5)
    events = watch.poll()
    rows = [e["row"] for e in events if e["type"] == "run"]
    assert [r["name"] for r in rows] == ["gbm-d"] and rows[0]["status"] == "completed"
    assert watch.poll() == []


def test_store_watch_sends_a_run_again_when_a_later_edit_changes_its_row(store: Project) -> None:
    """A tag or note set after a run ended goes to its edits.jsonl, not metadata.yaml (edits merge by
    union): an open page hears of it as it does of a change to metadata.yaml."""
    watch = store.watch([INC], "accuracy")
    watch.poll()
    store.tag("exp-001", add=["production"])
    rows = [e["row"] for e in watch.poll() if e["type"] == "run"]
    assert [r["name"] for r in rows] == [store.experiment("exp-001").meta.name] and "production" in rows[0]["tags"]
    store.add_note("exp-001", "checked on the holdout set")
    assert [e["type"] for e in watch.poll()] == ["run"]
    assert watch.poll() == []


def test_store_watch_sends_the_points_of_a_run_that_ended_between_two_polls(store: Project, project: Path) -> None:
    """A short run's log is settled into its summary (no object) as it ends: the points logged after the
    last poll still reach the page, read back from the summary (the page skips steps it drew already)."""
    exp = track_experiment("between", increment=INC, root=project)
    exp.log_metric("loss", 0.9, step=0)
    exp.flush()
    watch = store.watch([INC], "accuracy")
    watch.poll()
    exp.log_metric("loss", 0.5, step=1)
    exp.log_metric("loss", 0.25, step=2)
    exp.end()
    assert not (exp.path / "metrics.jsonl").exists()
    points = [e for e in watch.poll() if e["type"] == "points"]
    assert len(points) == 1 and [p[0] for p in points[0]["points"]["loss"]][-2:] == [1, 2]
    assert points[0]["points"]["loss"][-1][2] == 0.25
    assert [e for e in watch.poll() if e["type"] == "points"] == []  # sent once


def test_view_bundle_fits_its_point_budget_and_embeds_images(store: Project) -> None:
    bundle = store.view_bundle(point_budget=60, max_points=1000)
    curves = bundle.curves["test/logloss"]
    assert list(bundle.curves) == ["test/logloss"]  # accuracy was logged once: no curve
    assert curves.max_points == 20 and all(len(c.values) <= 20 for c in curves.curves)  # 60 points, 3 runs
    assert bundle.metric == "test/logloss" and len(bundle.selection) == 3
    image = bundle.images[f"{bundle.table.rows[0].key}/confusion_matrix.png"]
    assert image.startswith("data:image/png;base64,")
    json.loads(bundle.model_dump_json())  # valid JSON: no bare NaN anywhere
    assert bundle.parallel is not None and bundle.compare


def test_the_views_load_only_when_used() -> None:
    """`import specweave`, a tracked run and the MCP server's start import no view, dashboard or bokeh code."""
    code = ("import sys, tempfile; import specweave; from mcp_server.server import build_server\n"
            "d = tempfile.mkdtemp(); build_server(d)\n"
            "with specweave.track_experiment('x', root=d) as e: e.log_metric('m', 1)\n"
            "bad = [m for m in sys.modules if m.split('.')[0] == 'bokeh' or "
            "m.startswith(('skill.views.', 'specweave.ui'))]\n"
            "print(bad)")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
