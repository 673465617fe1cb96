"""Building the MCP server: one `MCPServer` with this project's tools, resources and prompts.

    from mcp_server.server import build_server
    server = build_server("/path/to/project", read_only=True)

Start-up stays as fast as the SDK allows: registration imports only the tools'
light result models (`skill.schemas.reports`); the comparison, export and living-docs
logic, pandas and jinja2 load inside the tools that use them, on first call.
"""

from __future__ import annotations

import os
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.lowlevel.helper_types import ReadResourceContents
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INVALID_PARAMS,
    CallToolResult,
    GetPromptResult,
    InputRequiredResult,
    Resource,
)
from mcp_types import Tool as MCPTool
from pydantic import ValidationError

from skill.project import Project

from . import SERVER_NAME
from .core_calls import describe_validation, in_worker, one_line

INSTRUCTIONS = """\
Experiment tracking for this repository (specweave-ml). Experiments live in
.specweave/increments/<increment>/experiments/ as plain files. Start with
list_increments or list_experiments; show_experiment gives one in full;
compare_experiments ranks them and writes comparison.md; log_decision records
which one was selected and why; sync_living_docs updates the architecture docs.
Ids: increments as `0042` or `0042-slug`, experiments as `exp-003` or `exp-003-xgboost`."""


class SpecweaveServer(MCPServer):
    """MCPServer with one-line argument errors and resources listed from the store as it is now.

    Only the SDK's public API is used: the public `call_tool`, `get_prompt` and `list_resources`
    are extended, and everything is registered before the server starts (registration stays cheap:
    the tools import only light result models; the logic behind them loads on first call).
    """

    def __init__(self, project: Project, **kwargs: Any):
        super().__init__(**kwargs)
        self.project = project
        self._listed: tuple[tuple[Any, ...], list[MCPTool]] | None = None

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context | None = None
    ) -> CallToolResult | InputRequiredResult:
        tools = {tool.name: tool for tool in await self.list_tools()}
        if name not in tools:
            # The specification's answer to an unknown tool: a protocol error, invalid params.
            raise MCPError(code=INVALID_PARAMS, message=one_line(
                f"unknown tool {name!r}{_nearest(name, tools)}; known tools: {', '.join(sorted(tools))}"))
        _refuse_unknown_arguments(name, arguments, tools[name], self.project.read_only)
        try:
            result = await super().call_tool(name, arguments, context)
        except ToolError as exc:
            # The SDK reports schema failures as pydantic's multi-line text; the model
            # reads one line naming each bad argument and what it got instead.
            if isinstance(exc.__cause__, ValidationError):
                message = f"invalid arguments for {name}: {describe_validation(exc.__cause__)}"
                raise ToolError(one_line(message)) from exc
            raise
        if isinstance(result, CallToolResult):
            from .tool_results import compact_text

            result = compact_text(result)  # a tool that returned its bare model: compact JSON, not indented
        return result

    async def get_prompt(
        self, name: str, arguments: dict[str, Any] | None = None, context: Context | None = None
    ) -> GetPromptResult | InputRequiredResult:
        # An unknown prompt or a missing argument is the caller's mistake (-32602), said in one line;
        # the SDK would answer a generic internal error.
        prompts = {prompt.name: prompt for prompt in await self.list_prompts()}
        prompt = prompts.get(name)
        if prompt is None:
            raise MCPError(code=INVALID_PARAMS, message=one_line(f"unknown prompt {name!r}; known: "
                                                                 f"{', '.join(sorted(prompts))}"))
        missing = sorted(a.name for a in prompt.arguments or [] if a.required and not (arguments or {}).get(a.name))
        if missing:
            raise MCPError(code=INVALID_PARAMS,
                           message=one_line(f"prompt {name!r} needs the argument(s) {', '.join(missing)}"))
        return await super().get_prompt(name, arguments, context)

    async def list_tools(self) -> list[MCPTool]:
        # Every tool listed compactly (no auto titles, dedented, folded nullables): tools/list is read
        # by the model on every conversation. Built once: the tools are all registered before a start.
        from .listing_compaction import compact_tool

        tools = await super().list_tools()
        # keyed by the names: the SDK builds new schema objects on every listing (an id() key never hit,
        # so each tools/list compacted every schema again, ~7 ms), and no tool is added after the start
        key = tuple(t.name for t in tools)
        if self._listed is None or self._listed[0] != key:
            self._listed = (key, [compact_tool(t) for t in tools])
        return list(self._listed[1])

    async def read_resource(self, uri: Any, context: Context | None = None) -> Any:
        # An artifact's MIME type comes from its name (a PNG is image/png), not the template's
        # catch-all: a host renders what it can recognise.
        contents = await super().read_resource(uri, context)
        if isinstance(contents, InputRequiredResult):
            return contents
        from .resources import artifact_mime_type

        guessed = artifact_mime_type(str(uri))
        if guessed is None:
            return contents
        return [ReadResourceContents(content=c.content, mime_type=guessed, meta=c.meta) for c in contents]

    async def list_resources(self) -> list[Resource]:
        from .resources import dynamic_resources

        return [*await super().list_resources(), *await in_worker(dynamic_resources, self.project)]


# Arguments a --read-only server's tools do not take, and what to do instead.
_READ_ONLY_ARGUMENTS = {
    ("export_experiments", "path"): "leave out `path`: the export comes back inline in `text`",
    ("compare_experiments", "write_report"): "leave out `write_report`: the comparison comes back without writing "
                                             "comparison.md",
}


def _nearest(name: str, known: Any) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.5)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _refuse_unknown_arguments(tool: str, arguments: dict[str, Any], listed: MCPTool, read_only: bool) -> None:
    """One line for an argument the tool does not take, naming the nearest one it does: a typo in an
    optional argument would otherwise fall back to its default without a word."""
    properties = (listed.input_schema or {}).get("properties") or {}
    unknown = [key for key in arguments if key not in properties]
    if not unknown:
        return
    key = unknown[0]
    if read_only and (tool, key) in _READ_ONLY_ARGUMENTS:
        if key == "write_report" and arguments[key] is False:
            arguments.pop(key)  # asking not to write is what a read-only server does anyway
            return _refuse_unknown_arguments(tool, arguments, listed, read_only)
        raise ToolError(one_line(f"{tool} cannot take {key!r} here: this server is read-only (sw-ml serve "
                                 f"--read-only) and writes nothing; {_READ_ONLY_ARGUMENTS[tool, key]}"))
    valid = ", ".join(properties) or "none"
    raise ToolError(one_line(f"unknown argument {key!r} for {tool}{_nearest(key, properties)}; "
                             f"it takes: {valid}"))


def build_server(root: str | os.PathLike[str] | None = None, *, read_only: bool = False,
                 log_level: str = "WARNING") -> SpecweaveServer:
    """The server for the project at `root` (found like the CLI finds it when None: SPECWEAVE_ROOT,
    CLAUDE_PROJECT_DIR, then the working directory walked up), with every tool, resource, prompt and
    completion registered."""
    from . import completions, prompts, resources, tools_analysis, tools_diff, tools_read, tools_views, tools_write

    project = Project(root, read_only=read_only, memo=True)
    server = SpecweaveServer(
        project,
        extensions=[tools_views.build_apps(project)],  # the MCP App (view_experiments and its ui:// page)
        name=SERVER_NAME,
        title="specweave-ml experiments",
        instructions=INSTRUCTIONS,
        version=_version(),
        log_level=log_level,  # type: ignore[arg-type]
    )
    tools_read.register(server, project)
    tools_analysis.register(server, project)
    tools_diff.register(server, project)
    if not read_only:
        tools_write.register(server, project)
    resources.register(server, project)
    prompts.register(server, project)
    completions.register(server, project)
    return server


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("specweave-ml")
    except PackageNotFoundError:  # a checkout that was never installed; a version is cosmetic
        return ""


__all__ = ["SpecweaveServer", "build_server"]
