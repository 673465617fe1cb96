"""Tools that compare, decide, document and export: the work after the experiments ran.

The code behind them renders through jinja2 and may use pandas; that loads
inside the tool, on first call. Like every tool, they are plain functions the
SDK runs on a worker thread (the thread policy in `core_calls`). Their result
models live in light pydantic modules, imported here because a tool's output
schema is built at registration.

In `--read-only` mode, `compare_experiments` and `export_experiments` stay
but never write (no `write_report`, no `path`), and the tools that only
write (`log_decision`, `sync_living_docs`) are not registered.
"""


import functools
import inspect
from pathlib import Path
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult

from skill.project import Project
from skill.schemas.reports import DEFAULT_TOP, ComparisonPage, Decision, ExportResult, SyncResult

from .core_calls import READ, WRITE_APPEND, WRITE_IDEMPOTENT, tool_errors
from .tool_results import LIST_BUDGET, answer, fit, link_comparison, link_experiment, link_living_docs

Goal = Literal["max", "min"]
Format = Literal["csv", "json", "markdown"]

COMPARE_DOC = """Rank an increment's experiments: `best` and `reasons`, runner-up, warnings (e.g. CV
noise), any decision, then rows best first. experiments: only these (or `where`); metrics: the
columns; primary_metric, goal (max/min): default from ml.yaml or the name; limit: rows (default
10); cursor: `next_cursor`; fields: only these columns.{write}"""

COMPARE_WRITE = """
Writes the full table to `comparison.md` unless `write_report` is false."""

EXPORT_DOC = """Export an increment's experiments as csv, json or markdown, a flat row each
(`params.*`, `metrics.*` columns); where / sort as in list_experiments.{write}"""

EXPORT_WRITE = """ path: a file name written under `.specweave/exports/`; else the
text comes back in `text`."""


def _relative(project: Project, result: Any, field: str) -> Any:
    value = getattr(result, field)
    if value is not None:
        setattr(result, field, Path(project.rel(Path(value))))
    return result


def _without(fn: Any, names: tuple[str, ...]) -> Any:
    """The same tool without the parameters that only write: in --read-only mode they are not even
    arguments (their defaults apply), with no second declaration to keep in step."""
    sig = inspect.signature(fn)

    @functools.wraps(fn)
    def call(**kwargs: Any) -> Any:
        return fn(**kwargs)

    call.__signature__ = sig.replace(parameters=[p for p in sig.parameters.values() if p.name not in names])
    call.__annotations__ = {k: v for k, v in fn.__annotations__.items() if k not in names}
    del call.__wrapped__
    return call


def register(server: MCPServer, project: Project) -> None:
    writable = not project.read_only
    # One declaration per tool: in --read-only mode the same tools are annotated read-only, their
    # descriptions leave the writing out, and the core writes nothing (no comparison.md, no path).
    compare_doc = COMPARE_DOC.format(write=COMPARE_WRITE if writable else "")
    export_doc = EXPORT_DOC.format(write=EXPORT_WRITE if writable else " The text comes back in `text`.")

    def compare_experiments(
        increment: str | None = None,
        experiments: list[str] | None = None,
        where: str | None = None,
        metrics: list[str] | None = None,
        primary_metric: str | None = None,
        goal: Goal | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        fields: list[str] | None = None,
        write_report: bool = True,
    ) -> Annotated[CallToolResult, ComparisonPage]:
        from . import answer_text as text

        inc = project.default_increment(increment)
        if inc is None:
            empty = ComparisonPage(increment=None)
            return answer(empty, text.comparison(empty.model_dump(mode="json")))
        full = project.compare(inc.id, experiments, where=where, metrics=metrics, primary_metric=primary_metric,
                               goal=goal, write_report=write_report)
        _relative(project, full, "report_path")

        def build(n: int) -> ComparisonPage:
            return project.rank_page(full, limit=n, cursor=cursor, fields=fields)

        result = build(limit) if limit is not None else fit(build, DEFAULT_TOP, LIST_BUDGET)
        links = [] if result.report_path is None else [link_comparison(inc.id, Path(result.report_path).as_posix())]
        if result.best:
            links.append(link_experiment(inc.id, result.best))
        return answer(result, text.comparison(result.model_dump(mode="json")), links)

    def export_experiments(
        increment: str | None = None,
        format: Format = "csv",  # noqa: A002 - the seed's command says --format
        where: str | None = None,
        sort: str | None = None,
        path: str | None = None,
    ) -> Annotated[CallToolResult, ExportResult]:
        from . import answer_text as text

        # confined: a path is a name under .specweave/exports/, placed and checked by the core
        result = project.export(increment, format, path, where=where, sort=sort, confined=True)
        _relative(project, result, "path")
        return answer(result, text.export(result.model_dump(mode="json")))

    for fn, doc, write_only in ((compare_experiments, compare_doc, ("write_report",)),
                                (export_experiments, export_doc, ("path",))):
        fn = tool_errors(fn)
        server.tool(title=" ".join(fn.__name__.split("_")).capitalize(),
                    annotations=WRITE_IDEMPOTENT if writable else READ,
                    description=doc)(fn if writable else _without(fn, write_only))
    if writable:
        _register_writes(server, project)


def _register_writes(server: MCPServer, project: Project) -> None:
    @server.tool(title="Record a decision", annotations=WRITE_APPEND)
    @tool_errors
    def log_decision(
        selected: str,
        rationale: str,
        increment: str | None = None,
        alternatives: list[str] | None = None,
        metrics: dict[str, Any] | None = None,
        author: str | None = None,
    ) -> Annotated[CallToolResult, Decision]:
        """Record which experiment was selected and why, once the user agreed (after
        compare_experiments); it gets the tag `selected`. rationale: margins, trade-offs, cost;
        alternatives: those it beat. A later decision supersedes it; both stay in the history."""
        from . import answer_text as text

        result = project.log_decision(selected, rationale, increment=increment, alternatives=alternatives,
                                      metrics=metrics, author=author)
        return answer(result, text.decision(result.model_dump(mode="json")),
                      [link_experiment(result.increment, result.selected)])

    @server.tool(title="Update the living docs", annotations=WRITE_IDEMPOTENT)
    @tool_errors
    def sync_living_docs(increments: list[str] | None = None,
                         dry_run: bool = False) -> Annotated[CallToolResult, SyncResult]:
        """Update the living docs (`.specweave/docs/internal/architecture/ml-experiments.md`): a
        section per increment (experiments, the selected one and why). Text outside the markers
        stays. increments: default all with experiments; dry_run: only the `diff`."""
        from . import answer_text as text

        result = project.sync_docs(increments, dry_run)  # a bad reference is refused before anything renders
        _relative(project, result, "path")
        return answer(result, text.sync(result.model_dump(mode="json")),
                      [None if dry_run else link_living_docs(project)])
