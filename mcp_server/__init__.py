"""The MCP face of specweave-ml: tools, resources, prompts and completions over `skill/`.

Start it with `sw-ml serve` or `python -m mcp_server`; build one in process
with `mcp_server.server.build_server(root)`. Importing this package costs
nothing: the SDK loads when a server is built.
"""

from __future__ import annotations

SERVER_NAME = "ml"

__all__ = ["SERVER_NAME"]
