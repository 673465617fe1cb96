"""One run as a page shows it: params, metrics with min/max/best step, environment, git, notes,
decisions, artifacts (images inline), and which system metrics it has curves of."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..schemas.records import ExperimentRecord
from .curves import Points, metric_stats, read_points
from ..schemas.pages import ArtifactView, DecisionMark, Goal, MetricStats, RunView
from .table import _row, run_key

if TYPE_CHECKING:
    from ..project import Project

IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
               ".webp": "image/webp", ".svg": "image/svg+xml"}


def image_type(name: str) -> str | None:
    """The MIME type of an artifact a page may show inline, by its name; None for anything else."""
    dot = name.rfind(".")
    return IMAGE_TYPES.get(name[dot:].lower()) if dot >= 0 else None


def goal_of(project: Project, metric: str) -> Goal | None:
    """max or min: `goal` of .specweave/ml.yaml for its primary metric, else what the name says."""
    from ..analysis.compare import infer_goal, read_config

    config = read_config(project.root)
    if config.get("primary_metric") == metric and config.get("goal") in ("max", "min"):
        return config["goal"]  # type: ignore[no-any-return]
    return infer_goal(metric)


def stats_of(project: Project, record: ExperimentRecord,
             points: dict[str, Points] | None = None) -> list[MetricStats]:
    if points is None:
        points = read_points(record)[0]
    return [metric_stats(key, points[key], goal_of(project, key)) for key in sorted(points)]


def run_view(project: Project, ref: str, increment: str | None = None, *, record: ExperimentRecord | None = None,
             points: dict[str, Points] | None = None) -> RunView:
    """The run `ref`; a caller that read it already (the report) passes its `record` and `points`, and
    the damaged lines of its log are then not listed (`show-experiment` lists them)."""
    from ..schemas.reports import ExperimentShown
    from ..schemas.records import ExperimentDetail

    if record is None:
        detail = project.detail(ref, increment)
        record = project.experiment(ref, increment)
    else:
        detail = ExperimentDetail.model_construct(**dict(record), metric_summaries={})
    shown = ExperimentShown.from_detail(detail)
    meta = record.meta
    if points is None:
        points = read_points(record)[0]
    decisions = [DecisionMark(increment=d.increment, selected=d.selected, rationale=d.rationale, ts=d.ts)
                 for d in project.decisions(record.increment)
                 if d.selected_dir == record.dir or (d.selected_dir is None and d.selected == record.id)]
    table_row = _row(record, None, set(), {run_key(record)} if "selected" in record.tags else set())
    env = shown.environment.model_dump(mode="json", exclude={"packages"})
    env["packages"] = shown.environment.packages
    return RunView(
        row=table_row, description=shown.description, author=shown.author, ended=shown.ended, host=shown.host,
        git=shown.git, environment=env, notes=list(shown.notes), decisions=decisions,
        artifacts=[ArtifactView(info=a, image=image_type(a.name) is not None and a.kind != "model")
                   for a in (meta.artifacts if meta else [])],
        stats=stats_of(project, record, points),
        system_metrics=sorted(k for k in points if k.startswith("system/")),
        problems=list(detail.problems))


__all__ = ["IMAGE_TYPES", "goal_of", "image_type", "run_view", "stats_of"]
