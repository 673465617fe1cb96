"""Tools that compare, decide, document and export: the work after the experiments ran.

The code behind them renders through jinja2 and may use pandas; that loads
inside the tool, on first call, and runs on a worker thread. Their result
models live in light pydantic modules, imported here because a tool's output
schema is built at registration.

In `--read-only` mode, `compare_experiments` and `export_experiments` stay
but never write (no `write_report`, no `path`), and the tools that only
write (`log_decision`, `sync_living_docs`) are not registered.
"""


import functools
from pathlib import Path
from typing import Any, Literal

import anyio.to_thread
from mcp.server.mcpserver import MCPServer

from skill.compare import Comparison
from skill.decisions import Decision
from skill.export import ExportResult
from skill.living_docs import SyncResult

from .boundary import READ, WRITE_APPEND, WRITE_IDEMPOTENT, Project, tool_errors

Goal = Literal["max", "min"]
Format = Literal["csv", "json", "markdown"]

COMPARE_DOC = """Compare an increment's experiments: a table of their metrics, the best one and why.

- increment: id, number (`0042`) or slug; default the active increment, else the newest.
- experiments: only these (`exp-002`, `xgboost`, ...); default all of the increment.
- metrics: the metric columns; default every metric logged.
- primary_metric: what "best" means (e.g. `auc`); default from `.specweave/ml.yaml`, else inferred.
- goal: `max` or `min`; default inferred from the name (loss, error, rmse... are minimised).

Returns the rows (metrics and only the params that differ), `best` with `reasons`, the
runner-up, warnings (e.g. a margin within cross-validation noise), any logged decision,
and the markdown table.{write}"""

COMPARE_WRITE = """ Writes `comparison.md` in the increment's experiments folder unless
`write_report` is false (`report_path` says where)."""

EXPORT_DOC = """Export an increment's experiments as one flat row each: id, name, status, tags, timings,
`params.<name>` and `metrics.<name>` columns.

- format: `csv` (default), `json` or `markdown`.
- where / sort: the same filter and sort as list_experiments.{write}
Returns the row count, the columns{returns}."""

EXPORT_WRITE = """
- path: a file name such as `0042.csv`, written under `.specweave/exports/` (never elsewhere);
  without it nothing is written and the text comes back in `text`."""


def _in_thread(fn: Any, *args: Any, **kwargs: Any) -> Any:
    return anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))


def _relative(project: Project, result: Any, field: str) -> Any:
    value = getattr(result, field)
    if value is not None:
        setattr(result, field, Path(project.rel(Path(value))))
    return result


def register(server: MCPServer, project: Project) -> None:
    writable = not project.read_only

    async def compare(increment: str | None, experiments: list[str] | None, metrics: list[str] | None,
                      primary_metric: str | None, goal: Goal | None, write_report: bool) -> Comparison:
        from skill.compare import compare_experiments as _compare

        inc = project.increment(increment)
        result = await _in_thread(_compare, project.root, inc.id, experiments=experiments or None,
                                  metrics=metrics or None, primary_metric=primary_metric or None, goal=goal,
                                  write_report=write_report and writable)
        return _relative(project, result, "report_path")

    async def export(increment: str | None, format: Format, where: str | None, sort: str | None,
                     path: str | None) -> ExportResult:
        from skill.export import export_experiments as _export

        if path is not None:
            project.require_writable("export_experiments with a path")
        inc = project.increment(increment)
        result = await _in_thread(_export, project.root, inc.id, format, path, where=where or None,
                                  sort=sort or None, allow_outside=False)
        if result.path is not None:
            project.inside(result.path)
        return _relative(project, result, "path")

    if writable:
        @server.tool(title="Compare experiments", annotations=WRITE_IDEMPOTENT,
                     description=COMPARE_DOC.format(write=COMPARE_WRITE))
        @tool_errors
        async def compare_experiments(
            increment: str | None = None,
            experiments: list[str] | None = None,
            metrics: list[str] | None = None,
            primary_metric: str | None = None,
            goal: Goal | None = None,
            write_report: bool = True,
        ) -> Comparison:
            return await compare(increment, experiments, metrics, primary_metric, goal, write_report)

        @server.tool(title="Export experiments", annotations=WRITE_IDEMPOTENT,
                     description=EXPORT_DOC.format(write=EXPORT_WRITE, returns=", and `text` or the `path` written"))
        @tool_errors
        async def export_experiments(
            increment: str | None = None,
            format: Format = "csv",  # noqa: A002 - the seed's command says --format
            where: str | None = None,
            sort: str | None = None,
            path: str | None = None,
        ) -> ExportResult:
            return await export(increment, format, where, sort, path)

        _register_writes(server, project)
    else:
        @server.tool(title="Compare experiments", annotations=READ, description=COMPARE_DOC.format(write=""))
        @tool_errors
        async def compare_experiments(  # type: ignore[no-redef]
            increment: str | None = None,
            experiments: list[str] | None = None,
            metrics: list[str] | None = None,
            primary_metric: str | None = None,
            goal: Goal | None = None,
        ) -> Comparison:
            return await compare(increment, experiments, metrics, primary_metric, goal, False)

        @server.tool(title="Export experiments", annotations=READ,
                     description=EXPORT_DOC.format(write="", returns=" and the exported `text`"))
        @tool_errors
        async def export_experiments(  # type: ignore[no-redef]
            increment: str | None = None,
            format: Format = "csv",  # noqa: A002
            where: str | None = None,
            sort: str | None = None,
        ) -> ExportResult:
            return await export(increment, format, where, sort, None)


def _register_writes(server: MCPServer, project: Project) -> None:
    @server.tool(title="Record a decision", annotations=WRITE_APPEND)
    @tool_errors
    async def log_decision(
        selected: str,
        rationale: str,
        increment: str | None = None,
        alternatives: list[str] | None = None,
        metrics: dict[str, Any] | None = None,
        author: str | None = None,
    ) -> Decision:
        """Record which experiment the increment selected and why, in experiments/decisions.jsonl.

        - selected: the chosen experiment (`exp-003` or `exp-003-xgboost`); it gets the tag `selected`,
          moved from any experiment selected before.
        - rationale: why, in a few sentences (margins, trade-offs, cost), as people will read it later.
        - alternatives: the experiments it was chosen over.
        - metrics: the numbers behind the choice; the selected experiment's metrics when omitted.

        A later decision supersedes an earlier one; both stay in the history. Use after the user
        agreed on the choice, typically following compare_experiments.
        """
        from skill.decisions import log_decision as _log

        project.require_writable("log_decision")
        inc = project.increment(increment)
        return await _in_thread(_log, project.root, inc.id, selected, rationale,
                                alternatives=alternatives, metrics=metrics, author=author)

    @server.tool(title="Update the living docs", annotations=WRITE_IDEMPOTENT)
    @tool_errors
    async def sync_living_docs(increments: list[str] | None = None, dry_run: bool = False) -> SyncResult:
        """Update `.specweave/docs/internal/architecture/ml-experiments.md`: one section per increment
        (experiments conducted, the selected one and the rationale, its hyperparameters).

        - increments: only these (ids, numbers or slugs); default every increment with experiments.
        - dry_run: true returns the unified `diff` and writes nothing.

        Only the text between each section's markers is replaced; what people wrote elsewhere in
        the file stays. A second sync with nothing new changes no byte. Returns the path and the
        sections that changed.
        """
        from skill.living_docs import sync_living_docs as _sync

        project.require_writable("sync_living_docs")
        for ref in increments or []:
            project.increment(ref)
        result = await _in_thread(_sync, project.root, increments or None, dry_run=dry_run)
        return _relative(project, result, "path")
