"""One run as a page shows it: params, metrics with min/max/best step, environment, git, notes,
decisions, artifacts (images inline), and which system metrics it has curves of."""

from __future__ import annotations

from typing import Any

from ..analysis.primary import known_goal
from ..schemas.pages import ArtifactView, DecisionMark, MetricStats, RunView, image_type
from ..schemas.records import ExperimentDetail, ExperimentRecord
from ..schemas.reports import Decision, ExperimentShown
from .curves import History, metric_stats, read_points_with_source
from .table import run_key, run_row

def stats_of(record: ExperimentRecord, config: dict[str, Any], history: History | None = None) -> list[MetricStats]:
    """Each metric's min, max, best (by its direction, when known: `analysis.primary.known_goal` of the
    project's `config`), last and sparkline, from every logged point; when the points are the summary's
    downsample (a clone without the full log), each count is still the points the run logged."""
    if history is None:
        history = read_points_with_source(record)
    points = history.points
    stats = [metric_stats(key, points[key], known_goal(key, config)) for key in sorted(points)]
    for s in stats:
        s.count = history.logged.get(s.key, s.count)
    return stats


def run_view(record: ExperimentRecord, detail: ExperimentDetail, decisions: list[Decision], config: dict[str, Any],
             history: History | None = None) -> RunView:
    """The run `record` as a page shows it: `detail` (its problems listed), the `decisions` of its
    increment (those selecting it are kept), each metric's stats by `config`'s directions; a caller
    that read its points already (the report) passes them (`history`)."""
    if history is None:
        history = read_points_with_source(record)
    points, source = history.points, history.source
    shown = ExperimentShown.from_detail(detail)
    meta = record.meta
    marks = [DecisionMark(increment=d.increment, selected=d.selected, rationale=d.rationale, ts=d.ts)
             for d in decisions
             if d.selected_dir == record.dir or (d.selected_dir is None and d.selected == record.id)]
    table_row = run_row(record, None, set(), {run_key(record)} if "selected" in record.tags else set())
    env = shown.environment.model_dump(mode="json", exclude={"packages"})
    env["packages"] = shown.environment.packages
    return RunView(
        row=table_row, description=shown.description, author=shown.author, ended=shown.ended, host=shown.host,
        git=shown.git, environment=env, notes=list(shown.notes), decisions=marks,
        artifacts=[ArtifactView(info=a, image=image_type(a.name) is not None and a.kind != "model")
                   for a in (meta.artifacts if meta else [])],
        stats=stats_of(record, config, history), source=source,  # type: ignore[arg-type]
        system_metrics=sorted(k for k in points if k.startswith("system/")),
        problems=list(detail.problems))


__all__ = ["run_view", "stats_of"]
