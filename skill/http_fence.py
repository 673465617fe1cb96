"""The fence in front of every HTTP server of specweave-ml: the rules, once, for each face to apply.

Both local servers (the MCP server's HTTP transport and the dashboard) answer only behind it:

- **A token on every request, loopback included.** On a shared host any local user or process can
  reach 127.0.0.1, and tools write. A server on a loopback name (`LOOPBACK_HOSTS`) may make its own
  token at start (`resolve_auth`), or go without one when asked to (`no_auth`); any other address
  refuses to start without a token given, so a server reachable from the network never runs on a
  secret only its own stderr knows. A token given is at least MIN_TOKEN_LENGTH characters, no spaces.
- **Where a request carries it** (`presented_token`): `Authorization: Bearer <token>` when that header
  is there (what MCP clients send), else one `?token=` query parameter (a URL a person can open);
  compared in constant time (`token_matches`). `query_without_token` is the query to pass on, so
  access logs and the application never see the token.
- **DNS rebinding**: a request's Host (and Origin, when sent) must name this server: the loopback
  names, the address bound, the machine's name when bound to every interface, and any name the user
  added (`allowed_hosts`, `allowed_origins`, checked by `host_allowed` and `origin_allowed`), so a
  page of another site cannot reach the server through a name it resolves to 127.0.0.1.

Standard library only (and the error family): each face wraps these rules in its own framework.
"""

from __future__ import annotations

import hmac
import secrets
import socket
from collections.abc import Iterable, Sequence
from typing import NamedTuple
from urllib.parse import urlencode

from .errors import InvalidInput

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
TOKEN_PARAM = "token"
MIN_TOKEN_LENGTH = 16


class Auth(NamedTuple):
    """What a server enforces: `token` (None only with no_auth), and whether it was made at start."""

    token: str | None
    generated: bool = False


def needs_token(host: str) -> bool:
    """Whether binding `host` requires a token given by the user: every address but the loopback names."""
    return host not in LOOPBACK_HOSTS


def check_token(host: str, token: str | None, *, how: str = "pass a token") -> str | None:
    """A given token, validated; None when none was given on loopback; InvalidInput off loopback without
    one (`how` says how to give one: "pass --token or set SPECWEAVE_MCP_TOKEN")."""
    token = token or None
    if token is not None and (len(token) < MIN_TOKEN_LENGTH or any(c.isspace() for c in token)):
        raise InvalidInput("bearer token", "***", f"at least {MIN_TOKEN_LENGTH} characters without spaces")
    if token is None and needs_token(host):
        raise InvalidInput("host", host,
                           f"a bearer token when binding anything but {', '.join(LOOPBACK_HOSTS)}: {how}")
    return token


def new_token() -> str:
    """A fresh random token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def resolve_auth(host: str, token: str | None, *, no_auth: bool = False, how: str = "pass a token") -> Auth:
    """The token to enforce on `host`: the one given, a generated one on loopback, or none with `no_auth`
    (loopback names only)."""
    if no_auth:
        if needs_token(host):
            raise InvalidInput("host for --no-auth", host,
                               f"a loopback name ({', '.join(LOOPBACK_HOSTS)}); any other address needs a token")
        return Auth(None)
    given = check_token(host, token, how=how)
    if given is not None:
        return Auth(given)
    return Auth(new_token(), generated=True)


def presented_token(authorization: str | None, query: Sequence[tuple[str, str]]) -> str | None:
    """The token a request presents: the `Authorization` header's bearer credential when the header is
    there (another scheme presents none), else the one `token` query parameter (none when repeated).
    `query` is the parsed query string (`urllib.parse.parse_qsl(..., keep_blank_values=True)`)."""
    if authorization is not None:
        scheme, _, value = authorization.partition(" ")
        return value.strip() if scheme.lower() == "bearer" else None
    in_url = [value for name, value in query if name == TOKEN_PARAM]
    return in_url[0] if len(in_url) == 1 else None


def token_matches(given: str | None, token: str) -> bool:
    """Whether `given` is `token`, compared in constant time."""
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


def query_without_token(query: Sequence[tuple[str, str]]) -> str | None:
    """The query string to pass on without the token; None when the query had no token to take out."""
    if not any(name == TOKEN_PARAM for name, _ in query):
        return None
    return urlencode([(name, value) for name, value in query if name != TOKEN_PARAM])


def bracket(host: str) -> str:
    """`host` as a URL or Host header writes it (an IPv6 address in brackets)."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def allowed_names(host: str, extra_hosts: Iterable[str] = ()) -> list[str]:
    """The names a request may call a server bound to `host` by: the loopback names, `host` itself,
    this machine's name when bound to every interface, and `extra_hosts`."""
    names = ["127.0.0.1", "localhost", "[::1]"]
    if host not in LOOPBACK_HOSTS:
        names.append(bracket(host))
    if host in ("0.0.0.0", "::"):
        names.append(socket.gethostname())
    names.extend(bracket(h) for h in extra_hosts)
    return list(dict.fromkeys(names))


def allowed_hosts(host: str, extra_hosts: Iterable[str] = ()) -> list[str]:
    """Host header values to accept: each allowed name with any port (`name:*`) or none."""
    names = allowed_names(host, extra_hosts)
    return [f"{name}:*" for name in names] + names


def allowed_origins(host: str, extra_hosts: Iterable[str] = ()) -> list[str]:
    """Origin header values to accept: each allowed name over http or https, with any port or none."""
    names = allowed_names(host, extra_hosts)
    return ([f"{scheme}://{name}:*" for name in names for scheme in ("http", "https")]
            + [f"{scheme}://{name}" for name in names for scheme in ("http", "https")])


def _listed(value: str, allowed: Iterable[str]) -> bool:
    for entry in allowed:
        if value == entry or (entry.endswith(":*") and value.startswith(entry[:-1])):
            return True
    return False


def host_allowed(value: str | None, allowed: Iterable[str]) -> bool:
    """Whether a request's Host header is one of `allowed` (`name:*` takes any port); a missing one is not."""
    return bool(value) and _listed(value or "", allowed)


def origin_allowed(value: str | None, allowed: Iterable[str]) -> bool:
    """Whether a request's Origin header is one of `allowed`; none sent (a same-origin request) is."""
    return not value or _listed(value, allowed)


__all__ = ["LOOPBACK_HOSTS", "MIN_TOKEN_LENGTH", "TOKEN_PARAM", "Auth", "allowed_hosts", "allowed_names",
           "allowed_origins", "bracket", "check_token", "host_allowed", "needs_token", "new_token", "origin_allowed",
           "presented_token", "query_without_token", "resolve_auth", "token_matches"]
