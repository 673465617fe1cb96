"""The process-wide flusher: one daemon thread that persists every open experiment.

It flushes buffered metrics at least once a second and refreshes heartbeats.
At interpreter exit it flushes and closes what is still open; on SIGTERM
(where the program has no handler of its own) it marks open runs killed.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..layout import FLUSH_INTERVAL_S

# How an open run ends at exit: (status, the uncaught exception or None, a note or None).
Finish = Callable[[str, BaseException | None, str | None], None]


@dataclass(frozen=True)
class _Client:
    """The flusher's whole view of an open run: its owner object, a label for messages and two callbacks."""
    owner: object
    label: str
    tick: Callable[[], None]
    finish: Finish


_open: dict[int, _Client] = {}
_lock = threading.Lock()
_wake = threading.Event()
_thread: threading.Thread | None = None
_installed = False
uncaught: list[BaseException] = []


def register(owner: object, *, label: str, tick: Callable[[], None], finish: Finish) -> None:
    """Keep `owner` open: call `tick` about once a second, and `finish` at exit or on SIGTERM, until
    `unregister(owner)`."""
    global _thread
    with _lock:
        _open[id(owner)] = _Client(owner, label, tick, finish)
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_loop, name="specweave-flush", daemon=True)
            _thread.start()
        _install_hooks()


def unregister(owner: object) -> None:
    with _lock:
        _open.pop(id(owner), None)


def open_owners() -> list[object]:
    """What is registered now, in the order it was opened."""
    with _lock:
        return [client.owner for client in _open.values()]


def _clients() -> list[_Client]:
    with _lock:
        return list(_open.values())


def _loop() -> None:
    while True:
        _wake.wait(FLUSH_INTERVAL_S)
        _wake.clear()
        for client in _clients():
            try:
                client.tick()
            except Exception as exc:  # never let a full disk kill the training process
                print(f"specweave: could not flush {client.label}: {exc}", file=sys.stderr)


def _at_exit() -> None:
    status = "failed" if uncaught else "completed"
    exc = uncaught[0] if uncaught else None
    note = None
    if exc is not None:  # a run left open by a framework's loop that raised: its traceback, as `with` notes it
        detail = "".join(traceback.format_exception(exc)).rstrip()
        note = f"FAILED: {type(exc).__name__}: {exc}\n{detail}"
    for client in _clients():
        client.finish(status, exc, note)


def _on_sigterm(signum: int, frame: Any) -> None:
    for client in _clients():
        client.finish("killed", None, "terminated by SIGTERM")
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def _install_hooks() -> None:
    """Once per process: exit hook, uncaught-exception note, SIGTERM where nobody else listens."""
    global _installed
    if _installed:
        return
    _installed = True
    atexit.register(_at_exit)
    previous = sys.excepthook

    def hook(exc_type: type[BaseException], exc: BaseException, tb: Any) -> None:
        uncaught.append(exc)
        previous(exc_type, exc, tb)

    sys.excepthook = hook
    if threading.current_thread() is threading.main_thread():
        try:
            if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
                signal.signal(signal.SIGTERM, _on_sigterm)
        except (ValueError, OSError):  # not allowed here; the heartbeat still tells
            pass
