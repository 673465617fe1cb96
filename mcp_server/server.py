"""Building the MCP server: one `MCPServer` with this project's tools, resources and prompts.

    from mcp_server.server import build_server
    server = build_server("/path/to/project", read_only=True)

Start-up stays as fast as the SDK allows: nothing here imports more than the
store's path helpers. Tool modules (their result models, hence the comparison,
export and living-docs modules) load at registration, which `sw-ml serve`
defers to the first request that needs it; pandas and jinja2 load only inside
the tools that use them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INVALID_PARAMS,
    CallToolResult,
    GetPromptResult,
    InputRequiredResult,
    Prompt,
    Resource,
    ResourceTemplate,
    Tool,
)
from pydantic import ValidationError

from skill.paths import find_root

from . import SERVER_NAME
from .boundary import Project, describe_validation, one_line

INSTRUCTIONS = """\
Experiment tracking for this repository (specweave-ml). Experiments live in
.specweave/increments/<increment>/experiments/ as plain files. Start with
list_increments or list_experiments; show_experiment gives one in full;
compare_experiments ranks them and writes comparison.md; log_decision records
which one was selected and why; sync_living_docs updates the architecture docs.
Ids: increments as `0042` or `0042-slug`, experiments as `exp-003` or `exp-003-xgboost`."""


class SpecweaveServer(MCPServer):
    """MCPServer with one-line argument errors, resources listed from the store as it is now,
    and registration that may wait for the first request that needs it.

    Registering the tools builds their JSON schemas from the result models, which
    means importing the comparison, export and living-docs modules: tens of
    milliseconds that a client waiting for `initialize` need not wait for. With
    `defer(...)` those steps run once, on the first request that lists or uses a
    tool, resource or prompt; nothing a client sees differs but the timing.
    """

    def __init__(self, project: Project, **kwargs: Any):
        super().__init__(**kwargs)
        self.project = project
        self._deferred: list[Callable[[], None]] = []

    def defer(self, registrar: Callable[[], None]) -> None:
        self._deferred.append(registrar)

    def ensure_registered(self) -> None:
        """Run the deferred registrations (once; a no-op afterwards)."""
        while self._deferred:
            self._deferred.pop(0)()

    def _tool_input_schema(self, name: str) -> dict[str, Any] | None:
        # The SDK asks for a tool's input schema before middleware on modern HTTP requests.
        self.ensure_registered()
        return super()._tool_input_schema(name)

    async def list_tools(self) -> list[Tool]:
        self.ensure_registered()
        return await super().list_tools()

    async def list_prompts(self) -> list[Prompt]:
        self.ensure_registered()
        return await super().list_prompts()

    async def list_resource_templates(self) -> list[ResourceTemplate]:
        self.ensure_registered()
        return await super().list_resource_templates()

    async def read_resource(self, uri: Any, context: Context | None = None) -> Any:
        self.ensure_registered()
        return await super().read_resource(uri, context)

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context | None = None
    ) -> CallToolResult | InputRequiredResult:
        self.ensure_registered()
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            # The SDK reports schema failures as pydantic's multi-line text; the model
            # reads one line naming each bad argument and what it got instead.
            if isinstance(exc.__cause__, ValidationError):
                message = f"invalid arguments for {name}: {describe_validation(exc.__cause__)}"
                raise ToolError(one_line(message)) from exc
            if "Unknown tool" in str(exc):
                known = ", ".join(sorted(t.name for t in self._tool_manager.list_tools()))
                raise ToolError(one_line(f"{exc}; known tools: {known}")) from exc
            raise

    async def get_prompt(
        self, name: str, arguments: dict[str, Any] | None = None, context: Context | None = None
    ) -> GetPromptResult | InputRequiredResult:
        # An unknown prompt or a missing argument is the caller's mistake (-32602), said in one line;
        # the SDK would answer a generic internal error.
        self.ensure_registered()
        prompt = self._prompt_manager.get_prompt(name)
        if prompt is None:
            known = ", ".join(sorted(p.name for p in self._prompt_manager.list_prompts()))
            raise MCPError(code=INVALID_PARAMS, message=one_line(f"unknown prompt {name!r}; known: {known}"))
        missing = sorted(a.name for a in prompt.arguments or [] if a.required and not (arguments or {}).get(a.name))
        if missing:
            raise MCPError(code=INVALID_PARAMS,
                           message=one_line(f"prompt {name!r} needs the argument(s) {', '.join(missing)}"))
        return await super().get_prompt(name, arguments, context)

    async def list_resources(self) -> list[Resource]:
        from .resources import dynamic_resources

        self.ensure_registered()
        return [*await super().list_resources(), *dynamic_resources(self.project)]


def resolve_project_root(root: str | os.PathLike[str] | None = None) -> Path:
    """`root`, then SPECWEAVE_ROOT, CLAUDE_PROJECT_DIR, then the working directory walked up."""
    return find_root(root)


def build_server(root: str | os.PathLike[str] | None = None, *, read_only: bool = False,
                 log_level: str = "WARNING", defer: bool = False) -> SpecweaveServer:
    """The server for the project at `root` (found like the CLI finds it when None).

    With `defer`, tools, resources and prompts are registered on the first request
    that needs them rather than before `initialize` is answered (`sw-ml serve` does this).
    """
    from . import completions

    project = Project(resolve_project_root(root), read_only=read_only, memo=True)
    server = SpecweaveServer(
        project,
        name=SERVER_NAME,
        title="specweave-ml experiments",
        instructions=INSTRUCTIONS,
        version=_version(),
        log_level=log_level,  # type: ignore[arg-type]
    )

    def register_all() -> None:
        from . import prompts, resources, tools_analysis, tools_read, tools_write

        tools_read.register(server, project)
        tools_analysis.register(server, project)
        if not read_only:
            tools_write.register(server, project)
        resources.register(server, project)
        prompts.register(server, project)

    server.defer(register_all)
    if not defer:
        server.ensure_registered()
    completions.register(server, project)
    return server


def _version() -> str:
    try:
        from specweave import __version__
    except Exception:  # the facade is optional for the server; a version is cosmetic
        return ""
    return __version__


__all__ = ["SpecweaveServer", "build_server", "resolve_project_root"]
