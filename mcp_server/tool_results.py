"""How a tool answers: compact text for the model, the structured content once, links to documents.

A tool returns `answer(model, text, links)`, declared as `Annotated[CallToolResult, Model]`: the
SDK publishes `Model`'s schema as the output schema and validates the structured content against
it, while the text block is what we write (`mcp_server/answer_text.py`), not an indented JSON copy.

Budgets: a default answer stays under `BUDGET` bytes of text and of structured content however many
runs the store holds. Lists are cut to fit (`fit`) and page on with `next_cursor`; text past the
budget is cut at a line with a note saying where the rest is. The text block is inert: control
characters from a clone's names and notes are escaped (`skill.controls`); the structured content
keeps the exact values.

Tools registered elsewhere (tools_views, tools_diff) can use the same three helpers:

    from .tool_results import answer, fit, link_experiment
    @server.tool(...)
    def diff_experiments(...) -> Annotated[CallToolResult, ExperimentDiff]:
        result = project.diff(...)
        return answer(result, "one line per difference ...", [link_experiment(project, inc, exp_id)])

A tool that returns its model as it is still gets compact JSON text (SpecweaveServer.call_tool).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from mcp_types import CallToolResult, ResourceLink, TextContent
from pydantic import BaseModel

from skill.controls import escape_controls
from skill.project import Project

M = TypeVar("M", bound=BaseModel)

BUDGET = 8000  # bytes, for the text block and for the structured content of a default answer
# Lists are fitted to leave room for the answer's other fields under BUDGET.
LIST_BUDGET = 6000
SCHEME = "specweave://"
LIVING_DOCS_URI = f"{SCHEME}docs/ml-experiments.md"

# One line, said wherever a project or increment has nothing yet: what to do, not an error.
FIRST_RUN = ("Log a first run from a training script: `from specweave import track_experiment` then "
             "`with track_experiment(\"baseline\") as exp: exp.log_metric(\"accuracy\", 0.9)`.")


def dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True)


def nbytes(data: Any) -> int:
    """Bytes of `data` as compact JSON (a model is dumped first): what the wire carries."""
    if isinstance(data, BaseModel):
        data = dump(data)
    return len(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode())


def fit(build: Callable[[int], M], limit: int, budget: int = LIST_BUDGET, floor: int = 1) -> M:
    """`build(limit)`, rebuilt with a smaller limit while its JSON is over `budget` bytes."""
    result = build(limit)
    while limit > floor and (size := nbytes(result)) > budget:
        limit = max(floor, min(limit - 1, limit * budget // size))
        result = build(limit)
    return result


def cut(text: str, budget: int = BUDGET) -> str:
    """`text` whole if it fits in `budget` bytes, else up to the last whole line that does."""
    if len(text.encode()) <= budget:
        return text
    lines, kept, size = text.splitlines(), [], 0
    for line in lines:
        size += len(line.encode()) + 1
        if size > budget - 120:
            break
        kept.append(line)
    kept.append(f"… {len(lines) - len(kept)} more lines left out; the structured content has them all")
    return "\n".join(kept)


def answer(model: BaseModel, text: str, links: Iterable[ResourceLink | None] = ()) -> CallToolResult:
    """The tool result: `text` for the model, `model` as the structured content, then the links."""
    content: list[Any] = [TextContent(type="text", text=cut(escape_controls(text)))]  # structured: exact
    content.extend(link for link in links if link is not None)
    return CallToolResult(content=content, structured_content=dump(model))


def link_experiment(increment: str, experiment: str) -> ResourceLink:
    return ResourceLink(uri=f"{SCHEME}increments/{increment}/experiments/{experiment}", name=experiment,
                        title=f"{increment}/{experiment}", mime_type="application/json",
                        description="the experiment in full (JSON)")


def link_experiments(increment: str) -> ResourceLink:
    return ResourceLink(uri=f"{SCHEME}increments/{increment}/experiments", name=f"experiments-{increment}",
                        mime_type="application/json", description=f"every experiment of {increment} (JSON)")


def comparison_uri(increment: str) -> str:
    return f"{SCHEME}increments/{increment}/comparison.md"


def link_comparison(increment: str, path: str) -> ResourceLink:
    """A link to the increment's comparison.md, written at `path` (relative to the project root)."""
    return ResourceLink(uri=comparison_uri(increment), name=f"comparison-{increment}", mime_type="text/markdown",
                        description=path)


def link_living_docs(project: Project) -> ResourceLink | None:
    path = project.living_docs_file()
    if not path.is_file():
        return None
    return ResourceLink(uri=LIVING_DOCS_URI, name="living-docs", mime_type="text/markdown",
                        description=project.rel(path))


def compact_text(result: CallToolResult) -> CallToolResult:
    """A result whose text block is the SDK's indented JSON of its structured content, with the text
    made compact JSON (half the bytes): for tools that return their model as it is."""
    if result.is_error or result.structured_content is None or len(result.content) != 1:
        return result
    block = result.content[0]
    if not isinstance(block, TextContent) or not block.text.startswith("{\n"):
        return result
    text = escape_controls(json.dumps(result.structured_content, ensure_ascii=False, separators=(",", ":")))
    return result.model_copy(update={"content": [TextContent(type="text", text=cut(text))]})


__all__ = ["BUDGET", "FIRST_RUN", "LIST_BUDGET", "LIVING_DOCS_URI", "SCHEME", "answer", "compact_text", "comparison_uri",
           "cut", "dump", "fit", "link_comparison", "link_experiment", "link_experiments", "link_living_docs", "nbytes"]
