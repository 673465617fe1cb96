"""Small writes an agent needs on an existing experiment: a note, tags.

Not registered in `--read-only` mode. They change metadata.yaml through
`skill.storage.edits`, which refuses to overwrite a file it cannot parse.
"""


from mcp.server.mcpserver import MCPServer

from skill.models import ExperimentSummary, Note

from .boundary import WRITE_APPEND, WRITE_IDEMPOTENT, Project, tool_errors


def register(server: MCPServer, project: Project) -> None:
    @server.tool(title="Add a note to an experiment", annotations=WRITE_APPEND)
    @tool_errors
    async def add_note(experiment: str, text: str, increment: str | None = None) -> Note:
        """Append a timestamped note to an experiment's metadata.yaml, e.g. why it failed, what it
        showed, or what to try next. Returns the note as stored (show_experiment lists them all)."""
        return project.add_note(experiment, text, increment)

    @server.tool(title="Tag an experiment", annotations=WRITE_IDEMPOTENT)
    @tool_errors
    async def tag_experiment(
        experiment: str,
        add: list[str] | None = None,
        remove: list[str] | None = None,
        increment: str | None = None,
    ) -> ExperimentSummary:
        """Add and/or remove tags on an experiment (e.g. add `production-candidate`).
        A tag is one line of at most 100 characters. Adding a tag it already has,
        or removing one it lacks, changes nothing. Returns the experiment with its tags now."""
        return project.tag(experiment, add or [], remove or [], increment)
