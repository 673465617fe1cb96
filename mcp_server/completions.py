"""Completion of increment and experiment ids for every prompt argument and template parameter."""


from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp_types import Completion, CompletionArgument, CompletionContext, PromptReference, ResourceTemplateReference

from skill.errors import SpecweaveError
from skill.project import Project

from .core_calls import in_worker

MAX_VALUES = 100
FORMATS = ("csv", "json", "markdown")


def increment_ids(project: Project, prefix: str) -> list[str]:
    return [inc.id for inc in project.increments() if inc.id.startswith(prefix) or inc.slug.startswith(prefix)]


def experiment_ids(project: Project, prefix: str, increment: str | None) -> list[str]:
    try:
        ids = project.experiment_ids(increment)
    except SpecweaveError:  # an increment half typed: offer every increment's
        ids = project.experiment_ids(None)
    out: list[str] = []
    for readable, slug in ids:
        if (readable.startswith(prefix) or slug.startswith(prefix)) and readable not in out:
            out.append(readable)
    return out


def metric_names(project: Project, prefix: str, increment: str | None) -> list[str]:
    names: set[str] = set()
    for record in project.experiments(increment or None):
        names.update(k for k in record.metrics if k.startswith(prefix))
    return sorted(names)


def complete_value(project: Project, name: str, prefix: str, context: dict[str, str]) -> list[str]:
    if name in ("increment", "increments"):
        return increment_ids(project, prefix)
    if name in ("experiment", "experiments", "selected"):
        return experiment_ids(project, prefix, context.get("increment") or None)
    if name in ("metric", "primary_metric"):
        return metric_names(project, prefix, context.get("increment") or None)
    if name == "format":
        return [f for f in FORMATS if f.startswith(prefix)]
    if name == "status":
        return [s for s in project.statuses() if s.startswith(prefix)]
    return []


def register(server: MCPServer, project: Project) -> None:
    @server.completion()
    async def complete(
        ref: PromptReference | ResourceTemplateReference,
        argument: CompletionArgument,
        context: CompletionContext | None,
    ) -> Completion | None:
        known: dict[str, Any] = dict(context.arguments or {}) if context else {}
        try:
            values = await in_worker(complete_value, project, argument.name, argument.value or "", known)
        except (SpecweaveError, OSError):
            values = []
        return Completion(values=values[:MAX_VALUES], total=len(values), has_more=len(values) > MAX_VALUES)
