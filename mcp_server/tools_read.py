"""Read tools: increments, experiment lists, one experiment in full, a metric's history.

Each tool is a typed function: its parameters are the input schema, its
pydantic return type the output schema, its docstring what the model reads.
They only parse, call `skill/` and shape the answer.
"""


from pathlib import Path

from mcp.server.mcpserver import MCPServer

from skill.errors import InvalidInput
from skill.history import DEFAULT_MAX_POINTS, MetricHistory, metric_history
from skill.layout import STATUSES
from skill.models import ExperimentDetail, ExperimentPage, ExperimentRecord, ExperimentSummary, Increment, _json_float
from skill.paging import DEFAULT_LIMIT, paginate, query_fingerprint

from .boundary import READ, Project, tool_errors
from .memo import Memo


def locate(project: Project, experiment: str, increment: str | None) -> ExperimentRecord:
    """Find an experiment and refuse a folder that a link takes out of `.specweave/`."""
    from skill.store import find_experiment

    record = find_experiment(project.root, experiment, increment or None)
    project.inside(record.path)
    return record


def cached_detail(project: Project, memo: Memo, experiment: str, increment: str | None) -> ExperimentDetail:
    """`detail(locate(...))`, answered from the memo while the files are unchanged."""
    from skill.store import load_experiment, validate_experiment_ref

    ref, inc = validate_experiment_ref(experiment), increment or None
    found = memo.lookup(project.root, ref, inc)
    if found is not None:
        hit = memo.detail(found[0])
        if hit is not None:
            return hit
        record = load_experiment(found[0], found[1], project.root)
        project.inside(record.path)
    else:
        record = locate(project, ref, inc)
        memo.remember_lookup(project.root, ref, inc, record)
    result = detail(project, record)
    memo.remember_detail(Path(record.path), result)
    return result


def validate_status(status: str | None) -> str | None:
    if status is None or status == "":
        return None
    if status not in STATUSES:
        raise InvalidInput("status", status, "one of " + ", ".join(STATUSES))
    return status


def detail(project: Project, record: ExperimentRecord) -> ExperimentDetail:
    """The record with per-metric summaries, its path relative to the project, NaN kept JSON-safe."""
    from skill.store import metric_summaries

    summaries, damaged = metric_summaries(record, project.root)  # streamed: a run of millions of points is fine
    problems = list(record.problems)
    for bad in damaged:
        path = Path(bad.path)  # the file itself is not resolved: it may be a link, refused and reported
        line = f"{project.rel(path.parent)}/{path.name}{':' + str(bad.line) if bad.line else ''}: {bad.problem}"
        if line not in problems:
            problems.append(line)
    fields = dict(record)
    fields.update(
        path=Path(project.rel(record.path)),
        metrics={k: _json_float(v) if isinstance(v, float) else v for k, v in record.metrics.items()},
        problems=problems,
        metric_summaries=summaries,
    )
    return ExperimentDetail.model_construct(**fields)


def register(server: MCPServer, project: Project) -> None:
    memo = Memo()

    @server.tool(title="List increments", annotations=READ)
    @tool_errors
    async def list_increments() -> list[Increment]:
        """List the project's increments (SpecWeave's units of work), oldest first.

        Each has an id like `0042-recommendation-model`, a title, a group
        (`_archive`, `_abandoned`, `_paused`, or null when active) and how many
        experiments it holds. Pass an id, its number (`0042`) or its slug as
        `increment` to the other tools.
        """
        from skill.increments import list_increments as _list_increments

        return [inc.model_copy(update={"path": Path(project.rel(inc.path))}) for inc in _list_increments(project.root)]

    @server.tool(title="List experiments", annotations=READ)
    @tool_errors
    async def list_experiments(
        increment: str | None = None,
        status: str | None = None,
        tag: str | None = None,
        where: str | None = None,
        sort: str | None = None,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> ExperimentPage:
        """List an increment's experiments with their params and latest metrics, a page at a time.

        - increment: id, number (`0042`) or slug; default the active increment, else the newest.
        - status: running, completed, failed, killed or crashed.
        - tag: keep experiments carrying this tag.
        - where: a filter such as `metrics.auc > 0.8 and params.max_depth <= 6`,
          `status in (completed, failed)`, `'production' in tags`, `not has metrics.f1`.
        - sort: `metrics.auc desc`, `-metrics.auc`, `name`, or several joined by commas.
        - limit: rows per page, 1 to 500 (default 50). Pass `next_cursor` back as
          `cursor` to get the next page with the same filters.
        """
        from skill.query import filter_records, sort_records
        from skill.store import list_experiments as _list

        status = validate_status(status)
        inc = project.increment(increment)
        records = _list(project.root, inc.id)
        records = filter_records(records, where=where, status=status, tag=tag or None)
        records = sort_records(records, sort or None)
        fingerprint = query_fingerprint(increment=inc.id, status=status, tag=tag, where=where, sort=sort)
        page, next_cursor = paginate(records, cursor=cursor or None, limit=limit, fingerprint=fingerprint)
        return ExperimentPage(increment=inc.id, total=len(records), next_cursor=next_cursor,
                              experiments=[ExperimentSummary.from_record(r) for r in page])

    @server.tool(title="Show one experiment", annotations=READ)
    @tool_errors
    async def show_experiment(experiment: str, increment: str | None = None) -> ExperimentDetail:
        """Everything about one experiment: params, latest metrics, and per metric min/max/last/steps;
        its metadata (status, description, tags, author, data_version, timings, git commit/branch/dirty,
        python, platform, packages, GPUs, command), notes, and artifacts with size and sha256.

        - experiment: `exp-003`, `exp-003-xgboost`, its slug (`xgboost`), or `0042/exp-003`.
        - increment: narrows the search when the same id exists in several increments.

        Saved models are described, never loaded.
        """
        return cached_detail(project, memo, experiment, increment)

    @server.tool(title="Metric history", annotations=READ)
    @tool_errors
    async def get_metric_history(
        experiment: str,
        metric: str | None = None,
        max_points: int = DEFAULT_MAX_POINTS,
        increment: str | None = None,
    ) -> MetricHistory:
        """The logged values of a metric over steps (every metric when `metric` is omitted).

        Long histories are downsampled to at most `max_points` (2 to 10000,
        default 500) per metric, keeping the first and last points and each
        stretch's lowest and highest values, so the best value and any spike survive.
        Returns parallel `steps` and `values` lists per metric.
        """
        return metric_history(locate(project, experiment, increment), metric, max_points, root=project.root)
