"""Telling a running experiment from one whose process died (SIGKILL, power loss, OOM)."""

from __future__ import annotations

import os
import socket
from datetime import datetime, timezone

from ..layout import HEARTBEAT_STALE_S
from ..schemas.records import ExperimentMeta

_HOST = socket.gethostname()


def pid_alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill(pid, 0) would terminate the process there; the heartbeat decides
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    try:  # a zombie has exited; only its parent has not reaped it yet
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[-1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


def effective_status(meta: ExperimentMeta, now: datetime | None = None) -> str:
    """The stored status, except that a run whose process is gone reads as `crashed`.

    Same host: the pid is checked directly. Any host: a heartbeat older than
    HEARTBEAT_STALE_S means nobody is writing to it any more.
    """
    if meta.status != "running":
        return meta.status
    if meta.host == _HOST and meta.pid and not pid_alive(meta.pid):
        return "crashed"
    beat = meta.heartbeat or meta.started
    now = now or datetime.now(timezone.utc)
    if beat.tzinfo is None:
        beat = beat.replace(tzinfo=timezone.utc)
    if (now - beat).total_seconds() > HEARTBEAT_STALE_S:
        return "crashed"
    return "running"


def this_host() -> str:
    """The host name runs started here record (`meta.host`)."""
    return _HOST
