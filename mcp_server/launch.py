"""Starting the MCP server from a command line: `python -m mcp_server [--transport http] ...`.

Its arguments and runner; `sw-ml serve` runs the same with the same arguments. Nothing heavy is
imported here: the MCP SDK loads only when the server is built.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

DEFAULT_PORT = 8765
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", help="project root (default: SPECWEAVE_ROOT, CLAUDE_PROJECT_DIR, "
                        "then the working directory walked up)")
    parser.add_argument("--transport", choices=("stdio", "http"), default="stdio",
                        help="stdio (default, what Claude Code and Desktop run) or streamable HTTP")
    parser.add_argument("--host", default="127.0.0.1",
                        help="HTTP bind address (default 127.0.0.1; any other needs --token or SPECWEAVE_MCP_TOKEN)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"HTTP port (default {DEFAULT_PORT})")
    parser.add_argument("--token", default=None,
                        help="bearer token HTTP clients must send (default: env SPECWEAVE_MCP_TOKEN; on loopback "
                        "without either, a new one is made at start and printed once on stderr)")
    parser.add_argument("--no-auth", action="store_true",
                        help="serve HTTP without a token: loopback only, and any local user can then call the tools")
    parser.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                        help="another Host name HTTP clients may use (repeatable); DNS-rebinding checks stay on")
    parser.add_argument("--read-only", action="store_true",
                        help="serve without any tool that writes (notes, tags, decisions, docs, exports)")
    parser.add_argument("--log-level", choices=LOG_LEVELS, default="WARNING", help="server log level (stderr)")


def _fail(message: str, code: int = 2) -> int:
    print(f"sw-ml: {message}", file=sys.stderr)
    return code


def run_serve(args: argparse.Namespace) -> int:
    """Serve until the client disconnects (stdio) or the process is stopped (HTTP)."""
    from skill.errors import SpecweaveError

    root = getattr(args, "root", None)
    if root is not None and not Path(root).expanduser().is_dir():
        return _fail(f"invalid --root {root!r}: expected an existing folder")
    transport = getattr(args, "transport", "stdio")
    token = getattr(args, "token", None) or os.environ.get("SPECWEAVE_MCP_TOKEN") or None
    no_auth = bool(getattr(args, "no_auth", False))
    try:
        if transport == "http":
            from skill.http_fence import resolve_auth

            from .http import TOKEN_HOW, bind_socket

            if not 0 < args.port < 65536:
                return _fail(f"invalid --port {args.port}: expected 1 to 65535")
            if no_auth and getattr(args, "token", None):
                return _fail("--no-auth and --token contradict each other: give one of them")
            # before anything starts: refuse an unprotected bind; --no-auth overrides SPECWEAVE_MCP_TOKEN
            auth = resolve_auth(args.host, token, no_auth=no_auth, how=TOKEN_HOW)
            sock = bind_socket(args.host, args.port)  # a busy port is refused before any URL or token is shown
        from .server import build_server

        server = build_server(root, read_only=bool(getattr(args, "read_only", False)),
                              log_level=getattr(args, "log_level", "WARNING"))
        if not server.project.exists:
            # stderr: stdout is the protocol. A client started from another folder (Claude Desktop
            # starts servers in /) would otherwise serve an empty project without a word.
            print(f"sw-ml: no .specweave/ in {server.project.root}; serving it anyway (pass --root, or set "
                  "SPECWEAVE_ROOT or CLAUDE_PROJECT_DIR, to serve another project)", file=sys.stderr, flush=True)
        if transport == "http":
            from .http import serve_http, server_url

            mode = " (read-only)" if server.project.read_only else ""
            print(f"sw-ml: serving {server.project.root} at {server_url(args.host, args.port)}{mode}",
                  file=sys.stderr, flush=True)
            if auth.generated:
                # once, as Jupyter does: the token lives only in this process and on this stderr
                print(f"specweave-ml MCP server: {server_url(args.host, args.port, auth.token)}\n"
                      f"  or send the header  Authorization: Bearer {auth.token}\n"
                      f"  (a new token each start; set SPECWEAVE_MCP_TOKEN or --token to keep one)",
                      file=sys.stderr, flush=True)
            elif auth.token is None:
                print("sw-ml: --no-auth: any local user or process can call every tool", file=sys.stderr, flush=True)
            serve_http(server, args.host, args.port, auth.token, tuple(args.allow_host), args.log_level,
                       no_auth=auth.token is None, sock=sock)
        else:
            server.run("stdio")
    except SpecweaveError as exc:
        return _fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        return 130
    return 0


__all__ = ["DEFAULT_PORT", "add_serve_arguments", "run_serve"]
