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
import inspect
from pathlib import Path
from typing import Any, Literal

import anyio.to_thread
from mcp.server.mcpserver import MCPServer

from skill.analysis.results import Comparison, Decision, ExportResult, SyncResult

from .boundary import READ, WRITE_APPEND, WRITE_IDEMPOTENT, Project, tool_errors

Goal = Literal["max", "min"]
Format = Literal["csv", "json", "markdown"]

COMPARE_DOC = """Compare an increment's experiments: a table of their metrics, the best one and why.

- increment: id, number (`0042`) or slug; default the active increment, else the newest.
- experiments: only these (`exp-002`, `xgboost`, ...); default all of the increment.
- where / status / tag: or only those these keep, as in list_experiments.
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


def _without(fn: Any, names: tuple[str, ...]) -> Any:
    """The same tool without the parameters that only write: in --read-only mode they are not even
    arguments (their defaults apply), with no second declaration to keep in step."""
    sig = inspect.signature(fn)

    @functools.wraps(fn)
    async def call(**kwargs: Any) -> Any:
        return await fn(**kwargs)

    call.__signature__ = sig.replace(parameters=[p for p in sig.parameters.values() if p.name not in names])
    call.__annotations__ = {k: v for k, v in fn.__annotations__.items() if k not in names}
    del call.__wrapped__
    return call


def register(server: MCPServer, project: Project) -> None:
    writable = not project.read_only
    # One declaration per tool: in --read-only mode the same tools are annotated read-only, their
    # descriptions leave the writing out, and the core writes nothing (no comparison.md, no path).
    compare_doc = COMPARE_DOC.format(write=COMPARE_WRITE if writable else "")
    export_doc = EXPORT_DOC.format(write=EXPORT_WRITE if writable else "",
                                   returns=", and `text` or the `path` written" if writable else " and the exported `text`")

    async def compare_experiments(
        increment: str | None = None,
        experiments: list[str] | None = None,
        where: str | None = None,
        status: str | None = None,
        tag: str | None = None,
        metrics: list[str] | None = None,
        primary_metric: str | None = None,
        goal: Goal | None = None,
        write_report: bool = True,
    ) -> Comparison:
        result = await _in_thread(project.compare, increment, experiments, where=where, status=status, tag=tag,
                                  metrics=metrics, primary_metric=primary_metric, goal=goal,
                                  write_report=write_report)
        return _relative(project, result, "report_path")

    async def export_experiments(
        increment: str | None = None,
        format: Format = "csv",  # noqa: A002 - the seed's command says --format
        where: str | None = None,
        sort: str | None = None,
        path: str | None = None,
    ) -> ExportResult:
        result = await _in_thread(project.export, increment, format, path, where=where, sort=sort, confined=True)
        if result.path is not None:
            project.inside(result.path)
        return _relative(project, result, "path")

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
        return await _in_thread(project.log_decision, selected, rationale, increment=increment,
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
        for ref in increments or []:
            project.increment(ref)  # a bad reference is refused before anything renders
        result = await _in_thread(project.sync_docs, increments, dry_run)
        return _relative(project, result, "path")
