"""Running a rerun so that nothing of it outlives `reproduce`: its worktree, its process group, its folders.

The worktree lives in a temporary folder `specweave-reproduce-*` holding a marker (`MARKER`: this
process's pid and the repository). It is removed when reproduce ends; a reproduce that was killed
before it could clean up (SIGKILL, a crash) leaves it, and the next reproduce removes every such
folder whose marker names a process that is gone, then runs `git worktree prune`.

The rerun runs in its own session and process group (so the terminal's Ctrl-C reaches reproduce,
not the rerun directly), and that whole group is stopped:
- when the rerun ends: anything it left running in its group is killed;
- on SIGINT, SIGTERM or SIGHUP to reproduce: SIGTERM to the group, 5 s, then SIGKILL; then the
  worktree is removed as usual;
- on SIGKILL of reproduce, which no handler sees: by a watchdog. Why a watchdog rather than
  PR_SET_PDEATHSIG: the death signal reaches only the direct child (not what the rerun starts in its
  group: data loader workers, a shell's children), fires when the *thread* that forked exits rather
  than the process, needs a `preexec_fn` (unsafe with threads) and exists only on Linux. The watchdog
  is a tiny python process reading a pipe only reproduce holds; the kernel closes that pipe however
  reproduce dies, and the watchdog then kills the whole group. When the rerun ends normally
  reproduce tells it "done" before reaping the rerun, so the group id it would kill cannot have
  been reused by then.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from .gitwork import git

PREFIX = "specweave-reproduce-"
MARKER = "specweave-reproduce.json"
GRACE_S = 5.0
_TAIL_LINES = 40
_POSIX = os.name == "posix"
_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))
# Reads the rerun's group id, then waits: "done" ends it quietly; end of file (reproduce died) kills the group.
_WATCHDOG = ("import os, signal, sys\n"
             "pgid = sys.stdin.readline().strip()\n"
             "if pgid.isdigit() and sys.stdin.readline() != 'done\\n':\n"
             "    try:\n"
             "        os.killpg(int(pgid), signal.SIGKILL)\n"
             "    except OSError:\n"
             "        pass\n")


# -- the scratch folder and its worktree ------------------------------------------------------------
def _alive(pid: object) -> bool:
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, another user's
        return True
    return True


def prune_stale(top: Path) -> list[str]:
    """Remove the scratch folders of reproduce runs that died without cleaning up; their paths."""
    removed = []
    base = Path(tempfile.gettempdir())
    try:
        entries = list(os.scandir(base))
    except OSError:
        entries = []
    for entry in entries:
        if not entry.name.startswith(PREFIX):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if not entry.is_dir(follow_symlinks=False) or (hasattr(os, "getuid") and info.st_uid != os.getuid()):
                continue
            marker = json.loads((Path(entry.path) / MARKER).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # not ours, or being set up right now
        if not isinstance(marker, dict) or _alive(marker.get("pid")):
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        removed.append(entry.path)
    git(top, "worktree", "prune")  # forgets every registered worktree whose folder is gone
    return removed


@contextlib.contextmanager
def scratch_worktree(top: Path) -> Iterator[Path]:
    """A marked temporary folder for the worktree; the worktree and the folder are removed afterwards."""
    scratch = Path(tempfile.mkdtemp(prefix=PREFIX))
    (scratch / MARKER).write_text(json.dumps({"pid": os.getpid(), "repository": str(top)}), encoding="utf-8")
    worktree = scratch / top.name
    try:
        yield worktree
    finally:
        done = git(top, "worktree", "remove", "--force", str(worktree)) if worktree.exists() else None
        shutil.rmtree(scratch, ignore_errors=True)
        if done is None or done.returncode != 0:
            git(top, "worktree", "prune")


# -- signals ----------------------------------------------------------------------------------------
@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP raise KeyboardInterrupt once (so every cleanup runs); later ones are
    ignored while it unwinds. Only where handlers can be set (the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired: list[int] = []

    def handler(signum: int, frame: object) -> None:
        if fired:
            return
        fired.append(signum)
        raise KeyboardInterrupt

    saved = {sig: signal.signal(sig, handler) for sig in _SIGNALS}
    try:
        yield
    finally:
        for sig, previous in saved.items():
            signal.signal(sig, previous)


# -- the process group ------------------------------------------------------------------------------
def _killpg(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except OSError:
        pass


def _exited(proc: subprocess.Popen[bytes], block: bool) -> bool:
    """Whether the leader has exited, without reaping it: while it is an unreaped zombie its pid, the
    group id, cannot be given to another process, so killing the group cannot hit a stranger."""
    if not hasattr(os, "waitid"):  # no process groups here either: plain waiting
        return proc.wait() is not None if block else proc.poll() is not None
    pid = proc.pid
    flags = os.WEXITED | os.WNOWAIT | (0 if block else os.WNOHANG)
    try:
        return os.waitid(os.P_PID, pid, flags) is not None
    except ChildProcessError:
        return True
    except InterruptedError:
        return False


def _watchdog() -> subprocess.Popen[bytes] | None:
    if not _POSIX:
        return None
    return subprocess.Popen([sys.executable, "-I", "-S", "-c", _WATCHDOG], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def _tell(watchdog: subprocess.Popen[bytes] | None, line: str) -> None:
    if watchdog is None or watchdog.stdin is None:
        return
    try:
        watchdog.stdin.write(line.encode())
        watchdog.stdin.flush()
    except OSError:
        pass


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    """The leader asked to stop (SIGTERM to the group), killed after GRACE_S; then every straggler."""
    if not _POSIX:
        proc.kill()
        return
    if not _exited(proc, block=False):
        _killpg(proc.pid, signal.SIGTERM)
        timer = threading.Timer(GRACE_S, _killpg, (proc.pid, signal.SIGKILL))
        timer.start()
        try:
            while not _exited(proc, block=True):
                pass
        finally:
            timer.cancel()
            timer.join()
    _killpg(proc.pid, signal.SIGKILL)


def run_in_group(cmd: list[str], cwd: Path, env: dict[str, str], echo: Callable[[str], None],
                 timeout: float | None) -> tuple[int, str, bool]:
    """Run `cmd` in its own process group; (exit code, last lines of output, whether it timed out)."""
    tail: collections.deque[str] = collections.deque(maxlen=_TAIL_LINES)
    watchdog = _watchdog()
    try:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=_POSIX)
    except BaseException:
        if watchdog is not None and watchdog.stdin:
            watchdog.stdin.close()  # end of file before a group id: it exits, killing nothing
            watchdog.wait()
        raise
    _tell(watchdog, f"{proc.pid}\n")
    timed_out = threading.Event()

    def on_timeout() -> None:
        timed_out.set()
        _killpg(proc.pid, signal.SIGKILL) if _POSIX else proc.kill()

    def read() -> None:  # on a thread: a straggler holding the pipe must not keep reproduce waiting
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            line = line.rsplit("\r", 1)[-1] if "\r" in line.rstrip("\r") else line.rstrip("\r")  # progress bars
            tail.append(line)
            echo(line)

    reader = threading.Thread(target=read, name="specweave-rerun-output", daemon=True)
    reader.start()
    timer = threading.Timer(timeout, on_timeout) if timeout else None
    if timer:
        timer.start()
    try:
        while not _exited(proc, block=True):
            pass
    finally:
        if timer:
            timer.cancel()
            timer.join()
        _stop_group(proc)  # the leader is stopped and not yet reaped: the group id is still the rerun's
        _tell(watchdog, "done\n")
        if watchdog is not None:
            if watchdog.stdin:
                watchdog.stdin.close()
            watchdog.wait()
        code = proc.wait()
        reader.join(GRACE_S)
        if proc.stdout:
            proc.stdout.close()
    return code, "\n".join(tail), timed_out.is_set()


__all__ = ["MARKER", "PREFIX", "prune_stale", "run_in_group", "scratch_worktree", "stop_on_signals"]
