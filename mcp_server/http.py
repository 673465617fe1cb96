"""Streamable HTTP transport behind the fence of `skill.http_fence`: a bearer token by default,
DNS-rebinding protection always on.

The fence's rules (who needs a token, where a request carries it, which Host and Origin names are
this server's) live in the core, shared with the dashboard; this module applies them: the SDK checks
the Host and Origin allow-lists (421 / 403; passed explicitly, since the SDK itself turns the checks on
only for loopback hosts), and `BearerTokenMiddleware` answers 401 to a request without the token before
it reaches the MCP endpoint. Without `--token` or `SPECWEAVE_MCP_TOKEN` a loopback server makes a token
at start and prints it once, as Jupyter does; `--no-auth` opts out, on a loopback name only.
"""

from __future__ import annotations

import socket
from typing import Any
from urllib.parse import parse_qsl, urlencode

from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from skill import http_fence as fence
from skill.errors import InvalidInput

TOKEN_ENV = "SPECWEAVE_MCP_TOKEN"
TOKEN_HOW = f"pass --token or set {TOKEN_ENV}"  # how a user gives this server its token
MCP_PATH = "/mcp"


def server_url(host: str, port: int, token: str | None = None) -> str:
    """The endpoint's URL (with `?token=` when a token is given)."""
    url = f"http://{fence.bracket(host)}:{port}{MCP_PATH}"
    return f"{url}?{urlencode({fence.TOKEN_PARAM: token})}" if token else url


def security_settings(host: str, extra_hosts: list[str] | tuple[str, ...] = ()) -> TransportSecuritySettings:
    """The fence's Host/Origin allow-lists for the bound address, handed to the SDK, which checks them
    (421 / 403) on every request."""
    return TransportSecuritySettings(enable_dns_rebinding_protection=True,
                                     allowed_hosts=fence.allowed_hosts(host, extra_hosts),
                                     allowed_origins=fence.allowed_origins(host, extra_hosts))


class BearerTokenMiddleware:
    """Refuse every HTTP request that does not present the token (`skill.http_fence`: the header, else
    the `token` query parameter). The parameter is taken out of the query string before the request
    goes on, so access logs and the MCP app never see it.
    """

    def __init__(self, app: ASGIApp, token: str):
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
            given = fence.presented_token(Headers(scope=scope).get("authorization"), query)
            if not fence.token_matches(given, self.token):
                response = JSONResponse(
                    {"error": "invalid_token",
                     "error_description": "a bearer token is required (Authorization: Bearer <token>)"},
                    status_code=401, headers={"WWW-Authenticate": 'Bearer realm="specweave-ml"'},
                )
                await response(scope, receive, send)
                return
            rest = fence.query_without_token(query)
            if rest is not None:
                scope["query_string"] = rest.encode()  # in place: uvicorn's access log reads this same scope
        await self.app(scope, receive, send)


def build_http_app(server: MCPServer, host: str, token: str | None,
                   extra_hosts: list[str] | tuple[str, ...] = (), *, no_auth: bool = False) -> Any:
    """The ASGI app serving `server` at /mcp, behind the fence.

    `token` None is refused unless `no_auth` (on loopback): a caller that wants a
    generated token asks `skill.http_fence.resolve_auth` for one, and so knows it.
    """
    if no_auth:
        token = fence.resolve_auth(host, None, no_auth=True).token
    else:
        token = fence.check_token(host, token, how=TOKEN_HOW)
        if token is None:
            raise InvalidInput("bearer token", None, "a token, or no_auth on a loopback name")
    app: Any = server.streamable_http_app(streamable_http_path=MCP_PATH, host=host,
                                          transport_security=security_settings(host, extra_hosts))
    return BearerTokenMiddleware(app, token) if token else app


def bind_socket(host: str, port: int) -> socket.socket:
    """A socket bound to host:port, or InvalidInput in one line (a busy port, a host that does not
    resolve): bound before any URL or token is printed, so a server that cannot start says only why."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError, OverflowError) as exc:
        raise InvalidInput("--host", host, f"an address or name this machine resolves ({exc})") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # what uvicorn sets: quick restarts
        sock.bind(address)  # uvicorn listens on it once the app is ready: no connection is taken before
    except OSError as exc:
        sock.close()
        raise InvalidInput("--port", port, f"a port free on {host} ({exc.strerror or exc}): another server "
                           "listens there, or pass another --port") from None
    return sock


def serve_http(server: MCPServer, host: str, port: int, token: str | None,
               extra_hosts: list[str] | tuple[str, ...] = (), log_level: str = "warning",
               *, no_auth: bool = False, sock: socket.socket | None = None) -> None:
    """Serve until stopped, on `sock` when given (see `bind_socket`), else on a socket bound here."""
    import functools

    import anyio
    import uvicorn

    app = build_http_app(server, host, token, extra_hosts, no_auth=no_auth)
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level.lower())
    sock = sock if sock is not None else bind_socket(host, port)
    anyio.run(functools.partial(uvicorn.Server(config).serve, sockets=[sock]))


__all__ = ["MCP_PATH", "TOKEN_ENV", "TOKEN_HOW", "BearerTokenMiddleware", "bind_socket", "build_http_app",
           "security_settings", "serve_http", "server_url"]
