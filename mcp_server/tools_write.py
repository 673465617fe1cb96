"""Small writes an agent needs on an existing experiment: a note, tags.

Not registered in `--read-only` mode. They change metadata.yaml through
`skill.edits`, which refuses to overwrite a file it cannot parse.
"""


from mcp.server.mcpserver import MCPServer

from skill.errors import InvalidInput
from skill.models import ExperimentSummary, Note

from .boundary import WRITE_APPEND, WRITE_IDEMPOTENT, Project, tool_errors
from .tools_read import locate


def register(server: MCPServer, project: Project) -> None:
    @server.tool(title="Add a note to an experiment", annotations=WRITE_APPEND)
    @tool_errors
    async def add_note(experiment: str, text: str, increment: str | None = None) -> Note:
        """Append a timestamped note to an experiment's metadata.yaml, e.g. why it failed, what it
        showed, or what to try next. Returns the note as stored (show_experiment lists them all)."""
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
    ) -> ExperimentSummary:
        """Add and/or remove tags on an experiment (e.g. add `production-candidate`).
        A tag is one line of at most 100 characters. Adding a tag it already has,
        or removing one it lacks, changes nothing. Returns the experiment with its tags now."""
        from skill.edits import set_tags
        from skill.store import load_experiment

        project.require_writable("tag_experiment")
        if not add and not remove:
            raise InvalidInput("tag_experiment arguments", {"add": add, "remove": remove},
                               "at least one tag in `add` or `remove`")
        record = locate(project, experiment, increment)
        set_tags(record, add=add or [], remove=remove or [])
        return ExperimentSummary.from_record(load_experiment(record.path, record.increment, project.root))
