"""Sharing the object store: `sw-ml artifacts push/pull` copy objects to and from a remote.

A remote is any fsspec URL: a folder (`/mnt/share/ml-objects`, relative paths from the project root),
`s3://bucket/prefix`, `gs://...`, `az://...`, `ssh://host/path`; configured once in ml.yaml

    artifacts:
      remote: s3://team-bucket/ml-objects
      storage_options: {endpoint_url: http://127.0.0.1:9000}   # fsspec options (credentials: from the env)

and laid out like the local store (`<remote>/sha256/ab/<rest of the hash>`), so one remote serves every
clone and every project that points at it. Both directions are idempotent: an object already at the
other end (same name, same size) is not copied again, and the result says what moved. A pull checks
every object's sha256 before it is placed: a damaged or truncated remote copy is refused, never kept.

fsspec, and the library of the URL's protocol (s3fs for s3://), are the optional extra `remote`,
imported only here.
"""

from __future__ import annotations

import posixpath
import secrets
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from ..errors import DamagedFile, InvalidInput, MissingExtra
from ..layout import METRICS_LOG_FILE, METRICS_SUMMARY_FILE
from ..models import ExperimentRecord
from .objects import (
    checked_object_path,
    object_key,
    object_state,
    open_object,
    place_object,
    sha256_of_fd,
    stage_stream,
)

_LIST_ABOVE = 64  # more objects than this to check: list the remote once instead of asking per object
_RENAMING = ("file", "local", "ssh", "sftp")  # protocols where a copy can land under a temp name and be renamed


class Transfer(BaseModel):
    """What a push or a pull did."""

    direction: Literal["push", "pull"]
    remote: str
    objects: int = Field(0, description="objects the chosen experiments keep in the object store")
    copied: int = Field(0, description="objects copied this time")
    bytes: int = Field(0, description="bytes copied this time")
    already: int = Field(0, description="objects already at the other end (same name and size)")
    missing: list[str] = Field(default_factory=list, description="objects the source end does not have")
    refused: list[str] = Field(default_factory=list, description="pulled objects whose sha256 was not the recorded one")
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.missing and not self.refused

    def summary(self) -> str:
        """One line for the CLI, then one per object that could not be copied."""
        verb, where = ("pushed", f"to {self.remote}") if self.direction == "push" else ("pulled", f"from {self.remote}")
        head = (f"{verb} {self.copied} object{'s' if self.copied != 1 else ''} ({_size(self.bytes)}) {where}; "
                f"{self.already} already there, of {self.objects} recorded, in {self.seconds:.1f}s")
        lines = [head]
        lines += [f"missing: {m}" for m in self.missing]
        lines += [f"refused: {r}" for r in self.refused]
        return "\n".join(lines)


class ArtifactsStatus(BaseModel):
    """Where the chosen experiments' artifacts are, in this clone (the remote is not asked)."""

    in_git: int = Field(0, description="artifacts kept in their experiment folders")
    in_git_bytes: int = 0
    objects: int = Field(0, description="distinct objects recorded in the object store")
    objects_bytes: int = 0
    present: int = Field(0, description="of those, here")
    missing: list[str] = Field(default_factory=list, description="recorded, not in this clone (pull them)")
    damaged: list[str] = Field(default_factory=list, description="here, but not the recorded bytes")
    remote: str | None = None

    def summary(self) -> str:
        lines = [f"{self.in_git} artifact{'s' if self.in_git != 1 else ''} in git ({_size(self.in_git_bytes)}); "
                 f"{self.objects} object{'s' if self.objects != 1 else ''} in the object store "
                 f"({_size(self.objects_bytes)}): {self.present} here, {len(self.missing)} missing, "
                 f"{len(self.damaged)} damaged; remote: {self.remote or 'none configured'}"]
        lines += [f"missing: {m}" for m in self.missing]
        lines += [f"damaged: {d}" for d in self.damaged]
        if self.missing or self.damaged:
            lines.append("run `sw-ml artifacts pull` to fetch them")
        return "\n".join(lines)


def _size(n: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def recorded_objects(records: Iterable[ExperimentRecord]) -> dict[str, tuple[int, list[str]]]:
    """sha256 -> (size, who records it: `increment/exp-id: name`) of the objects the records keep."""
    found: dict[str, tuple[int, list[str]]] = {}
    for rec in records:
        for art in rec.meta.artifacts if rec.meta is not None else ():
            if art.stored == "objects":
                size, who = found.setdefault(art.sha256, (art.size, []))
                who.append(f"{rec.increment}/{rec.id}: {art.name}")
        log = settled_log(rec)
        if log is not None:  # schema 3: the run's full point log travels with its models
            size, who = found.setdefault(log.sha256, (log.size, []))
            who.append(f"{rec.increment}/{rec.id}: {METRICS_LOG_FILE} (settled)")
    return found


def settled_log(rec: ExperimentRecord) -> Any:
    """The LogObject a schema-3 run's summary names, or None."""
    if rec.meta is None or rec.meta.schema_version < 3 and not (rec.path / METRICS_SUMMARY_FILE).exists():
        return None
    from .run_summary import read_summary

    summary = read_summary(rec.path)
    return summary.log if summary is not None else None


def _label(sha: str, who: list[str]) -> str:
    return f"{who[0]}{f' (and {len(who) - 1} more)' if len(who) > 1 else ''} (sha256 {sha[:12]})"


def open_remote(url: str, options: dict[str, Any], root: Path) -> tuple[Any, str]:
    """(fsspec filesystem, path of the remote's root on it) for `url`; a missing library is one line
    naming what to install, a URL fsspec cannot read one line saying what would do."""
    from ..integrations.optional import require

    fsspec = require("fsspec", "remote")
    if not isinstance(url, str) or not url.strip():
        raise InvalidInput("artifacts remote", url, "an fsspec URL: a folder, s3://bucket/prefix, gs://, az://, "
                           "ssh://host/path")
    url = url.strip()
    if "://" not in url:  # a folder: relative to the project root, whatever the working directory
        url = str((root / Path(url).expanduser()).resolve())
    protocol = url.split("://", 1)[0] if "://" in url else "file"
    try:
        fs, base = fsspec.core.url_to_fs(url, **options)
    except ImportError:
        from fsspec.registry import known_implementations

        package = {"s3": "s3fs", "s3a": "s3fs", "gs": "gcsfs", "gcs": "gcsfs", "az": "adlfs", "abfs": "adlfs",
                   "ssh": "paramiko", "sftp": "paramiko"}.get(protocol)
        if package == "s3fs":
            raise MissingExtra("s3fs", "remote") from None
        err = MissingExtra(package or protocol, "remote")
        hint = known_implementations.get(protocol, {}).get("err") or f"install {package or 'its fsspec library'}"
        err.message = f"the artifacts remote {url} needs {package or 'a library'} ({hint}): pip install {package}"
        err.args = (err.message,)
        raise err from None
    except ValueError as exc:
        raise InvalidInput("artifacts remote", url, f"an fsspec URL (a folder, s3://bucket/prefix, gs://, az://, "
                           f"ssh://host/path); fsspec says: {str(exc).splitlines()[0] if str(exc) else exc}") from None
    try:
        fs.invalidate_cache()  # fsspec reuses instances: a listing cached before a copy must not answer after it
    except Exception:  # noqa: BLE001 - not every filesystem keeps a cache
        pass
    return fs, base.rstrip("/")


def _remote_sizes(fs: Any, base: str, keys: list[str]) -> dict[str, int]:
    """key -> size of the objects among `keys` that the remote has."""
    if len(keys) > _LIST_ABOVE:
        try:
            listing = fs.find(posixpath.join(base, "sha256"), detail=True)
        except FileNotFoundError:
            return {}
        prefix = base.rstrip("/") + "/"
        sizes = {}
        for path, info in listing.items():
            path = path.lstrip("/") if not base.startswith("/") else path
            if path.startswith(prefix) and info.get("type", "file") == "file":
                sizes[path[len(prefix):]] = int(info.get("size") or 0)
        return {k: sizes[k] for k in keys if k in sizes}
    found = {}
    for key in keys:
        try:
            info = fs.info(posixpath.join(base, key))
        except FileNotFoundError:
            continue
        if info.get("type", "file") == "file":
            found[key] = int(info.get("size") or 0)
    return found


def push(store: Path, records: list[ExperimentRecord], fs: Any, base: str, url: str) -> Transfer:
    """Copy the records' objects that the remote lacks (or holds at another size) to it."""
    started = time.monotonic()
    needed = recorded_objects(records)
    result = Transfer(direction="push", remote=url, objects=len(needed))
    keys = {sha: object_key(sha) for sha in needed}
    there = _remote_sizes(fs, base, list(keys.values()))
    renaming = bool(set(_protocols(fs)) & set(_RENAMING))
    for sha, (size, who) in needed.items():
        key = keys[sha]
        if there.get(key) == size:
            result.already += 1
            continue
        if object_state(store, sha, size) != "present":
            result.missing.append(f"{_label(sha, who)} is not in this clone's object store")
            continue
        local = checked_object_path(store, sha)
        target = posixpath.join(base, key)
        if renaming:  # a reader of the remote never sees half an object
            fs.makedirs(posixpath.dirname(target), exist_ok=True)
            partial = f"{target}.{secrets.token_hex(6)}.partial"
            fs.put_file(str(local), partial)
            if key in there:  # at another size: a damaged copy (SFTP's rename does not replace a file)
                fs.rm(target)
            fs.mv(partial, target)
        else:  # object stores make an upload visible whole, at once
            fs.put_file(str(local), target)
        result.copied += 1
        result.bytes += size
    result.seconds = time.monotonic() - started
    return result


def _protocols(fs: Any) -> tuple[str, ...]:
    protocol = getattr(fs, "protocol", ())
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)


def pull(store: Path, records: list[ExperimentRecord], fs: Any, base: str, url: str) -> Transfer:
    """Copy the records' objects that this clone lacks (or holds damaged) from the remote, each checked
    against its recorded size and sha256 before it is placed."""
    started = time.monotonic()
    needed = recorded_objects(records)
    result = Transfer(direction="pull", remote=url, objects=len(needed))
    for sha, (size, who) in needed.items():
        if object_state(store, sha, size) == "present":
            result.already += 1
            continue
        source = posixpath.join(base, object_key(sha))
        target = checked_object_path(store, sha)
        try:
            handle = fs.open(source, "rb")
        except FileNotFoundError:
            result.missing.append(f"{_label(sha, who)} is not on the remote (push it from a clone that has it)")
            continue
        with handle:
            try:
                tmp, got_size, got = stage_stream(handle, target, limit=size)
            except DamagedFile:
                got_size, got, tmp = size + 1, "", None
        if got_size != size or got != sha:
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)
            problem = (f"{got_size if got_size <= size else 'more than ' + str(size)} bytes, not the {size} recorded"
                       if got_size != size else f"sha256 {got[:12]}... differs from the recorded {sha[:12]}...")
            result.refused.append(f"{_label(sha, who)}: the remote copy is damaged ({problem}); not kept")
            continue
        place_object(tmp, store, sha)
        result.copied += 1
        result.bytes += size
    result.seconds = time.monotonic() - started
    return result


def status(store: Path, records: list[ExperimentRecord], remote: str | None, verify: bool = False) -> ArtifactsStatus:
    """Where the records' artifacts are in this clone; `verify` also hashes every object here."""
    result = ArtifactsStatus(remote=remote)
    for rec in records:
        for art in rec.meta.artifacts if rec.meta is not None else ():
            if art.stored != "objects":
                result.in_git += 1
                result.in_git_bytes += art.size
    needed = recorded_objects(records)
    result.objects = len(needed)
    for sha, (size, who) in needed.items():
        result.objects_bytes += size
        state = object_state(store, sha, size)
        if state == "present" and verify:
            got_size, got = sha256_of_fd(open_object(store, sha))
            state = "present" if (got_size, got) == (size, sha) else "damaged"
        if state == "present":
            result.present += 1
        else:
            (result.missing if state == "missing" else result.damaged).append(_label(sha, who))
    return result


__all__ = ["ArtifactsStatus", "Transfer", "open_remote", "pull", "push", "recorded_objects", "settled_log", "status"]
