"""Resources: the living docs, each increment's comparison.md, experiments as JSON.

URIs (all under `specweave://`):

- `specweave://increments` — every increment (JSON)
- `specweave://docs/ml-experiments.md` — the living docs (markdown)
- `specweave://increments/{increment}/experiments` — an increment's experiments (JSON)
- `specweave://increments/{increment}/experiments/{experiment}` — one experiment in full (JSON)
- `specweave://increments/{increment}/comparison.md` — the last comparison written (markdown)
- `specweave://increments/{increment}/experiments/{experiment}/artifacts/{+name}` — an artifact's bytes
  (never a model), wherever they are kept (the experiment folder or the object store)

Each existing comparison.md is also listed as a concrete resource, read
from the store at list time, so a client sees comparisons written after
the server started.
"""


import json
from pathlib import Path

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError
from mcp_types import Resource

from skill.project import Project

from .core_calls import resource_errors
from .tool_results import LIVING_DOCS_URI, SCHEME, comparison_uri

ARTIFACT_MARK = "/artifacts/"


def artifact_mime_type(uri: str) -> str | None:
    """The MIME type of an artifact resource, from its name (`application/octet-stream` when the name
    says nothing); None for a URI that is not an artifact's."""
    import mimetypes
    from urllib.parse import unquote

    if not uri.startswith(f"{SCHEME}increments/") or ARTIFACT_MARK not in uri:
        return None
    name = unquote(uri.split(ARTIFACT_MARK, 1)[1])
    kind, encoding = mimetypes.guess_type(name, strict=False)
    return kind if kind and not encoding else "application/octet-stream"


def _read_text(project: Project, path: Path, what: str, hint: str) -> str:
    if not path.is_file():
        raise ResourceNotFoundError(f"{what} not written yet ({project.rel(path)}); {hint}")
    return project.read_store_text(path)


def dynamic_resources(project: Project) -> list[Resource]:
    """A concrete resource for every comparison.md that exists now."""
    try:
        written = project.comparisons_written()
    except OSError:
        return []
    return [Resource(uri=comparison_uri(inc.id), name=f"comparison-{inc.id}",
                     title=f"Comparison of {inc.title} ({inc.id})", mime_type="text/markdown",
                     description=project.rel(path))
            for inc, path in written]


def register(server: MCPServer, project: Project) -> None:
    @server.resource(f"{SCHEME}increments", name="increments", title="Increments", mime_type="application/json",
                     description="Every increment of the project with its experiment count.")
    @resource_errors
    def increments_resource() -> str:
        rows = [inc.model_dump(mode="json") | {"path": project.rel(Path(inc.path))} for inc in project.increments()]
        return json.dumps(rows, indent=2, ensure_ascii=False)

    @server.resource(LIVING_DOCS_URI, name="living-docs", title="ML experiments (living docs)",
                     mime_type="text/markdown",
                     description=project.rel(project.living_docs_file()) + ": what was tried, what was selected, why.")
    @resource_errors
    def living_docs() -> str:
        path = project.living_docs_file()
        return _read_text(project, path, "living docs", "run the sync_living_docs tool to write them")

    @server.resource(comparison_uri("{increment}"), name="comparison",
                     title="An increment's comparison.md", mime_type="text/markdown",
                     description="The comparison table and best experiment last written by compare_experiments.")
    @resource_errors
    def comparison(increment: str) -> str:
        path = project.comparison_file(increment)
        return _read_text(project, path, "comparison", "run the compare_experiments tool to write it")

    @server.resource(f"{SCHEME}increments/{{increment}}/experiments", name="experiments",
                     title="An increment's experiments", mime_type="application/json",
                     description="Every experiment of the increment: params, latest metrics, status, tags.")
    @resource_errors
    def experiments(increment: str) -> str:
        from skill.schemas.records import ExperimentSummary

        rows = [ExperimentSummary.from_record(r).model_dump(mode="json") for r in project.experiments(increment)]
        return json.dumps(rows, indent=2, ensure_ascii=False)

    @server.resource(f"{SCHEME}increments/{{increment}}/experiments/{{experiment}}", name="experiment",
                     title="One experiment", mime_type="application/json",
                     description="One experiment in full, as show_experiment returns it.")
    @resource_errors
    def experiment(increment: str, experiment: str) -> str:
        # the same model, dumped the same way, as show_experiment's structured content
        return project.show(experiment, increment).model_dump_json(indent=2, by_alias=True)

    @server.resource(f"{SCHEME}increments/{{increment}}/experiments/{{experiment}}/artifacts/{{+name}}",
                     name="artifact", title="One artifact's content", mime_type="application/octet-stream",
                     description="The bytes of a recorded artifact (not a model), from the experiment folder or the "
                                 "object store, checked against its recorded sha256; at most 16 MiB. Served with "
                                 "the MIME type its name implies (image/png for a .png).")
    @resource_errors
    def artifact(increment: str, experiment: str, name: str) -> bytes:
        return project.read_artifact(experiment, name, increment)[1]
