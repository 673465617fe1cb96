"""The run handle (`Project.run`): a reference resolved once, then every per-run operation on that run,
answering what the per-run Project methods answer, on real stores logged with track_experiment."""

from __future__ import annotations

from pathlib import Path

import pytest

from skill.errors import AmbiguousReference, InvalidInput, NotFound, ReadOnly
from skill.project import Project, RunHandle
from skill.tracking.track import track_experiment

INC = "0042-churn"
OTHER = "0043-churn-again"


def make_store(root: Path) -> Path:
    """Three runs in 0042 (a loss curve each, an artifact, a decision for the second; two named lgbm) and
    a run in 0043 (the newest increment)."""
    for name, depth, inc in (("xgb", 3, INC), ("lgbm", 6, INC), ("lgbm", 5, INC), ("xgb", 4, OTHER)):
        with track_experiment(name, increment=inc, root=root) as exp:
            exp.log_params({"max_depth": depth, "seed": 7})
            for step in range(50):
                exp.log_metric("val_loss", 1.0 / (step + 1) + depth / 100, step=step)
            exp.log_metric("auc", 0.8 + depth / 100)
            exp.save_artifact("notes.txt", f"depth {depth}\n")
    project = Project(root)
    project.log_decision(project.experiments(INC)[1].id, "deeper trees won", increment=INC)
    return root


@pytest.fixture
def store(project: Path) -> Project:
    return Project(make_store(project))


def test_a_handle_resolves_by_the_scope_rule_and_errors_like_experiment(store: Project) -> None:
    first = store.experiments(INC)[0]
    run = store.run(first.id, INC)
    assert isinstance(run, RunHandle)
    assert run.record.path == first.path
    assert run.ref == f"0042/{first.id}" and run.key == f"{INC}/{first.dir}"
    assert store.run(run.key).record.path == first.path  # the page's key resolves to the same run
    with pytest.raises(NotFound) as missing:
        store.run("exp-999")
    with pytest.raises(NotFound) as missing_too:
        store.experiment("exp-999")
    assert str(missing.value) == str(missing_too.value)
    with pytest.raises(AmbiguousReference) as ambiguous:
        store.run("lgbm", INC)  # the name of two runs of 0042
    with pytest.raises(AmbiguousReference) as ambiguous_too:
        store.experiment("lgbm", INC)
    assert str(ambiguous.value) == str(ambiguous_too.value)


def test_reads_through_the_handle_equal_the_project_methods(store: Project) -> None:
    ref = store.experiments(INC)[1].id
    run = store.run(ref, INC)
    assert run.detail() == store.detail(ref, INC)
    shown = run.show()
    assert shown.id == ref and shown.ref == f"0042/{ref}" and shown.params["max_depth"] == 6
    assert run.history("val_loss", 10) == store.history(ref, "val_loss", 10, INC)
    assert run.history().series[0].key in {"auc", "val_loss"}
    assert run.stats() == store.metric_stats(ref, INC)
    assert run.view() == store.run_view(ref, INC)
    assert [a.name for a in run.artifacts()] == ["notes.txt"]
    assert run.artifact_path("notes.txt") == store.artifact_path(ref, "notes.txt", INC)
    info, data = run.read_artifact("notes.txt")
    assert data == b"depth 6\n" and info.name == "notes.txt"
    assert [d.rationale for d in run.decisions()] == ["deeper trees won"]
    assert store.run(store.experiments(INC)[0].id, INC).decisions() == []
    with pytest.raises(NotFound):
        run.read_artifact("model.pkl")


def test_curves_hold_each_metrics_stats_and_a_downsampled_curve(store: Project) -> None:
    run = store.run(store.experiments(INC)[0].id, INC)
    answer = run.curves(max_points=10)
    assert answer.source == "full"
    assert sorted(answer.curves) == ["auc", "val_loss"]
    loss = answer.curves["val_loss"]
    assert loss.total_points == 50 and loss.downsampled and len(loss.steps) <= 10
    assert loss.steps[0] == 0 and loss.steps[-1] == 49  # first and last kept
    stats = {s.key: s for s in answer.stats}
    assert stats["val_loss"].goal == "min" and stats["val_loss"].best_step == 49
    assert run.curves("auc").curves.keys() == {"auc"}
    with pytest.raises(NotFound, match="val_los"):
        run.curves("val_los")
    with pytest.raises(InvalidInput, match="max_points"):
        run.curves(max_points=1)


def test_edits_through_the_handle_keep_it_current_and_respect_read_only(store: Project) -> None:
    ref = store.experiments(INC)[0].id
    run = store.run(ref, INC)
    summary = run.tag(add=["baseline"])
    assert "baseline" in summary.tags and "baseline" in run.tags()
    assert "baseline" in store.experiment(ref, INC).tags
    run.add_note("a first try")
    assert [n.text for n in run.notes()] == ["a first try"]
    assert run.set_status("failed").status == "failed"
    assert store.experiment(ref, INC).status == "failed"
    with pytest.raises(InvalidInput, match="tag"):
        run.tag()
    frozen = Project(store.root, read_only=True).run(ref, INC)
    with pytest.raises(ReadOnly):
        frozen.add_note("no")
    with pytest.raises(ReadOnly):
        frozen.tag(add=["x"])
    assert "no" not in [n.text for n in store.run(ref, INC).notes()]


def test_diff_takes_a_handle_or_a_reference_and_equals_project_diff(store: Project) -> None:
    a, b = (r.id for r in store.experiments(INC)[:2])
    run = store.run(a, INC)
    by_handle = run.diff(store.run(b, INC))
    by_ref = run.diff(f"0042/{b}")
    assert by_handle == by_ref == store.diff(a, b, INC)
    assert by_handle.params.changed["max_depth"] == [3, 6]
    with pytest.raises(InvalidInput, match="max_code_bytes"):
        run.diff(b, max_code_bytes=-1)


def test_default_increment_is_the_active_then_newest_and_none_without_any(store: Project, tmp_path: Path) -> None:
    assert store.default_increment().id == OTHER  # the newest (none is active)
    assert store.default_increment("0042").id == INC
    with pytest.raises(NotFound):
        store.default_increment("0099")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert Project(empty).default_increment() is None


def test_primary_metric_is_the_one_compare_ranks_by(store: Project) -> None:
    chosen = store.primary_metric(INC)
    comparison = store.compare(INC, write_report=False)
    assert (chosen.metric, chosen.goal) == (comparison.primary_metric, comparison.goal) == ("auc", "max")
    assert chosen.metric_source == "shared" and chosen.goal_source == "inferred"
    given = store.primary_metric(INC, "val_loss")
    assert (given.metric, given.goal, given.metric_source) == ("val_loss", "min", "given")
    with pytest.raises(InvalidInput, match="primary metric"):
        store.primary_metric(INC, "nope")


def test_lists_are_limited_and_ordered_by_the_core(store: Project) -> None:
    everything = store.experiments(INC)
    assert store.experiments(INC, limit=2) == everything[:2]
    with pytest.raises(InvalidInput, match="limit"):
        store.experiments(INC, limit=0)
    assert [r.id for r, _depth in store.stages(everything)] == [r.id for r in everything]
    assert store.metric_columns(everything) == ["auc", "val_loss"]
    assert store.metric_columns(everything, 1) == ["auc"]
    page = store.compare_page(INC, limit=1, write_report=False)
    assert page.total == 3 and len(page.rows) == 1 and page.next_cursor
    assert page.rows[0].id == page.best
    rest = store.rank_page(store.compare(INC, write_report=False), cursor=page.next_cursor, limit=5)
    assert [r.id for r in rest.rows] and page.rows[0].id not in [r.id for r in rest.rows]


def test_selected_else_best_is_one_rule_of_the_table(store: Project) -> None:
    table = store.runs_table([INC])
    chosen = table.best_row()
    assert chosen is not None and chosen.selected  # the decision's run, though the metric may rank another
    assert chosen.id == store.compare(INC, write_report=False).best
    undecided = store.runs_table([OTHER]).best_row()
    assert undecided is not None and undecided.best and not undecided.selected
