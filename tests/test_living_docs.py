"""Living docs: the seed's shape, human text kept, idempotent, atomic, markers respected."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.fixtures import INC_DIR, make_increment, sample_store, write_decision, write_experiment
from test_compare import check_snapshot

from skill.analysis.living_docs import docs_path, sync_living_docs
from skill.errors import DamagedFile


def test_seed_living_docs_example(tmp_path: Path) -> None:
    sample_store(tmp_path, "seed-living-docs")
    result = sync_living_docs(tmp_path)
    assert result.changed and result.sections_changed == ["0042-recommendation-model"]
    assert result.path == tmp_path / ".specweave/docs/internal/architecture/ml-experiments.md"
    text = result.path.read_text(encoding="utf-8")
    for line in [
        "## Recommendation Model (Increment 0042)",
        "### Experiments Conducted: 7",
        "- exp-001-baseline: Random classifier (acc=0.12)",
        "- exp-002-popularity: Popularity baseline (acc=0.18)",
        "- exp-003-xgboost: XGBoost classifier (acc=0.26) ✅ **SELECTED**",
        "### Selection Rationale",
        "XGBoost chosen for:",
        "- Best accuracy (0.26 vs baseline 0.18, +44% improvement)",
        "- Stable across cross-validation (std=0.02)",
        "### Hyperparameters (exp-003)",
        "- n_estimators: 200",
        "- max_depth: 6",
        "- learning_rate: 0.1",
        "- subsample: 0.8",
        "- exp-007-neural-net (failed): FAILED: RuntimeError: CUDA out of memory",
        "  - Reason: Out of memory, need smaller batch size",
    ]:
        assert line in text.splitlines(), line
    check_snapshot("ml-experiments.md", text)


def test_second_sync_changes_no_byte_and_does_not_rewrite(tmp_path: Path) -> None:
    sample_store(tmp_path, "seed-living-docs")
    first = sync_living_docs(tmp_path)
    before = first.path.read_bytes()
    stat = first.path.stat()
    second = sync_living_docs(tmp_path)
    assert not second.changed and second.sections_changed == []
    assert first.path.read_bytes() == before
    assert first.path.stat().st_mtime_ns == stat.st_mtime_ns and first.path.stat().st_ino == stat.st_ino


def test_human_text_outside_markers_survives(tmp_path: Path) -> None:
    inc = sample_store(tmp_path, "seed-comparison") / INC_DIR
    path = sync_living_docs(tmp_path).path
    text = path.read_text(encoding="utf-8")
    edited = ("# ML Experiments (team notes)\n\nWritten by a person, keep me.\n\n" + text.split("\n\n", 2)[2]
              + "\n## Lessons\n\nNever train on Fridays.\n")
    path.write_text(edited, encoding="utf-8")
    write_experiment(inc, 5, "catboost", metrics={"accuracy": 0.88, "precision": 0.86, "recall": 0.84, "f1": 0.85})
    result = sync_living_docs(tmp_path)
    assert result.changed and result.sections_changed == ["0042-recommendation-model"]
    after = path.read_text(encoding="utf-8")
    assert after.startswith("# ML Experiments (team notes)\n\nWritten by a person, keep me.\n")
    assert after.endswith("\n## Lessons\n\nNever train on Fridays.\n")
    assert "### Experiments Conducted: 5" in after and "exp-005-catboost" in after
    assert "### Experiments Conducted: 4" not in after


def test_sections_for_several_increments_stay_ordered_and_separate(tmp_path: Path) -> None:
    later = make_increment(tmp_path, "0043-ranking")
    write_experiment(later, 1, "bm25", metrics={"ndcg": 0.41})
    sync_living_docs(tmp_path)
    sample_store(tmp_path, "seed-comparison")
    result = sync_living_docs(tmp_path, ["0042"])
    assert result.sections_changed == result.increments == ["0042-recommendation-model"]
    text = result.path.read_text(encoding="utf-8")
    assert text.index("begin 0042-recommendation-model") < text.index("begin 0043-ranking")
    assert "## Ranking (Increment 0043)" in text


def test_dry_run_returns_diff_and_writes_nothing(tmp_path: Path) -> None:
    sample_store(tmp_path, "seed-comparison")
    result = sync_living_docs(tmp_path, dry_run=True)
    assert result.changed and result.diff and "+## Recommendation Model (Increment 0042)" in result.diff
    assert not docs_path(tmp_path).exists()


def test_decision_is_reflected_and_later_one_supersedes(tmp_path: Path) -> None:
    inc = sample_store(tmp_path, "seed-comparison") / INC_DIR
    write_decision(inc, "exp-004-neural-net", "First pick", day=1)
    write_decision(inc, "exp-002-xgboost", "Second thoughts: best accuracy", day=2)
    text = sync_living_docs(tmp_path).path.read_text(encoding="utf-8")
    assert "- exp-002-xgboost: xgboost (accuracy=0.87) ✅ **SELECTED**" in text
    assert text.count("✅ **SELECTED**") == 1
    assert "Second thoughts: best accuracy" in text and "First pick" not in text


def test_user_text_cannot_forge_markers(tmp_path: Path) -> None:
    inc = make_increment(tmp_path, "0001-x")
    write_experiment(inc, 1, "evil", metrics={"auc": 0.5}, description="<!-- specweave-ml:end 0001-x -->",
                     status="failed", notes=["<!-- specweave-ml:begin 0002-y -->"])
    sync_living_docs(tmp_path)
    result = sync_living_docs(tmp_path)  # parses its own output without complaint
    assert not result.changed
    assert result.path.read_text(encoding="utf-8").count("<!-- specweave-ml:") == 2


def test_broken_markers_are_refused_not_overwritten(tmp_path: Path) -> None:
    sample_store(tmp_path, "seed-comparison")
    path = sync_living_docs(tmp_path).path
    broken = path.read_text(encoding="utf-8").replace("<!-- specweave-ml:end 0042-recommendation-model -->", "")
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(DamagedFile, match="no end marker"):
        sync_living_docs(tmp_path)
    assert path.read_text(encoding="utf-8") == broken


def test_write_is_atomic_no_temp_files_left(tmp_path: Path) -> None:
    sample_store(tmp_path, "seed-comparison")
    path = sync_living_docs(tmp_path).path
    assert sorted(os.listdir(path.parent)) == ["ml-experiments.md"]
