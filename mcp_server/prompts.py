"""Prompts (slash commands) loaded from `prompts/*.md`, one file each.

A prompt file has YAML front matter (`name`, `description`, `arguments`:
a list of `name`, `description`, `required`, optional `default`, optional
`list: true` for a tool argument that takes a list) and a markdown body in
which `{{ argument }}` is replaced by the argument's value, or by its default
when the caller leaves it out, and `{{ arguments }}` by the tool arguments the
caller gave, as a JSON object (`{}` when none: the tool's defaults apply).
Argument names are the tools' own, so nothing is translated.

The same files are the source of the Claude Code plugin's `/ml:<name>`
commands (skill/claude_plugin.py renders them with `$ARGUMENTS` instead).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.prompts.base import Prompt, PromptArgument, UserMessage

if TYPE_CHECKING:
    from skill.project import Project

_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when built with it
_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_][a-z0-9_]*)\s*\}\}")
MAX_ARGUMENT = 500


@dataclass
class PromptFile:
    name: str
    description: str
    body: str
    arguments: list[dict[str, Any]] = field(default_factory=list)
    title: str | None = None


def prompts_dir() -> Path:
    """`skill/_data/prompts` in an installed wheel, `prompts/` in a checkout."""
    from skill.resources_path import data_dir

    return data_dir("prompts")


def parse_prompt_file(path: Path) -> PromptFile:
    """Front matter and body of one prompt file; ValueError naming the file when malformed."""
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        raise ValueError(f"{path.name}: no front matter (a '---' line first)")
    end = text.find("\n---", 4)
    if end < 0:
        raise ValueError(f"{path.name}: front matter is not closed by a '---' line")
    front = yaml.load(text[4:end], Loader=_SAFE_LOADER)  # noqa: S506 - a safe loader
    body = text[end + 4 :].lstrip("\n")
    if not isinstance(front, dict) or not isinstance(front.get("name"), str) or not front.get("description"):
        raise ValueError(f"{path.name}: front matter needs a name and a description")
    arguments = front.get("arguments") or []
    if not isinstance(arguments, list) or not all(isinstance(a, dict) and isinstance(a.get("name"), str)
                                                  for a in arguments):
        raise ValueError(f"{path.name}: arguments must be a list of mappings with a name")
    return PromptFile(name=front["name"], description=" ".join(str(front["description"]).split()), body=body,
                      arguments=arguments, title=front.get("title"))


def load_prompt_files(folder: Path | None = None) -> list[PromptFile]:
    folder = folder or prompts_dir()
    return [parse_prompt_file(path) for path in sorted(folder.glob("*.md"))]


def _clean(value: object) -> str:
    """An argument as one bounded line: it is quoted into the prompt text, never interpreted."""
    text = " ".join(str(value).split())
    return text[:MAX_ARGUMENT]


def tool_arguments(prompt: PromptFile, values: dict[str, str]) -> str:
    """The given arguments as the JSON object to pass to the tool (a `list: true` one split on commas)."""
    import json

    given: dict[str, Any] = {}
    for spec in prompt.arguments:
        value = values.get(spec["name"])
        if value is None:
            continue
        given[spec["name"]] = [v.strip() for v in value.split(",") if v.strip()] if spec.get("list") else value
    return "`" + json.dumps(given, ensure_ascii=False) + "`"


def substitute(body: str, values: dict[str, str], arguments: str) -> str:
    """`{{ name }}` replaced by `values[name]`, `{{ arguments }}` by `arguments`; others left as they are."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        return arguments if name == "arguments" else values.get(name, match.group(0))

    return _PLACEHOLDER.sub(one, body).strip() + "\n"


def render_prompt(prompt: PromptFile, arguments: dict[str, Any]) -> str:
    defaults = {a["name"]: str(a.get("default", "")) for a in prompt.arguments}
    values = {name: _clean(arguments[name]) for name in defaults if arguments.get(name) not in (None, "")}
    return substitute(prompt.body, {**defaults, **values}, tool_arguments(prompt, values))


def _make_prompt(spec: PromptFile) -> Prompt:
    async def render(**arguments: Any) -> list[UserMessage]:
        return [UserMessage(render_prompt(spec, arguments))]

    return Prompt(
        name=spec.name,
        title=spec.title,
        description=spec.description,
        arguments=[PromptArgument(name=a["name"], description=a.get("description"), required=bool(a.get("required")))
                   for a in spec.arguments],
        fn=render,
    )


def register(server: MCPServer, project: Project) -> None:
    for spec in load_prompt_files():
        server.add_prompt(_make_prompt(spec))


__all__ = ["PromptFile", "load_prompt_files", "parse_prompt_file", "prompts_dir", "render_prompt", "substitute",
           "tool_arguments"]
