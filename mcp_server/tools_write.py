"""Small writes an agent needs on an existing experiment: a note, tags.

Not registered in `--read-only` mode. They change metadata.yaml through the
core, which refuses to overwrite a file it cannot parse.
"""

from typing import Annotated

from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult

from skill.project import Project
from skill.schemas.records import ExperimentSummary, Note, full_ref

from .core_calls import WRITE_APPEND, WRITE_IDEMPOTENT, tool_errors
from .tool_results import answer, link_experiment


def register(server: MCPServer, project: Project) -> None:
    @server.tool(title="Add a note to an experiment", annotations=WRITE_APPEND)
    @tool_errors
    def add_note(experiment: str, text: str, increment: str | None = None) -> Annotated[CallToolResult, Note]:
        """Append a timestamped note to an experiment (why it failed, what to try next)."""
        from . import answer_text as texts

        record = project.experiment(experiment, increment)
        result = project.add_note(record.dir, text, record.increment)
        return answer(result, texts.note(result.model_dump(mode="json"), full_ref(record.increment, record.id)),
                      [link_experiment(record.increment, record.id)])

    @server.tool(title="Tag an experiment", annotations=WRITE_IDEMPOTENT)
    @tool_errors
    def tag_experiment(
        experiment: str,
        add: list[str] | None = None,
        remove: list[str] | None = None,
        increment: str | None = None,
    ) -> Annotated[CallToolResult, ExperimentSummary]:
        """Add and/or remove tags (one line, at most 100 characters each), e.g.
        `production-candidate`. Returns the experiment with its tags now."""
        from . import answer_text as text

        result = project.tag(experiment, add or [], remove or [], increment)
        return answer(result, text.tagged(result.model_dump(mode="json")),
                      [link_experiment(result.increment, result.id)])
