"""Streamable HTTP: a real server process, DNS-rebinding protection, and the bearer token off loopback."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from mcp_fixtures import make_project

REPO = Path(__file__).resolve().parent.parent
TOKEN = "s3cret-token-for-tests-0123456789"
INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "test", "version": "0"}}}
HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


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


@contextlib.contextmanager
def serving(root: Path, host: str, *extra: str, environ: dict[str, str] | None = None) -> Iterator[str]:
    port = free_port(host)
    proc = subprocess.Popen([sys.executable, "-m", "mcp_server", "--root", str(root), "--transport", "http",
                             "--host", host, "--port", str(port), *extra], env=environ or env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"server exited: {proc.stderr.read().decode()}")
            with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
                break
            if time.monotonic() > deadline:
                raise AssertionError("server did not start listening")
            time.sleep(0.05)
        yield f"http://{host}:{port}/mcp"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def list_tools(url: str, token: str | None = None) -> set[str]:
    async def go() -> set[str]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with httpx2.AsyncClient(headers=headers) as http:
            async with Client(streamable_http_client(url, http_client=http), mode="legacy") as client:
                return {t.name for t in (await client.list_tools()).tools}

    return anyio.run(go)


def test_loopback_http_answers_and_refuses_a_foreign_host(project: Path) -> None:
    make_project(project)
    with serving(project, "127.0.0.1") as url:
        assert "show_experiment" in list_tools(url)
        port = url.split(":")[2].split("/")[0]
        rebinding = httpx2.post(url, json=INIT, headers={**HEADERS, "Host": f"evil.example.com:{port}"})
        assert rebinding.status_code == 421
        origin = httpx2.post(url, json=INIT, headers={**HEADERS, "Origin": "http://evil.example.com"})
        assert origin.status_code == 403
        good = httpx2.post(url, json=INIT, headers=HEADERS)
        assert good.status_code == 200


def test_non_loopback_bind_refuses_to_start_without_a_token(project: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "mcp_server", "--root", str(project), "--transport", "http",
                           "--host", second_loopback(), "--port", str(free_port("127.0.0.1"))], env=env(),
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 2
    assert "token" in done.stderr and "SPECWEAVE_MCP_TOKEN" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("how", ["flag", "env"])
def test_non_loopback_bind_requires_the_bearer_token(project: Path, how: str) -> None:
    make_project(project)
    extra = ("--token", TOKEN) if how == "flag" else ()
    environ = env(SPECWEAVE_MCP_TOKEN=TOKEN) if how == "env" else env()
    with serving(project, second_loopback(), *extra, environ=environ) as url:
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
