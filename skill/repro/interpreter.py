"""Which interpreter a rerun uses: this one, or one reproduce built itself. Nothing from the repository.

A clone can commit anything under `.specweave/`, including `cache/envs/<key>/bin/python`: a file
there is never run. Environments are built in the user's own cache folder
(`$XDG_CACHE_HOME/specweave-ml/envs/<key>`, else `~/.cache/...`), keyed by the hash of the python
version and the pins, and reused only when verified: a real folder (not a link) owned by this user
and writable by no one else, holding the marker this module writes last, after a successful build,
naming the same key and pins.

Recorded package names and versions are data from a clone too: they reach the installer only as
`name==version` with both parts matching strict patterns (a PEP 508 name, a PEP 440 version), so no
installer option (`--index-url=...`), URL or `name @ file://...` requirement can ride in them.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import CannotReproduce
from ..schemas.records import ExperimentRecord
from .package_cache import user_cache_home

TOOL_PACKAGES = frozenset({"pip", "setuptools", "wheel", "uv", "distribute"})
MARKER = "specweave-env.json"
# PEP 508 names; PEP 440 versions (epoch, release, pre, post, dev, local), nothing else
PACKAGE_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,198}[A-Za-z0-9])?")
PACKAGE_VERSION = re.compile(r"(?:[0-9]{1,9}!)?[0-9]{1,18}(?:\.[0-9]{1,18}){0,20}"
                             r"(?:(?:a|b|rc)[0-9]{1,18})?(?:\.post[0-9]{1,18})?(?:\.dev[0-9]{1,18})?"
                             r"(?:\+[A-Za-z0-9]{1,40}(?:\.[A-Za-z0-9]{1,40}){0,10})?")


def envs_home() -> Path:
    """The user's own folder for built environments (never inside a repository)."""
    return user_cache_home() / "envs"


def env_key(python: str, pins: dict[str, str]) -> str:
    text = json.dumps([python, sorted(pins.items())])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def env_python(folder: Path) -> Path:
    return folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _current_packages() -> dict[str, str]:
    from .environment import capture_packages

    return capture_packages()


def checked_pins(ref: str, pins: dict[str, str]) -> list[str]:
    """`name==version` for each pin, or CannotReproduce naming the first one that is not plain."""
    out = []
    for name, version in sorted(pins.items()):
        if not (isinstance(name, str) and isinstance(version, str) and PACKAGE_NAME.fullmatch(name)
                and PACKAGE_VERSION.fullmatch(version)):
            raise CannotReproduce(ref, f"its package list holds {name!r}: {version!r}, which is not a plain "
                                       f"name==version pin: refused before any installer runs (a clone can write "
                                       f"installer options, URLs or file requirements there)")
        out.append(f"{name}=={version}")
    return out


def verified(folder: Path, key: str, pins: dict[str, str]) -> bool:
    """Whether `folder` is an environment this module built for `key` and `pins` (see the module doc)."""
    try:
        info = folder.lstat()
        if not stat.S_ISDIR(info.st_mode) or (hasattr(os, "getuid") and info.st_uid != os.getuid()) \
                or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            return False
        marker = folder / MARKER
        if marker.is_symlink() or not env_python(folder).exists():
            return False
        recorded = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(recorded, dict) and recorded.get("key") == key and recorded.get("pins") == pins


def environment(record: ExperimentRecord) -> dict[str, Any]:
    """Which interpreter the rerun uses: this one, one built earlier by reproduce, or one to build."""
    meta = record.meta
    assert meta is not None
    recorded = {k: v for k, v in meta.packages.items() if k not in TOOL_PACKAGES}
    want = ".".join((meta.python or platform.python_version()).split(".")[:2])
    have = f"{sys.version_info.major}.{sys.version_info.minor}"
    current = _current_packages()
    differences = [f"{name} {version} (here: {current.get(name, 'missing')})"
                   for name, version in sorted(recorded.items()) if current.get(name) != version]
    if want != have:
        differences.insert(0, f"python {want} (here: {have})")
    plan: dict[str, Any] = {"packages": len(recorded), "package_differences": differences, "installer": None,
                            "pins": recorded, "want": want}
    if not meta.packages:
        plan["notes"] = ["no packages were recorded: the current interpreter is used as it is"]
    if not differences or not meta.packages:
        return {**plan, "environment": "current", "python": sys.executable}
    checked_pins(record.id, recorded)  # before anything is planned around them
    key = env_key(want, recorded)
    folder = envs_home() / key
    if verified(folder, key, recorded):
        return {**plan, "environment": "cached", "python": str(env_python(folder)), "key": key}
    installer = "uv" if shutil.which("uv") else "pip"
    if installer == "pip" and want != have:
        raise CannotReproduce(record.id, f"it ran on python {want} and this is {have}: install uv (it fetches "
                                         f"that python) or run sw-ml reproduce from a python {want}")
    return {**plan, "environment": "create", "python": str(env_python(folder)), "installer": installer,
            "folder": str(folder), "key": key}


def _self_requirement(name: str, version: str) -> str:
    """This tracker itself installs from where it is installed when that is a local folder (read from
    this interpreter's own metadata, not from the record)."""
    from importlib import metadata

    try:
        direct = metadata.distribution(name).read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        direct = None
    if direct:
        url = json.loads(direct).get("url", "")
        if url.startswith("file://"):
            return url[len("file://"):]
    return f"{name}=={version}"


def build(record: ExperimentRecord, env: dict[str, Any], echo: Callable[[str], None]) -> str:
    """Build the planned environment in the user's cache; its interpreter."""
    folder = Path(env["folder"])
    python = env_python(folder)
    pins = [_self_requirement("specweave-ml", pin.split("==", 1)[1]) if pin.startswith("specweave-ml==") else pin
            for pin in checked_pins(record.id, env["pins"])]
    echo(f"creating {folder} with {env['installer']}: python {env['want']}, {len(pins)} packages")
    if folder.is_symlink() or folder.exists():
        shutil.rmtree(folder) if not folder.is_symlink() else folder.unlink()  # unverified: built again
    folder.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if env["installer"] == "uv":
        steps = [["uv", "venv", "--python", env["want"], str(folder)],
                 ["uv", "pip", "install", "--python", str(python), "--", *pins]]
    else:
        steps = [[sys.executable, "-m", "venv", str(folder)],
                 [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q", "--", *pins]]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            shutil.rmtree(folder, ignore_errors=True)
            lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
            raise CannotReproduce(record.id, f"building its environment failed ({step[0]} {step[1]}): "
                                  + (lines[-1].strip() if lines else f"exit {done.returncode}"))
    os.chmod(folder, 0o700)
    (folder / MARKER).write_text(json.dumps({"key": env["key"], "pins": env["pins"]}, indent=1), encoding="utf-8")
    return str(python)


__all__ = ["MARKER", "TOOL_PACKAGES", "build", "checked_pins", "env_key", "env_python", "environment", "envs_home",
           "verified"]
