"""compare_experiments: the seed's table, the best model and its reasons, overrides and marks."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from tests.fixtures import INC_DIR, make_increment, sample_store, sw, write_decision, write_experiment

from skill.analysis.compare import compare_experiments
from skill.analysis.metric_names import cv_std, infer_goal, metric_title
from skill.errors import AmbiguousReference, InvalidInput, NotFound

SNAPSHOTS = Path(__file__).parent / "snapshots"


def check_snapshot(name: str, text: str) -> None:
    path = SNAPSHOTS / name
    if os.environ.get("UPDATE_SNAPSHOTS"):
        path.write_text(text, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == text, f"{name} changed; rerun with UPDATE_SNAPSHOTS=1 if intended"


def test_seed_comparison_example_runs_as_written(project: Path) -> None:
    sample_store(project, "seed-comparison")
    from specweave import compare_experiments as facade

    comparison = facade(increment="0042")
    report = project / ".specweave/increments/0042-recommendation-model/experiments/comparison.md"
    assert comparison.report_path == report and report.read_text(encoding="utf-8") == comparison.markdown
    lines = comparison.markdown.splitlines()
    # the seed's table, cell for cell; unpadded, so that adding a run never rewrites the other rows
    table = [
        "| Experiment | Accuracy | Precision | Recall | F1 | Training Time |",
        "|---|---|---|---|---|---|",
        "| exp-001-baseline | 0.65 | 0.60 | 0.55 | 0.57 | 2s |",
        "| exp-002-xgboost | 0.87 | 0.85 | 0.83 | 0.84 | 45s |",
        "| exp-003-lightgbm | 0.86 | 0.84 | 0.82 | 0.83 | 32s |",
        "| exp-004-neural-net | 0.85 | 0.83 | 0.81 | 0.82 | 320s |",
    ]
    start = lines.index(table[0])
    assert lines[start:start + 6] == table
    assert "**Best Model**: exp-002-xgboost" in lines
    assert any(line.startswith("- Highest accuracy (0.87 vs 0.86 for exp-003-lightgbm") for line in lines)
    assert "- Training time 45s (candidates: 2s to 320s)" in lines
    assert comparison.best == comparison.computed_best == "exp-002-xgboost"
    assert comparison.runner_up == "exp-003-lightgbm"
    df = comparison.dataframe
    slugs = ["baseline", "xgboost", "lightgbm", "neural-net"]
    assert list(df["id"]) == [f"exp-00{i}-{s}" for i, s in enumerate(slugs, 1)]
    assert {"accuracy", "precision", "recall", "f1", "training_time_s", "params.model"} <= set(df.columns)
    assert "params.random_state" not in df.columns  # the same everywhere: not a differing param
    assert df.loc[df["id"] == "exp-002-xgboost", "best"].item()


def test_snapshot_of_comparison_md(tmp_path: Path) -> None:
    sample_store(tmp_path, "seed-living-docs")
    comparison = compare_experiments(tmp_path, "0042")
    check_snapshot("comparison.md", comparison.markdown)
    # the snapshot shows the override, the CV warning and the failed run
    assert comparison.decision is not None and comparison.best == "exp-003-xgboost"
    assert any("within the cross-validation std" in w for w in comparison.warnings)


def test_failed_crashed_damaged_and_metricless_are_marked_never_best(tmp_path: Path) -> None:
    inc = make_increment(tmp_path, "0001-models")
    write_experiment(inc, 1, "ok", metrics={"auc": 0.70})
    write_experiment(inc, 2, "failed-high", metrics={"auc": 0.99}, status="failed")
    write_experiment(inc, 3, "killed-high", metrics={"auc": 0.98}, status="killed")
    crashed = write_experiment(inc, 4, "crashed-high", metrics={"auc": 0.97}, status="running")  # stale heartbeat
    damaged = write_experiment(inc, 5, "damaged-high", metrics={"auc": 0.96})
    (damaged / "params.json").write_text('{"max_depth": ', encoding="utf-8")
    write_experiment(inc, 6, "empty", metrics={})
    write_experiment(inc, 7, "nan", metrics={"auc": float("nan")})
    c = compare_experiments(tmp_path, "0001")
    assert c.best == "exp-001-ok"
    marks = {row.id: row.marks for row in c.rows}
    assert marks["exp-002-failed-high"] == ["failed"]
    assert marks["exp-003-killed-high"] == ["killed"]
    assert marks["exp-004-crashed-high"] == ["crashed"] and crashed.exists()
    assert marks["exp-005-damaged-high"] == ["damaged"]
    assert marks["exp-006-empty"] == ["no metrics"]
    assert marks["exp-007-nan"] == ["auc is not finite"]
    assert "| exp-002-failed-high (failed) " in c.markdown
    where = ".specweave/increments/0001-models/experiments/exp-005-damaged-high.u00005/params.json:1"
    assert f"exp-005-damaged-high: {where}" in c.markdown


def test_only_unrankable_experiments_gives_no_best(tmp_path: Path) -> None:
    inc = make_increment(tmp_path, "0001-models")
    write_experiment(inc, 1, "boom", status="failed", metrics={})
    c = compare_experiments(tmp_path, "0001", write_report=False)
    assert c.best is None and c.report_path is None
    assert "**Best Model**: none" in c.markdown


@pytest.mark.parametrize("name, goal", [
    ("val_loss", "min"), ("rmse", "min"), ("mae", "min"), ("logloss", "min"), ("training_time", "min"),
    ("error_rate", "min"), ("accuracy", "max"), ("auc", "max"), ("f1", "max"), ("r2", "max"), ("recall", "max"),
    ("neg_mean_squared_error", "max"), ("widgets", None),
])
def test_goal_inferred_from_name(name: str, goal: str | None) -> None:
    assert infer_goal(name) == goal


@pytest.mark.parametrize("name, title", [("f1", "F1"), ("val_loss", "Val Loss"), ("roc_auc", "ROC AUC"),
                                         ("accuracy", "Accuracy")])
def test_metric_titles(name: str, title: str) -> None:
    assert metric_title(name) == title


def test_lower_is_better_and_goal_override(tmp_path: Path) -> None:
    inc = make_increment(tmp_path, "0001-models")
    write_experiment(inc, 1, "a", metrics={"rmse": 2.0})
    write_experiment(inc, 2, "b", metrics={"rmse": 1.5})
    c = compare_experiments(tmp_path, "0001", write_report=False)
    assert (c.primary_metric, c.goal, c.best) == ("rmse", "min", "exp-002-b")
    assert "Lowest rmse (1.5 vs 2 for exp-001-a" in c.reasons[0]
    c = compare_experiments(tmp_path, "0001", goal="max", write_report=False)
    assert c.best == "exp-001-a" and c.goal_source == "given"
    with pytest.raises(InvalidInput, match="'max'"):
        compare_experiments(tmp_path, "0001", goal="up")  # type: ignore[arg-type]


def test_primary_metric_given_configured_or_first_shared(tmp_path: Path) -> None:
    inc = make_increment(tmp_path, "0001-models")
    write_experiment(inc, 1, "a", metrics={"accuracy": 0.9, "auc": 0.70, "extra": 1.0})
    write_experiment(inc, 2, "b", metrics={"accuracy": 0.8, "auc": 0.75})
    assert compare_experiments(tmp_path, "0001", write_report=False).primary_metric == "accuracy"
    assert compare_experiments(tmp_path, "0001", primary_metric="auc", write_report=False).best == "exp-002-b"
    (tmp_path / ".specweave" / "ml.yaml").write_text("primary_metric: auc\ngoal: min\n", encoding="utf-8")
    c = compare_experiments(tmp_path, "0001", write_report=False)
    assert (c.primary_metric, c.goal, c.goal_source, c.best) == ("auc", "min", "config", "exp-001-a")
    with pytest.raises(InvalidInput, match="accuracy, auc, extra"):
        compare_experiments(tmp_path, "0001", primary_metric="nope")


def test_decision_overrides_computed_best_and_report_says_so(tmp_path: Path) -> None:
    inc = sample_store(tmp_path, "seed-comparison") / INC_DIR
    write_decision(inc, "exp-003-lightgbm", "Nearly as accurate, 30% faster to train")
    c = compare_experiments(tmp_path, "0042")
    assert c.best == "exp-003-lightgbm" and c.computed_best == "exp-002-xgboost"
    assert c.decision and c.decision.rationale.startswith("Nearly")
    assert "**Best Model**: exp-003-lightgbm ✅ selected by decision (2026-01-20, ml-lead@example.com)" in c.markdown
    assert "This decision overrides the computed best, exp-002-xgboost" in c.markdown
    assert [r.selected for r in c.rows] == [False, False, True, False]
    # the reasons speak of the run `best` names; the override names both runs and the margin
    assert c.reasons[0].startswith("Selected by the logged decision of 2026-01-20: Nearly as accurate")
    assert c.override == ("The decision selects exp-003-lightgbm over the computed best exp-002-xgboost: "
                          "exp-003-lightgbm has accuracy 0.86, ranked 2 of 4; exp-002-xgboost ranks first with "
                          "0.87 (margin 0.01, -1.1%)")
    assert c.reasons[1] == c.override and not any("vs 0.86 for exp-003" in r for r in c.reasons)
    assert c.computed_reasons[0] == "Highest accuracy (0.87 vs 0.86 for exp-003-lightgbm: margin 0.01, +1.2%)"
    assert "Why the metric ranks exp-002-xgboost first:\n  - Highest accuracy (0.87 vs 0.86" in c.markdown


def test_a_decision_for_the_computed_best_keeps_its_reasons(tmp_path: Path) -> None:
    inc = sample_store(tmp_path, "seed-comparison") / INC_DIR
    write_decision(inc, "exp-002-xgboost", "the most accurate")
    c = compare_experiments(tmp_path, "0042", write_report=False)
    assert c.best == c.computed_best == "exp-002-xgboost" and c.override is None
    assert c.reasons == ["Selected by the logged decision of 2026-01-20: the most accurate", *c.computed_reasons]
    assert "overrides" not in c.markdown and "- Highest accuracy (0.87 vs 0.86" in c.markdown


def test_a_reproduction_is_grouped_with_its_original_not_ranked_against_it(tmp_path: Path) -> None:
    inc = sample_store(tmp_path, "seed-comparison") / INC_DIR
    rerun = write_experiment(inc, 5, "xgboost-rerun", params={"model": "xgboost", "random_state": 42},
                             metrics={"accuracy": 0.87, "precision": 0.85, "recall": 0.83, "f1": 0.84})
    with (rerun / "metadata.yaml").open("a", encoding="utf-8") as handle:
        handle.write("reproduces: exp-002-xgboost\n")  # what sw-ml reproduce records on a rerun
    c = compare_experiments(tmp_path, "0042", write_report=False)
    assert [r.id for r in c.rows][1:3] == ["exp-002-xgboost", "exp-005-xgboost-rerun"]
    row = c.rows[2]
    assert row.reproduces == "exp-002-xgboost" and row.depth == 1 and not row.candidate
    assert "reproduction of exp-002-xgboost" in row.marks
    assert c.best == "exp-002-xgboost" and c.runner_up == "exp-003-lightgbm"  # not "margin 0" against its rerun


def test_cv_std_sources() -> None:
    assert cv_std({"auc": 0.8, "auc_std": 0.03}, "auc") == 0.03
    assert cv_std({"mean_test_score": 0.8, "std_test_score": 0.01}, "mean_test_score") == 0.01
    assert cv_std({"auc": 0.8, "cv_std": 0.02}, "auc") == 0.02
    assert cv_std({"auc_fold0": 0.7, "auc_fold1": 0.9}, "auc") == pytest.approx(0.1)
    assert cv_std({"auc": 0.8}, "auc") is None


def test_selected_experiments_and_references(tmp_path: Path) -> None:
    sample_store(tmp_path, "seed-comparison")
    c = compare_experiments(tmp_path, "0042", experiments=["exp-001", "lightgbm"], write_report=False)
    assert [r.id for r in c.rows] == ["exp-001-baseline", "exp-003-lightgbm"]
    with pytest.raises(NotFound, match="exp-009"):
        compare_experiments(tmp_path, "0042", experiments=["exp-009"])
    write_experiment(tmp_path / ".specweave/increments/0042-recommendation-model", 1, "baseline", uid="zzzzzz",
                     metrics={"accuracy": 0.1})
    with pytest.raises(AmbiguousReference, match="exp-001-baseline.u00001"):
        compare_experiments(tmp_path, "0042", experiments=["exp-001"])
    with pytest.raises(InvalidInput, match="metric"):
        compare_experiments(tmp_path, "0042", metrics=["bogus"])


def test_pipeline_presented_as_one_unit(tmp_path: Path) -> None:
    inc = make_increment(tmp_path, "0001-pipe")
    write_experiment(inc, 1, "baseline", metrics={"accuracy": 0.70})
    write_experiment(inc, 2, "full-pipeline", metrics={"accuracy": 0.80})
    write_experiment(inc, 3, "preprocessing", parent="exp-002-full-pipeline", stage="preprocessing", stage_order=1,
                     metrics={"rows_before": 1000, "rows_after": 950})
    write_experiment(inc, 4, "training", parent="exp-002-full-pipeline", stage="training", stage_order=3,
                     metrics={"accuracy": 0.80})
    write_experiment(inc, 5, "features", parent="exp-002-full-pipeline", stage="features", stage_order=2,
                     metrics={"num_features": 42})
    c = compare_experiments(tmp_path, "0001")
    assert [(r.id, r.depth) for r in c.rows] == [
        ("exp-001-baseline", 0), ("exp-002-full-pipeline", 0), ("exp-003-preprocessing", 1),
        ("exp-005-features", 1), ("exp-004-training", 1)]
    assert c.primary_metric == "accuracy" and c.best == "exp-002-full-pipeline"
    assert not any(r.candidate for r in c.rows if r.depth)  # stages are judged through their pipeline
    assert "| └ exp-003-preprocessing [preprocessing]" in c.markdown


def test_empty_increment(tmp_path: Path) -> None:
    make_increment(tmp_path, "0001-empty")
    c = compare_experiments(tmp_path, "0001")
    assert c.rows == [] and "No experiments in 0001-empty yet." in c.markdown


def test_cross_validation_helper_metrics(tmp_path: Path) -> None:
    inc = make_increment(tmp_path, "0001-cv")
    write_experiment(inc, 1, "cv-a", metrics={"score": 0.80, "score_std": 0.05, "fold/score": 0.82, "fit_time": 3.0,
                                              "system/cpu_percent": 90.0})
    write_experiment(inc, 2, "cv-b", metrics={"score": 0.78, "score_std": 0.01, "fold/score": 0.77, "fit_time": 1.0,
                                              "system/cpu_percent": 50.0})
    c = compare_experiments(tmp_path, "0001", write_report=False)
    assert c.metrics == ["score", "score_std"] and c.primary_metric == "score" and c.best == "exp-001-cv-a"
    assert [r.training_time_s for r in c.rows] == [3.0, 1.0]
    assert any("within the cross-validation std (0.05)" in w for w in c.warnings)


def test_every_face_of_an_overriding_decision_names_both_runs(tmp_path: Path) -> None:
    """The agent's answer (structured and text) and the CLI's JSON carry the same verdict as Python."""
    from mcp_server import answer_text as text
    from skill.analysis.ranking import comparison_page

    inc = sample_store(tmp_path, "seed-comparison") / INC_DIR
    write_decision(inc, "exp-003-lightgbm", "Nearly as accurate, 30% faster to train")
    c = compare_experiments(tmp_path, "0042", write_report=False)
    page = comparison_page(c).model_dump(mode="json")
    assert page["best"] == "exp-003-lightgbm" and page["computed_best"] == "exp-002-xgboost"
    assert page["override"] == c.override and page["reasons"] == c.reasons
    shown = text.comparison(page)
    best = shown.index("best: 0042/exp-003-lightgbm (the logged decision)")
    computed = shown.index("computed best: 0042/exp-002-xgboost (by the metric; the decision overrides it)")
    assert best < shown.index("- The decision selects exp-003-lightgbm over the computed best") < computed
    assert "vs 0.86 for exp-003" not in shown  # no reason about one run under the other's name
    assert "2. 0042/exp-002-xgboost completed BEST BY METRIC" in shown
    done = sw("compare-experiments", "0042", "--json", "--no-write", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["override"] == c.override
