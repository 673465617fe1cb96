"""MCP helpers: tool calls generated from tools/list, and the server in its own process. The stores the
MCP tests read are tests/fixtures.py's `sample_store`."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# -- calls generated from tools/list, for tests that must cover every tool whatever registers it -----
TEXT = "ünïcödé ✅ 模型 \u202e | pipes `ticks` \"quotes\""


def _samples(name: str, schema: dict[str, Any], required: bool, refs: list[str], incs: list[str]) -> list[Any]:
    """The values tried for one argument: the store's own references where it names an experiment
    or increment, hostile text where it is free text, every enum value, both booleans."""
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    if name in ("experiment", "selected"):
        return refs
    if name == "increment":
        return incs
    if name == "increments":
        return [incs[:1], incs]
    if name in ("experiments", "alternatives"):
        return [refs[:2]]
    if name in ("text", "rationale", "author"):
        return [TEXT]
    if name == "add":
        return [["ünï-tag ✅"]]
    if name == "remove":
        return [["not-there"]]
    if "enum" in schema:
        return [v for v in schema["enum"] if v is not None]
    if "boolean" in kinds:
        return [False, True]
    if not required:
        return []
    # a required argument of a tool this file does not know: most take experiments
    if "array" in kinds:
        return [refs[:2]]
    if "string" in kinds:
        return refs
    if "integer" in kinds or "number" in kinds:
        return [1]
    return [{}]


def tool_calls(tool: Any, refs: list[str], incs: list[str]) -> list[dict[str, Any]]:
    """Calls of a listed tool, generated from its input schema: its required arguments, then each
    argument in turn over its samples (see `_samples`)."""
    props = tool.input_schema.get("properties", {})
    required = set(tool.input_schema.get("required", []))
    base = {}
    for name in required:
        values = _samples(name, props[name], True, refs, incs)
        base[name] = values[0] if values else "x"
    calls = [base]
    for name, schema in props.items():
        for value in _samples(name, schema, name in required, refs, incs):
            calls.append({**base, name: value})
    unique = {json.dumps(c, sort_keys=True): c for c in calls}
    return list(unique.values())


# -- a server in its own process -----------------------------------------------------------------------
def server_env() -> dict[str, str]:
    """The environment for a server subprocess: this checkout importable, no token or root of the caller's."""
    base = {k: v for k, v in os.environ.items() if k not in ("SPECWEAVE_MCP_TOKEN", "SPECWEAVE_ROOT")}
    return {**base, "PYTHONPATH": str(Path(__file__).resolve().parent.parent), "SPECWEAVE_QUIET": "1"}


@contextlib.contextmanager
def http_server(root: Path, token: str) -> Iterator[str]:
    """`python -m mcp_server` over streamable HTTP on a free loopback port; yields its /mcp URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "mcp_server", "--root", str(root), "--transport", "http",
                             "--port", str(port), "--token", token], env=server_env(), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, "the server exited"
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
            assert time.monotonic() < deadline, "the server did not start listening"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        stop_server(proc)


def stop_server(proc: subprocess.Popen) -> None:
    """Ctrl-C, as a person stops `sw-ml serve`; killed only if it has not ended within 10 s."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def listed_calls(client: Any, *, answered_only: bool = False) -> list[dict[str, Any]]:
    """Calls of every listed tool over the store's own increments and references (see `tool_calls`);
    with `answered_only`, one per tool: the first the client sees answered without an error."""
    tools = (await client.list_tools()).tools
    incs = [r["id"] for r in (await client.call_tool("list_increments", {})).structured_content["increments"]]
    refs = []
    for inc in incs:
        page = await client.call_tool("list_experiments", {"increment": inc, "limit": 500})
        refs += [r["ref"] for r in page.structured_content["experiments"]]
    calls = []
    for tool in tools:
        for args in tool_calls(tool, refs, incs):
            if answered_only and (await client.call_tool(tool.name, args)).is_error:
                continue
            calls.append({"name": tool.name, "arguments": args})
            if answered_only:
                break
    return calls
