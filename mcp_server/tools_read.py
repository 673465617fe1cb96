"""Read tools: increments, experiment lists, one experiment in full, a metric's history.

Each tool is a typed function: its parameters are the input schema, the model in its
`Annotated[CallToolResult, Model]` return the output schema, its docstring what the model reads.
They only parse, call `skill/` and shape the answer (`tool_results.answer`: compact text plus the
structured content, and links to the documents it names). Plain functions: the SDK runs them on a
worker thread (the thread policy in `core_calls`).
"""

from typing import Annotated

from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult
from pydantic import BaseModel

from skill.project import Project
from skill.schemas.records import ExperimentPage, Increment
from skill.schemas.reports import DEFAULT_MAX_POINTS, ExperimentShown, MetricHistory

from .core_calls import READ, tool_errors
from .tool_results import LIST_BUDGET, answer, fit, link_experiment, link_experiments

# list_experiments' page when no limit is given: the core's page, fewer rows when they are large (fit)
PAGE = Project.page_limit()

# get_metric_history: points per metric when max_points is not given: the core's default, fewer when the
# answer would pass its budget (many metrics)
POINTS = DEFAULT_MAX_POINTS


class IncrementList(BaseModel):
    """list_increments' answer."""

    increments: list[Increment]


def register(server: MCPServer, project: Project) -> None:
    @server.tool(title="List increments", annotations=READ)
    @tool_errors
    def list_increments() -> Annotated[CallToolResult, IncrementList]:
        """The increments (units of work), oldest first: id, title, group (`_archive`...; null when
        active), experiment count. Other tools take an id, number (`0042`) or slug as `increment`."""
        from . import answer_text as text

        rows = [inc.model_copy(update={"path": project.rel(inc.path)}) for inc in project.increments()]
        result = IncrementList(increments=rows)
        return answer(result, text.increments(result.model_dump(mode="json")["increments"]))

    @server.tool(title="List experiments", annotations=READ)
    @tool_errors
    def list_experiments(
        increment: str | None = None,
        status: str | None = None,
        tag: str | None = None,
        where: str | None = None,
        sort: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Annotated[CallToolResult, ExperimentPage]:
        """An increment's experiments (params, latest metrics), a page at a time. increment: default
        the active one; where: e.g. `metrics.auc > 0.8 and params.depth <= 6`, `'prod' in tags`;
        sort: `-metrics.auc,name`; limit: 1-500 (default 20, fewer if rows are large:
        the answer stays under 6 KB); cursor: a `next_cursor`."""
        from . import answer_text as text

        inc = project.default_increment(increment)
        if inc is None:
            result = ExperimentPage(increment=None, total=0, experiments=[])
            return answer(result, text.page(result.model_dump(mode="json")))

        def build(n: int) -> ExperimentPage:
            return project.page(inc.id, status=status or None, tag=tag or None, where=where or None,
                                sort=sort or None, limit=n, cursor=cursor or None)

        result = build(limit) if limit is not None else fit(build, PAGE, LIST_BUDGET)
        data = result.model_dump(mode="json")
        data["filtered"] = bool(status or tag or where)
        return answer(result, text.page(data), [link_experiments(inc.id)])

    @server.tool(title="Show one experiment", annotations=READ)
    @tool_errors
    def show_experiment(experiment: str, increment: str | None = None,
                        packages: bool = False) -> Annotated[CallToolResult, ExperimentShown]:
        """One experiment in full: params, metrics (last/min/max/points), status, timings, tags,
        git, environment, notes, artifacts (never loaded). experiment: `exp-003`, a slug or
        `0042/exp-003`, looked up in `increment`, else the active one, then the others.
        packages: true for all installed (default: the notable ones)."""
        from . import answer_text as text

        result = project.show(experiment, increment, packages=packages)
        return answer(result, text.shown(result.model_dump(mode="json")),
                      [link_experiment(result.increment, result.id)])

    @server.tool(title="Metric history", annotations=READ)
    @tool_errors
    def get_metric_history(
        experiment: str,
        metric: str | None = None,
        max_points: int | None = None,
        increment: str | None = None,
    ) -> Annotated[CallToolResult, MetricHistory]:
        """A metric's `steps` and `values` (all metrics when omitted), downsampled to `max_points` each
        (2-10000; default: the core's 500, fewer while the answer passes 6 KB) keeping each stretch's first, last, min and max; `source`: full|summary."""
        from . import answer_text as text

        def build(n: int) -> MetricHistory:
            return project.history(experiment, metric, n, increment)

        result = build(max_points) if max_points is not None else fit(build, POINTS, LIST_BUDGET, floor=8)
        return answer(result, text.history(result.model_dump(mode="json")),
                      [link_experiment(result.increment, result.experiment)])
