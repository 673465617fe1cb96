"""Reproducibility capture: the code, the interpreter, the packages and the hardware.

Captured once per process, in a background thread, so that opening an
experiment never waits on `git` or a scan of site-packages.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

from ..schemas.records import Environment, GitInfo, GpuInfo
from .capture import capture_git
from .gitwork import config_facts, head_of

_PLAIN = re.compile(r"[A-Za-z0-9._+]+(-[A-Za-z0-9._+]+)*")  # no '--', no ' ', '/', ':'
_cache: dict[str, object] = {}
_lock = threading.Lock()


def capture_gpus() -> list[GpuInfo]:
    """GPU names and memory from `nvidia-smi`, where it exists and answers."""
    exe = shutil.which("nvidia-smi")
    if not exe:
        return []
    try:
        done = subprocess.run(
            [exe, "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader,nounits"],
            capture_output=True, timeout=10, check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return []
    gpus = []
    for line in done.stdout.decode("utf-8", "replace").splitlines():
        parts = [p.strip() for p in line.split(",")]
        if not parts or not parts[0]:
            continue
        memory = int(float(parts[1])) if len(parts) > 1 and parts[1].replace(".", "", 1).isdigit() else None
        gpus.append(GpuInfo(name=parts[0], memory_total_mb=memory, driver=parts[2] if len(parts) > 2 else None))
    return gpus


def capture_packages() -> dict[str, str]:
    """Every installed distribution's name and version, as `dist.metadata["Name"]` and `dist.version`
    give them, found where importlib.metadata finds them (`*.dist-info` and `*.egg-info` in each folder on
    sys.path, later folders winning as there). Only the first block of each METADATA (PKG-INFO) file is
    read, where its headers are: the email parser over whole files made this scan 0.45 s of every run's
    start, and importlib.metadata's own discovery still cost 10 ms of it (4 ms now, with 200 packages).
    A folder unchanged since a process of this user listed it is not read again (see package_cache)."""
    from . import package_cache

    packages: dict[str, str] = {}
    known = package_cache.load()
    fresh: dict[str, package_cache.Entry] = {}
    for entry in sys.path:
        folder = entry or "."
        try:
            info = os.stat(folder)
        except OSError:
            continue
        if not stat.S_ISDIR(info.st_mode):  # a zip on the path (an .egg, a zipapp)
            for dist in _zipped_distributions(entry):
                packages[dist[0]] = dist[1]
            continue
        where = os.path.abspath(folder)
        key = package_cache.key_of(info)
        hit = known.get(where)
        if key is not None and package_cache.good(hit) and hit["key"] == key:  # type: ignore[index]
            found = package_cache.unpacked(hit["packages"])  # type: ignore[index]
        else:
            found = _folder_packages(folder)
            if key is not None:
                fresh[where] = {"key": key, "used": time.time(), "packages": package_cache.packed(found)}
        packages.update(found)
    if fresh:
        package_cache.save(known, fresh)
    return dict(sorted(packages.items()))


def _folder_packages(folder: str) -> list[tuple[str, str]]:
    """(name, version) of each distribution in one folder, in the order importlib.metadata takes them."""
    try:
        with os.scandir(folder) as found:
            names = sorted(e.name for e in found if e.name.endswith((".dist-info", ".egg-info")))
    except OSError:  # a folder that is gone
        return []
    out = []
    for name in names:
        inside = "METADATA" if name.endswith(".dist-info") else "PKG-INFO"
        path = os.path.join(folder, name)
        headers = _headers(os.path.join(path, inside)) or _headers(path)  # an .egg-info may be the file
        if headers is not None and headers[0] and headers[1] is not None:
            out.append((headers[0].lower().replace("_", "-"), headers[1]))
    return out


def _headers(path: str) -> tuple[str | None, str | None] | None:
    """(Name, Version) from a METADATA or PKG-INFO file's headers; None when it cannot be read. They come
    first in every file a packaging tool writes: the first 2 KB, and the rest only when they are not there."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(2048)
            if len(head) == 2048:
                head = head[: head.rfind(b"\n") + 1]  # whole lines only: a cut "Version: 1.2" is not 1.2
            found = _name_and_version(head.decode("utf-8", "replace"))
            if None in found:
                handle.seek(0)
                found = _name_and_version(handle.read().decode("utf-8", "replace"))
    except OSError:
        return None
    return found


def _name_and_version(text: str) -> tuple[str | None, str | None]:
    name = version = None
    for line in text.splitlines():
        if not line:
            break  # the headers end at the first blank line
        if name is None and line.startswith("Name:"):
            name = line[5:].strip()
        elif version is None and line.startswith("Version:"):
            version = line[8:].strip()
        if name is not None and version is not None:
            break
    return name, version


def _zipped_distributions(entry: str) -> list[tuple[str, str]]:
    from importlib import metadata

    out = []
    for dist in metadata.distributions(path=[entry]):
        name = dist.metadata.get("Name") if dist.metadata else None
        if name:
            out.append((name.lower().replace("_", "-"), dist.version))
    return out


def platform_name() -> str:
    """`platform.platform()`'s text. On Linux it is built here from `os.uname()` and the C library's
    version: platform() starts a `uname -p` child process (9 ms on a run's start) for a processor name it
    then leaves out, as Linux reports it "unknown" or the machine's own (x86_64, aarch64)."""
    system, _node, release, _version, machine = os.uname()
    if sys.platform != "linux" or not _PLAIN.fullmatch(release + machine):  # platform() rewrites odd text
        return platform.platform()
    libc, version = platform.libc_ver()  # glibc answers through confstr: no file is read
    return "-".join(part for part in (system, release, machine, "with", libc + version) if part)


def capture_environment() -> Environment:
    return Environment(
        python=platform.python_version(),
        platform=platform_name(),
        cpu_count=os.cpu_count(),
        gpus=capture_gpus(),
        command=[sys.executable, *sys.argv],
        packages=capture_packages(),
        host=socket.gethostname(),
        pid=os.getpid(),
    )


class Capture:
    """The environment and git state, computed once per process and root in a thread."""

    def __init__(self, root: Path):
        self._root = root
        self._done = threading.Event()
        self.environment: Environment | None = None
        self.git: GitInfo | None = None
        self.author: str | None = None  # for runs that name none: as log-decision records it
        threading.Thread(target=self._run, name="specweave-env", daemon=True).start()

    def _run(self) -> None:
        try:
            env = _cache.get("env")
            if env is None or env.pid != os.getpid():  # type: ignore[attr-defined]
                env = capture_environment()
                _cache["env"] = env
            self.environment = env  # type: ignore[assignment]
            self.git = capture_git(self._root)
            email = config_facts(head_of(self._root)[0] or self._root)[1]  # the code's capture asks it too
            self.author = os.environ.get("SPECWEAVE_AUTHOR") or email or None
        except Exception:  # capture is best effort; a run must never fail for it
            self.environment = self.environment or None
        finally:
            self._done.set()

    @property
    def ready(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)


def capture_for(root: Path) -> Capture:
    """The process-wide capture for this root; started on first use."""
    key = f"{os.getpid()}:{root}"
    with _lock:
        capture = _cache.get(key)
        if capture is None:
            capture = Capture(root)
            _cache[key] = capture
        return capture  # type: ignore[return-value]
