"""Streamable HTTP transport: DNS-rebinding protection always on, a bearer token by default.

The SDK turns DNS-rebinding protection on by itself only for loopback hosts;
here the settings are always passed explicitly, so binding any address keeps
the Host and Origin checks (421 / 403).

Every request needs the token, loopback included: on a shared host any local
user or process can reach 127.0.0.1, and the tools write. Without `--token`
or `SPECWEAVE_MCP_TOKEN` a loopback server makes one at start and prints it
once, as Jupyter does; `--no-auth` opts out, on a loopback name only. Any
other address refuses to start without a token given, so a server reachable
from the network never runs on a secret that only its own stderr knows.

The token goes in `Authorization: Bearer <token>` (what MCP clients send), or
in the URL as `?token=<token>` for clients that take only a URL. A request
without it gets 401 before it reaches the MCP endpoint.
"""

from __future__ import annotations

import hmac
import secrets
import socket
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlencode

from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from skill.errors import InvalidInput

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
TOKEN_ENV = "SPECWEAVE_MCP_TOKEN"
TOKEN_PARAM = "token"
MIN_TOKEN_LENGTH = 16
MCP_PATH = "/mcp"


class Auth(NamedTuple):
    """What the server enforces: `token` (None only with --no-auth), and whether it was made here."""

    token: str | None
    generated: bool = False


def needs_token(host: str) -> bool:
    """Whether binding `host` requires a token given by the user: every address but the loopback names."""
    return host not in LOOPBACK_HOSTS


def check_token(host: str, token: str | None) -> str | None:
    """A given token, validated; None when none was given on loopback; InvalidInput off loopback without one."""
    token = token or None
    if token is not None and (len(token) < MIN_TOKEN_LENGTH or any(c.isspace() for c in token)):
        raise InvalidInput("bearer token", "***", f"at least {MIN_TOKEN_LENGTH} characters without spaces")
    if token is None and needs_token(host):
        raise InvalidInput(
            "host", host,
            f"a bearer token when binding anything but {', '.join(LOOPBACK_HOSTS)}: pass --token or set {TOKEN_ENV}",
        )
    return token


def resolve_auth(host: str, token: str | None, *, no_auth: bool = False) -> Auth:
    """The token to enforce on `host`: the one given, a generated one on loopback, or none with `no_auth`."""
    if no_auth:
        if needs_token(host):
            raise InvalidInput("host for --no-auth", host,
                               f"a loopback name ({', '.join(LOOPBACK_HOSTS)}); any other address needs a token")
        return Auth(None)
    given = check_token(host, token)
    if given is not None:
        return Auth(given)
    return Auth(secrets.token_urlsafe(32), generated=True)


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def server_url(host: str, port: int, token: str | None = None) -> str:
    """The endpoint's URL (with `?token=` when a token is given)."""
    url = f"http://{_bracket(host)}:{port}{MCP_PATH}"
    return f"{url}?{urlencode({TOKEN_PARAM: token})}" if token else url


def security_settings(host: str, extra_hosts: list[str] | tuple[str, ...] = ()) -> TransportSecuritySettings:
    """Host/Origin allow-lists for the bound address, loopback names, and any extra names given."""
    names = ["127.0.0.1", "localhost", "[::1]"]
    if host not in LOOPBACK_HOSTS:
        names.append(_bracket(host))
    if host in ("0.0.0.0", "::"):
        names.append(socket.gethostname())
    names.extend(_bracket(h) for h in extra_hosts)
    unique = list(dict.fromkeys(names))
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=[f"{name}:*" for name in unique] + unique,
        allowed_origins=[f"{scheme}://{name}:*" for name in unique for scheme in ("http", "https")]
        + [f"{scheme}://{name}" for name in unique for scheme in ("http", "https")],
    )


class BearerTokenMiddleware:
    """Refuse every HTTP request without the token, compared in constant time.

    The `Authorization: Bearer` header is checked when present; without it, the
    `token` query parameter (the URL the server prints). The parameter is taken
    out of the query string before the request goes on, so access logs and the
    MCP app never see it.
    """

    def __init__(self, app: ASGIApp, token: str):
        self.app = app
        self.token = token.encode()

    def _matches(self, candidate: str) -> bool:
        return hmac.compare_digest(candidate.encode(), self.token)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            header = Headers(scope=scope).get("authorization")
            query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
            in_url = [value for name, value in query if name == TOKEN_PARAM]
            if header is not None:
                scheme, _, value = header.partition(" ")
                allowed = scheme.lower() == "bearer" and self._matches(value.strip())
            else:
                allowed = len(in_url) == 1 and self._matches(in_url[0])
            if not allowed:
                response = JSONResponse(
                    {"error": "invalid_token",
                     "error_description": "a bearer token is required (Authorization: Bearer <token>)"},
                    status_code=401, headers={"WWW-Authenticate": 'Bearer realm="specweave-ml"'},
                )
                await response(scope, receive, send)
                return
            if in_url:
                # in place: uvicorn's access log reads this same scope
                scope["query_string"] = urlencode([(n, v) for n, v in query if n != TOKEN_PARAM]).encode()
        await self.app(scope, receive, send)


def build_http_app(server: MCPServer, host: str, token: str | None,
                   extra_hosts: list[str] | tuple[str, ...] = (), *, no_auth: bool = False) -> Any:
    """The ASGI app serving `server` at /mcp, with the checks above.

    `token` None is refused unless `no_auth` (on loopback): a caller that wants a
    generated token asks resolve_auth for one, and so knows it.
    """
    if no_auth:
        token = resolve_auth(host, None, no_auth=True).token
    else:
        token = check_token(host, token)
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


__all__ = ["LOOPBACK_HOSTS", "MCP_PATH", "TOKEN_ENV", "Auth", "BearerTokenMiddleware", "bind_socket", "build_http_app",
           "check_token", "needs_token", "resolve_auth", "security_settings", "serve_http", "server_url"]
