"""MCP tools: diff_experiments. (Reproducing runs code: it stays on the CLI, with no tool here.)"""


from typing import Annotated, Any

from mcp_types import CallToolResult

from skill.schemas.reproduction import ExperimentDiff

from .core_calls import READ, tool_errors
from .tool_results import answer

MAX_CODE_BYTES = 8000


def register(server: Any, project: Any) -> None:
    """Register this module's tools on `server`."""

    @server.tool(title="Diff two experiments", annotations=READ)
    @tool_errors
    def diff_experiments(a: str, b: str, increment: str | None = None,
                         max_code_bytes: int = MAX_CODE_BYTES) -> Annotated[CallToolResult, ExperimentDiff]:
        """What changed from run `a` to run `b` (`exp-003`, a slug, or `0042/exp-003`): params added,
        removed, changed; every metric with b - a and relative delta; code (commit plus uncommitted patch):
        the files that differ and a unified diff of at most `max_code_bytes`; dataset fingerprints;
        python, platform, command, cwd, seeds; packages."""
        result = project.diff(a, b, increment or None, max_code_bytes=max_code_bytes)
        return answer(result, project.diff_text(result))  # the text `sw-ml diff` prints: one formatter, two faces
