"""ExperimentPipeline: stages as linked experiments; the parent ends as the stages went."""

from __future__ import annotations

from pathlib import Path

import pytest

from skill.errors import InvalidInput
from skill.analysis.listing import list_experiments
from skill.storage.run_records import find_experiment
from skill.workflows.pipeline import ExperimentPipeline, pipeline_tag


def _meta(project: Path, ref: str):
    return find_experiment(project, ref).meta


def test_stages_are_linked_to_the_pipeline_and_to_each_other(project: Path) -> None:
    with ExperimentPipeline("recommendation-full-pipeline", "0042") as pipeline:
        with pipeline.stage("preprocessing") as stage:
            stage.log_metric("rows_before", 100)
            stage.log_metric("rows_after", 90)
        with pipeline.stage("features") as stage:
            stage.log_metric("num_features", 12)
        with pipeline.stage("training") as stage:
            stage.log_metric("accuracy", 0.9)
    records = list_experiments(project, "0042")
    assert [r.name for r in records] == ["recommendation-full-pipeline", "preprocessing", "features", "training"]
    parent, *stages = records
    assert parent.status == "completed" and "pipeline" in parent.tags
    assert parent.params["stages"] == ["preprocessing", "features", "training"]
    assert parent.metrics == {}  # stages are judged by their own metrics
    previous = None
    for order, record in enumerate(stages, 1):
        meta = record.meta
        assert (meta.parent, meta.stage, meta.stage_order) == (parent.id, record.name, order)
        assert getattr(meta, "after", None) == previous
        assert pipeline_tag(parent.id) in meta.tags and record.status == "completed"
        previous = record.id
    assert stages[0].metrics == {"rows_before": 100.0, "rows_after": 90.0}
    assert pipeline.stages == [r.id for r in stages]


def test_a_failed_stage_fails_the_pipeline_even_when_caught(project: Path) -> None:
    pipeline = ExperimentPipeline("fragile")
    with pipeline.stage("load") as stage:
        stage.log_metric("rows", 10)
    with pytest.raises(KeyError):
        with pipeline.stage("clean"):
            raise KeyError("missing column")
    assert _meta(project, pipeline.id).status == "failed"  # at once, not only at the end
    with pipeline.stage("retry-clean"):  # the caller may go on; the link follows the failed stage
        pass
    pipeline.end()
    parent = find_experiment(project, pipeline.id)
    assert parent.status == "failed"
    assert any("stage 'clean'" in n.text and "KeyError" in n.text for n in parent.meta.notes)
    assert _meta(project, "retry-clean").after == _meta(project, "clean").id
    assert _meta(project, "clean").status == "failed"


def test_planned_stages_end_the_pipeline_when_the_last_one_ends(project: Path) -> None:
    pipeline = ExperimentPipeline("planned", stages=["a", "b"])
    with pipeline.stage("a"):
        pass
    assert _meta(project, pipeline.id).status == "running"
    with pipeline.stage("b"):
        pass
    parent = _meta(project, pipeline.id)
    assert parent.status == "completed" and parent.ended is not None
    with pytest.raises(InvalidInput, match="has ended"):
        with pipeline.stage("c"):
            pass


def test_an_exception_in_the_pipeline_block_fails_the_parent(project: Path) -> None:
    with pytest.raises(RuntimeError):
        with ExperimentPipeline("outer") as pipeline:
            with pipeline.stage("ok"):
                pass
            raise RuntimeError("between stages")
    assert _meta(project, pipeline.id).status == "failed"
    assert _meta(project, "ok").status == "completed"


def test_one_stage_at_a_time_and_named_stages_only(project: Path) -> None:
    pipeline = ExperimentPipeline("strict")
    with pytest.raises(InvalidInput, match="stage name"):
        with pipeline.stage(""):
            pass
    with pipeline.stage("first"):
        with pytest.raises(InvalidInput, match="one stage at a time"):
            with pipeline.stage("nested"):
                pass
    pipeline.end()
    assert [r.name for r in list_experiments(project)] == ["strict", "first"]


def test_seed_usage_without_with_ends_at_interpreter_exit(run_py, project: Path) -> None:
    code = (
        "from specweave import ExperimentPipeline\n"
        "pipeline = ExperimentPipeline('recommendation-full-pipeline')\n"
        "with pipeline.stage('preprocessing') as stage:\n"
        "    stage.log_metric('rows_before', 10)\n"
        "with pipeline.stage('training') as stage:\n"
        "    stage.log_metric('accuracy', 0.9)\n"
        "print(pipeline.id)\n"
    )
    parent_id = run_py(code, project).stdout.strip()
    parent = find_experiment(project, parent_id)
    assert parent.status == "completed" and parent.meta.ended is not None
    assert parent.params["stages"] == ["preprocessing", "training"]


def test_stage_failure_uncaught_leaves_a_failed_pipeline_after_exit(run_py, project: Path) -> None:
    code = (
        "from specweave import ExperimentPipeline\n"
        "pipeline = ExperimentPipeline('crashing')\n"
        "with pipeline.stage('training'):\n"
        "    raise MemoryError('out of memory')\n"
    )
    done = run_py(code, project, check=False)
    assert done.returncode != 0 and "MemoryError" in done.stderr
    assert _meta(project, "crashing").status == "failed"
    assert _meta(project, "training").status == "failed"
