"""Tools that compare, decide, document and export: the work after the experiments ran.

The code behind them (pandas, jinja2) loads inside the tool, on first call,
so the server starts as fast as a bare one. Their result models are light
pydantic modules, imported here because a tool's output schema is built at
registration.
"""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer

from skill.decisions import Decision

from .boundary import WRITE_APPEND, Project, tool_errors


def register(server: MCPServer, project: Project) -> None:
    if not project.read_only:
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
        from skill.decisions import log_decision as _log

        project.require_writable("log_decision")
        project.inside(project.store)
        return _log(project.root, increment or None, selected, rationale, alternatives=alternatives,
                    metrics=metrics, author=author)
