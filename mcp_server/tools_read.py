"""Read tools: increments, experiment lists, one experiment in full, a metric's history.

Each tool is a typed function: its parameters are the input schema, its
pydantic return type the output schema, its docstring what the model reads.
They only parse, call `skill/` and shape the answer.
"""


from pathlib import Path

from mcp.server.mcpserver import MCPServer

from skill.analysis.paging import DEFAULT_LIMIT
from skill.analysis.results import DEFAULT_MAX_POINTS, MetricHistory
from skill.models import ExperimentDetail, ExperimentPage, Increment

from .boundary import READ, Project, tool_errors


def register(server: MCPServer, project: Project) -> None:
    @server.tool(title="List increments", annotations=READ)
    @tool_errors
    async def list_increments() -> list[Increment]:
        """List the project's increments (SpecWeave's units of work), oldest first.

        Each has an id like `0042-recommendation-model`, a title, a group
        (`_archive`, `_abandoned`, `_paused`, or null when active) and how many
        experiments it holds. Pass an id, its number (`0042`) or its slug as
        `increment` to the other tools.
        """
        return [inc.model_copy(update={"path": Path(project.rel(inc.path))}) for inc in project.increments()]

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
        return project.page(increment, status=status or None, tag=tag or None, where=where or None,
                            sort=sort or None, limit=limit, cursor=cursor or None)

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
        return project.detail(experiment, increment)

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
        return project.history(experiment, metric, max_points, increment)
