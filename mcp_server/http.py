"""Streamable HTTP transport: DNS-rebinding protection always on, a bearer token off loopback.

The SDK turns DNS-rebinding protection on by itself only for loopback hosts;
here the settings are always passed explicitly, so binding any address keeps
the Host and Origin checks (421 / 403). Only 127.0.0.1, localhost and ::1 may
serve without a token; any other address refuses to start without one, and a
request that lacks it gets 401 before it reaches the MCP endpoint.
"""

from __future__ import annotations

import hmac
import socket
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from skill.errors import InvalidInput

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
TOKEN_ENV = "SPECWEAVE_MCP_TOKEN"
MIN_TOKEN_LENGTH = 16
MCP_PATH = "/mcp"


def needs_token(host: str) -> bool:
    """Whether binding `host` requires a bearer token: every address but the loopback names."""
    return host not in LOOPBACK_HOSTS


def check_token(host: str, token: str | None) -> str | None:
    """The token to enforce (None: none), or InvalidInput when the bind would be unprotected."""
    token = token or None
    if token is not None and (len(token) < MIN_TOKEN_LENGTH or any(c.isspace() for c in token)):
        raise InvalidInput("bearer token", "***", f"at least {MIN_TOKEN_LENGTH} characters without spaces")
    if token is None and needs_token(host):
        raise InvalidInput(
            "host", host,
            f"a bearer token when binding anything but {', '.join(LOOPBACK_HOSTS)}: pass --token or set {TOKEN_ENV}",
        )
    return token


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


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
    """Refuse every HTTP request without `Authorization: Bearer <token>` (compared in constant time)."""

    def __init__(self, app: ASGIApp, token: str):
        self.app = app
        self.token = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scheme, _, value = Headers(scope=scope).get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), self.token):
                response = JSONResponse(
                    {"error": "invalid_token", "error_description": "a bearer token is required"},
                    status_code=401, headers={"WWW-Authenticate": 'Bearer realm="specweave-ml"'},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def build_http_app(server: MCPServer, host: str, token: str | None,
                   extra_hosts: list[str] | tuple[str, ...] = ()) -> Any:
    """The ASGI app serving `server` at /mcp, with the checks above."""
    token = check_token(host, token)
    app: Any = server.streamable_http_app(streamable_http_path=MCP_PATH, host=host,
                                          transport_security=security_settings(host, extra_hosts))
    return BearerTokenMiddleware(app, token) if token else app


def serve_http(server: MCPServer, host: str, port: int, token: str | None,
               extra_hosts: list[str] | tuple[str, ...] = (), log_level: str = "warning") -> None:
    import anyio
    import uvicorn

    app = build_http_app(server, host, token, extra_hosts)
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level.lower())
    anyio.run(uvicorn.Server(config).serve)


__all__ = ["BearerTokenMiddleware", "LOOPBACK_HOSTS", "TOKEN_ENV", "build_http_app", "check_token", "needs_token",
           "security_settings", "serve_http"]
