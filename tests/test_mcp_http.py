"""Streamable HTTP: a real server process, DNS-rebinding protection, and a bearer token on every address."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from tests.fixtures import sample_store
from tests.mcp_fixtures import stop_server

REPO = Path(__file__).resolve().parent.parent
TOKEN = "s3cret-token-for-tests-0123456789"
INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "test", "version": "0"}}}
HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
PRINTED_URL = re.compile(r"^specweave-ml MCP server: (http://\S+/mcp\?token=([A-Za-z0-9_-]+))$", re.MULTILINE)


def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def second_loopback() -> str:
    """127.0.0.2: loopback, so nothing leaves the machine, but not a name the server lets go without a token."""
    try:
        free_port("127.0.0.2")
    except OSError:
        pytest.skip("127.0.0.2 cannot be bound here (macOS needs an lo0 alias); Linux CI runs this")
    return "127.0.0.2"


def env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k != "SPECWEAVE_MCP_TOKEN"}
    return {**base, "PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1", **extra}


@dataclass
class Served:
    url: str
    stderr_lines: list[str] = field(default_factory=list)

    @property
    def stderr(self) -> str:
        return "".join(self.stderr_lines)

    def printed(self) -> tuple[str, str]:
        """The URL with its token that the server printed at start, and the token."""
        found = PRINTED_URL.findall(self.stderr)
        assert len(found) == 1, self.stderr  # printed once
        return found[0]


@contextlib.contextmanager
def serving(root: Path, host: str, *extra: str, environ: dict[str, str] | None = None) -> Iterator[Served]:
    port = free_port(host)
    proc = subprocess.Popen([sys.executable, "-m", "mcp_server", "--root", str(root), "--transport", "http",
                             "--host", host, "--port", str(port), *extra], env=environ or env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    served = Served(f"http://{host}:{port}/mcp")
    # drained by a thread: the test reads what was printed while the server runs, and a full pipe never blocks it
    reader = threading.Thread(target=lambda: served.stderr_lines.extend(iter(proc.stderr.readline, "")), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                reader.join(5)
                raise AssertionError(f"server exited: {served.stderr}")
            with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
                break
            if time.monotonic() > deadline:
                raise AssertionError("server did not start listening")
            time.sleep(0.05)
        yield served
    finally:
        stop_server(proc)
        reader.join(5)


def list_tools(url: str, token: str | None = None) -> set[str]:
    async def go() -> set[str]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with httpx2.AsyncClient(headers=headers) as http:
            async with Client(streamable_http_client(url, http_client=http), mode="legacy") as client:
                return {t.name for t in (await client.list_tools()).tools}

    return anyio.run(go)


def refused(*args: str, environ: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mcp_server", "--transport", "http", *args], check=False,
                          env=environ or env(), capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


def test_loopback_http_answers_and_refuses_a_foreign_host(project: Path) -> None:
    sample_store(project, "project")
    with serving(project, "127.0.0.1") as served:
        _, token = served.printed()
        auth = {**HEADERS, "Authorization": f"Bearer {token}"}
        assert "show_experiment" in list_tools(served.url, token)
        port = served.url.split(":")[2].split("/")[0]
        rebinding = httpx2.post(served.url, json=INIT, headers={**auth, "Host": f"evil.example.com:{port}"})
        assert rebinding.status_code == 421
        origin = httpx2.post(served.url, json=INIT, headers={**auth, "Origin": "http://evil.example.com"})
        assert origin.status_code == 403
        good = httpx2.post(served.url, json=INIT, headers=auth)
        assert good.status_code == 200


def test_loopback_without_a_token_makes_one_and_prints_it_once(project: Path) -> None:
    sample_store(project, "project")
    with serving(project, "127.0.0.1") as served:
        url, token = served.printed()
        assert url == f"{served.url}?token={token}" and len(token) >= 32
        assert f"Authorization: Bearer {token}" in served.stderr
        assert served.stderr.count(token) == 2  # the URL and the header, once each

        missing = httpx2.post(served.url, json=INIT, headers=HEADERS)
        assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
        wrong = httpx2.post(served.url, json=INIT, headers={**HEADERS, "Authorization": f"Bearer {token}x"})
        assert wrong.status_code == 401
        wrong_in_url = httpx2.post(f"{served.url}?token=not-{token}", json=INIT, headers=HEADERS)
        assert wrong_in_url.status_code == 401
        # A header, when sent, is what counts: a wrong one is not rescued by the URL.
        both = httpx2.post(url, json=INIT, headers={**HEADERS, "Authorization": "Bearer nope-nope-nope-nope"})
        assert both.status_code == 401

        assert "list_experiments" in list_tools(served.url, token)  # the header
        assert "list_experiments" in list_tools(url)                # the printed URL, as is
    # A new server, a new token.
    with serving(project, "127.0.0.1") as again:
        assert again.printed()[1] != token


def test_no_auth_on_loopback_serves_without_a_token(project: Path) -> None:
    sample_store(project, "project")
    with serving(project, "127.0.0.1", "--no-auth", environ=env(SPECWEAVE_MCP_TOKEN=TOKEN)) as served:
        assert "token=" not in served.stderr and "--no-auth" in served.stderr
        assert "list_experiments" in list_tools(served.url)
        assert httpx2.post(served.url, json=INIT, headers=HEADERS).status_code == 200


@pytest.mark.parametrize("host", ["127.0.0.2", "0.0.0.0"])
def test_no_auth_off_loopback_is_refused_in_one_line(project: Path, host: str) -> None:
    done = refused("--root", str(project), "--host", host, "--port", str(free_port("127.0.0.1")), "--no-auth")
    assert done.returncode == 2
    assert "--no-auth" in done.stderr and host in done.stderr and "loopback" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_no_auth_and_a_token_are_refused_together(project: Path) -> None:
    done = refused("--root", str(project), "--port", str(free_port("127.0.0.1")), "--no-auth", "--token", TOKEN)
    assert done.returncode == 2 and "--no-auth" in done.stderr and "--token" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert TOKEN not in done.stderr


def test_a_short_token_is_refused_in_one_line(project: Path) -> None:
    done = refused("--root", str(project), "--port", str(free_port("127.0.0.1")), "--token", "short")
    assert done.returncode == 2 and "at least 16 characters" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "short" not in done.stderr


@pytest.mark.parametrize("how", ["flag", "env"])
def test_loopback_with_a_given_token_enforces_it_and_prints_nothing_of_it(project: Path, how: str) -> None:
    sample_store(project, "project")
    extra = ("--token", TOKEN) if how == "flag" else ()
    environ = env(SPECWEAVE_MCP_TOKEN=TOKEN) if how == "env" else env()
    with serving(project, "127.0.0.1", *extra, environ=environ) as served:
        assert TOKEN not in served.stderr and not PRINTED_URL.search(served.stderr)
        assert httpx2.post(served.url, json=INIT, headers=HEADERS).status_code == 401
        assert "list_experiments" in list_tools(served.url, TOKEN)
        assert "list_experiments" in list_tools(f"{served.url}?token={TOKEN}")


def test_non_loopback_bind_refuses_to_start_without_a_token(project: Path) -> None:
    done = refused("--root", str(project), "--host", second_loopback(), "--port", str(free_port("127.0.0.1")))
    assert done.returncode == 2
    assert "token" in done.stderr and "SPECWEAVE_MCP_TOKEN" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("how", ["flag", "env"])
def test_non_loopback_bind_requires_the_bearer_token(project: Path, how: str) -> None:
    sample_store(project, "project")
    extra = ("--token", TOKEN) if how == "flag" else ()
    environ = env(SPECWEAVE_MCP_TOKEN=TOKEN) if how == "env" else env()
    with serving(project, second_loopback(), *extra, environ=environ) as served:
        url = served.url
        missing = httpx2.post(url, json=INIT, headers=HEADERS)
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"].startswith("Bearer")
        wrong = httpx2.post(url, json=INIT, headers={**HEADERS, "Authorization": "Bearer nope-nope-nope-nope"})
        assert wrong.status_code == 401
        assert "list_experiments" in list_tools(url, TOKEN)
        # The token does not switch DNS-rebinding protection off.
        foreign = httpx2.post(url, json=INIT, headers={**HEADERS, "Authorization": f"Bearer {TOKEN}",
                                                      "Host": "evil.example.com"})
        assert foreign.status_code == 421


def test_the_middleware_takes_the_token_out_of_the_query_string() -> None:
    from mcp_server.http import BearerTokenMiddleware

    seen: list[bytes] = []

    async def app(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        seen.append(scope["query_string"])

    async def go() -> None:
        scope = {"type": "http", "headers": [], "query_string": f"a=1&token={TOKEN}&b=2".encode()}
        await BearerTokenMiddleware(app, TOKEN)(scope, None, None)  # type: ignore[arg-type]

    anyio.run(go)
    assert seen == [b"a=1&b=2"]


def test_build_http_app_never_serves_unprotected_by_accident() -> None:
    from mcp_server.http import build_http_app
    from skill.http_fence import resolve_auth
    from skill.errors import InvalidInput

    with pytest.raises(InvalidInput, match="no_auth"):
        build_http_app(None, "127.0.0.1", None)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="loopback"):
        resolve_auth("10.0.0.1", None, no_auth=True)
    generated = resolve_auth("::1", None)
    assert generated.generated and len(generated.token or "") >= 32
    assert resolve_auth("localhost", TOKEN) == (TOKEN, False)
