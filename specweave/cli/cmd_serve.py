"""`sw-ml serve`: the MCP server, run as `python -m mcp_server` with the arguments as given."""

from __future__ import annotations

import argparse

from .command_kit import Commands, run_module

MODULE = "mcp_server"


def serve(args: argparse.Namespace) -> int:
    return run_module(args, MODULE, "serve")


def register(commands: Commands) -> None:
    p = commands.add("serve", serve, "Run the MCP server (stdio by default, or streamable HTTP).",
                     "sw-ml serve --transport http --host 127.0.0.1 --port 8765", root=False, passthrough=MODULE)
    p.add_argument("options", nargs=argparse.REMAINDER, metavar="...",
                   help=f"the options of `python -m {MODULE}` (--root, --transport, --host, --port, --token, "
                   "--read-only, ...)")
