"""Small writes an agent needs on an existing experiment: a note, tags.

Not registered in `--read-only` mode. They change metadata.yaml through
`skill.edits`, which refuses to overwrite a file it cannot parse.
"""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

from skill.errors import InvalidInput
from skill.models import ExperimentMeta

from .boundary import WRITE_APPEND, WRITE_IDEMPOTENT, Project, tool_errors
from .tools_read import locate


def register(server: MCPServer, project: Project) -> None:
    @server.tool(title="Add a note to an experiment", annotations=WRITE_APPEND)
    @tool_errors
    async def add_note(experiment: str, text: str, increment: str | None = None) -> ExperimentMeta:
        """Append a timestamped note to an experiment's metadata.yaml, e.g. why it failed or what
        it showed. Returns the experiment's metadata with the new note last."""
        from skill.edits import add_note as _add_note

        project.require_writable("add_note")
        return _add_note(locate(project, experiment, increment), text)

    @server.tool(title="Tag an experiment", annotations=WRITE_IDEMPOTENT)
    @tool_errors
    async def tag_experiment(
        experiment: str,
        add: list[str] | None = None,
        remove: list[str] | None = None,
        increment: str | None = None,
    ) -> ExperimentMeta:
        """Add and/or remove tags on an experiment (e.g. add `production-candidate`).
        A tag is one line of at most 100 characters. Adding a tag it already has,
        or removing one it lacks, changes nothing. Returns the updated metadata."""
        from skill.edits import set_tags

        project.require_writable("tag_experiment")
        if not add and not remove:
            raise InvalidInput("tag_experiment arguments", {"add": add, "remove": remove},
                               "at least one tag in `add` or `remove`")
        return set_tags(locate(project, experiment, increment), add=add or [], remove=remove or [])
