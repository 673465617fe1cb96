"""MCP tools: the MCP App view tool, `view_experiments`, through the SDK's own Apps extension.

A host that renders MCP Apps (`io.modelcontextprotocol/ui`) shows the tool's `ui://` page (the same
page as `sw-ml ui` and `sw-ml report`, every script inlined, no network: the declared CSP allows
no outside origin) and hands it the tool result, whose structured content carries the views' data
in `view`. A host without Apps gets the same tool's text answer and no `view` (the SDK's
`client_supports_apps`). The page is built when the resource is first read, never at start-up.
"""

from typing import Annotated, Any

from mcp.server.apps import APP_MIME_TYPE, Apps, ResourceCsp, client_supports_apps
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.resources import FunctionResource
from mcp_types import CallToolResult
from pydantic import BaseModel, Field

from skill.project import Project

from .core_calls import READ, tool_errors
from .tool_results import answer

APP_URI = "ui://specweave-ml/views.html"
# What one answer carries for the page: runs, points per curve, all points, image bytes.
APP_RUNS, APP_POINTS, APP_BUDGET, APP_IMAGES = 50, 300, 60_000, 1 << 20


class ViewAnswer(BaseModel):
    """view_experiments' answer: the runs shown and the best; `view` is for the app only."""

    increment: str | None = None
    metric: str | None = None
    runs: int = 0
    best: str | None = None
    view: dict[str, Any] | None = Field(None, description="the views' data for the MCP App page")


def _text(bundle: Any, metric: str | None) -> str:
    short_number = Project.number_text
    table = bundle.table
    primary = table.primary_metric
    lines = [f"{len(table.rows)} runs of {', '.join(table.increments) or 'no increment'}"
             + (f"; primary metric {primary} ({'higher' if table.goal != 'min' else 'lower'} is better)"
                if primary else "")]
    for row in table.rows[:20]:
        # a decision's run and the metric's best, each said as what it is
        best = f" (best by {primary})" if table.decisions and not row.selected else " (best)"
        mark = (" ★selected" if row.selected else "") + (best if row.best else "")
        stats = ""
        view = bundle.runs.get(row.key)
        found = [s for s in view.stats if s.key == metric] if view and metric else []
        if found and found[0].count > 1 and found[0].min_step is not None:
            s = found[0]
            stats = (f"; {metric} min {short_number(s.min)}@{s.min_step} max {short_number(s.max)}@{s.max_step}"
                     f" last {short_number(s.last) if s.last is not None else '-'}")
        value = short_number(row.primary) if row.primary is not None else "-"
        lines.append(f"- {row.ref} {row.status}{mark}" + (f" {primary}={value}" if primary else "") + stats)
    if len(table.rows) > 20:
        lines.append(f"... and {len(table.rows) - 20} more")
    return "\n".join(lines)


def build_apps(project: Project) -> Apps:
    """The Apps extension with `view_experiments` and its `ui://` page; `build_server` passes it to the
    server's constructor (`MCPServer(extensions=[...])`, the SDK's way of adding an extension)."""
    apps = Apps()

    @apps.tool(resource_uri=APP_URI, title="View experiments", annotations=READ)
    @tool_errors
    def view_experiments(
        ctx: Context,
        increment: str | None = None,
        experiments: list[str] | None = None,
        metric: str | None = None,
        where: str | None = None,
    ) -> Annotated[CallToolResult, ViewAnswer]:
        """Runs as charts in MCP Apps; else a summary."""
        inc = None if experiments else project.default_increment(increment)
        if inc is None and not experiments:
            return answer(ViewAnswer(), "no experiments yet")

        bundle = project.view_bundle([inc.id] if inc else None, runs=experiments or None, where=where or None,
                                     metric=metric or None, run_limit=APP_RUNS, max_points=APP_POINTS,
                                     point_budget=APP_BUDGET, image_budget=APP_IMAGES)
        best = (row := bundle.table.best_row()) and row.ref
        result = ViewAnswer(increment=", ".join(bundle.table.increments) or None, metric=bundle.metric,
                            runs=len(bundle.table.rows), best=best,
                            view=bundle.model_dump(mode="json") if client_supports_apps(ctx) else None)
        return answer(result, _text(bundle, bundle.metric))

    def page() -> str:
        return project.page_html("app", title="specweave-ml experiments", config={})

    apps.add_resource(FunctionResource(
        uri=APP_URI, name="experiment-views", title="specweave-ml experiment views", mime_type=APP_MIME_TYPE,
        description="runs table, curves, parallel coordinates, compare (MCP App)", fn=page,
        meta={"ui": {"csp": ResourceCsp(connect_domains=[], resource_domains=[]).model_dump(
            by_alias=True, exclude_none=True), "prefersBorder": True}}))
    return apps
