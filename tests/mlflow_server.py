"""A real `mlflow server` on 127.0.0.1 for the push tests and the push benchmark."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_mlflow_server(base: Path, *, timeout_s: float = 120) -> Iterator[str]:
    """Start a one-worker server (sqlite backend, proxied artifacts under `base`), yield its URI, stop it."""
    uri = f"http://127.0.0.1:{free_port()}"
    port = uri.rsplit(":", 1)[1]
    with open(base / "server.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", port, "--workers", "1",
             "--backend-store-uri", f"sqlite:///{base / 'mlflow.db'}", "--artifacts-destination",
             str(base / "artifacts")],
            cwd=base, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                try:
                    with urllib.request.urlopen(uri + "/health", timeout=2):
                        break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("mlflow server did not start:\n"
                                           + (base / "server.log").read_text()[-3000:]) from None
                    time.sleep(0.25)
            yield uri
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
