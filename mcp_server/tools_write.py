"""Small writes an agent needs on an existing experiment: a note, tags.

Not registered in `--read-only` mode. They change metadata.yaml through
`skill.storage.edits`, which refuses to overwrite a file it cannot parse.
"""

from typing import Annotated

from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult

from skill.schemas.records import ExperimentSummary, Note

from .answers import answer, link_experiment
from .boundary import WRITE_APPEND, WRITE_IDEMPOTENT, Project, tool_errors


def register(server: MCPServer, project: Project) -> None:
    @server.tool(title="Add a note to an experiment", annotations=WRITE_APPEND)
    @tool_errors
    async def add_note(experiment: str, text: str, increment: str | None = None) -> Annotated[CallToolResult, Note]:
        """Append a timestamped note to an experiment (why it failed, what to try next)."""
        from skill.schemas.records import full_ref

        from . import text as texts

        record = project.experiment(experiment, increment)
        result = project.add_note(record.dir, text, record.increment)
        return answer(result, texts.note(result.model_dump(mode="json"), full_ref(record.increment, record.id)),
                      [link_experiment(record.increment, record.id)])

    @server.tool(title="Tag an experiment", annotations=WRITE_IDEMPOTENT)
    @tool_errors
    async def tag_experiment(
        experiment: str,
        add: list[str] | None = None,
        remove: list[str] | None = None,
        increment: str | None = None,
    ) -> Annotated[CallToolResult, ExperimentSummary]:
        """Add and/or remove tags (one line, at most 100 characters each), e.g.
        `production-candidate`. Returns the experiment with its tags now."""
        from . import text

        result = project.tag(experiment, add or [], remove or [], increment)
        return answer(result, text.tagged(result.model_dump(mode="json")),
                      [link_experiment(result.increment, result.id)])
