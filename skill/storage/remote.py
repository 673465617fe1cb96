"""Sharing the object store: `sw-ml artifacts push/pull` copy objects to and from a remote.

A remote is an fsspec URL of an allowed protocol (`remote_trust.ALLOWED_PROTOCOLS`): a folder
(`/mnt/share/ml-objects`), `s3://bucket/prefix`, `gs://...`, `az://...`, `ssh://host/path`; given with
`--to/--from`, `SPECWEAVE_ARTIFACTS_REMOTE`, or configured once in ml.yaml and then confirmed by each user
(`sw-ml artifacts allow-remote`: the file came with the repository, see `remote_trust.py`)

    artifacts:
      remote: s3://team-bucket/ml-objects
      storage_options: {endpoint_url: http://127.0.0.1:9000}   # fsspec options (credentials: from the env)

and laid out like the local store (`<remote>/sha256/ab/<rest of the hash>`), so one remote serves every
clone and every project that points at it. Both directions are idempotent: an object already at the
other end with the right sha256 is not copied again, and the result says what moved. Objects are named by
their hash, and the hash is what is compared, never the size alone: a push sends only local bytes that
hash to their name and replaces a remote copy that does not (its check is remembered per remote file
version in the cache, so an unchanged remote is not downloaded twice); a pull checks every object's sha256
before it is placed and replaces a local copy that does not match. A record whose sha256 is malformed is
one damaged line; the others still move.

fsspec, and the library of the URL's protocol (s3fs for s3://), are the optional extra `remote`,
imported only here.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import secrets
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from ..errors import DamagedFile, InvalidInput, MissingExtra, RemoteFailed, UnsafePath
from ..layout import CACHE_DIR, METRICS_LOG_FILE, METRICS_SUMMARY_FILE
from ..schemas.records import ExperimentRecord
from .atomic_writes import atomic_write
from .objects import (
    HASH_RE,
    checked_object_path,
    object_key,
    object_state,
    open_object,
    place_object,
    sha256_of_fd,
    stage_stream,
)
from .safe_reads import read_bytes_nofollow
from .signatures import file_signature
from .store_dirs import make_store_dirs

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


def recorded_objects(records: Iterable[ExperimentRecord], bad: list[str] | None = None
                     ) -> dict[str, tuple[int, list[str]]]:
    """sha256 -> (size, who records it: `increment/exp-id: name`) of the objects the records keep. A record
    whose sha256 is not 64 hex digits (or whose size is not a count) is one line in `bad`, not an error."""
    found: dict[str, tuple[int, list[str]]] = {}
    for rec in records:
        for art in rec.meta.artifacts if rec.meta is not None else ():
            if art.stored == "objects":
                if not isinstance(art.sha256, str) or not HASH_RE.match(art.sha256) or not isinstance(art.size, int) \
                        or art.size < 0:
                    if bad is not None:
                        bad.append(f"{rec.increment}/{rec.id}: {art.name}: its recorded sha256 {str(art.sha256)[:80]!r}"
                                   " is not 64 hexadecimal digits; skipped")
                    continue
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
    from ..extras import require
    from .remote_trust import check_options, check_url

    url = check_url(url, root, from_user=True)  # the caller chose it (remote_trust.choose_remote): checked again
    options = check_options(options)
    fsspec = require("fsspec", "remote")
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
    except Exception as exc:  # noqa: BLE001 - a library's own error (bad options, no credentials): one line
        raise RemoteFailed(url, "connecting", exc) from None
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


def _local_hash(store: Path, sha: str, size: int) -> str:
    """`present` when this clone's copy of the object is a plain file of `size` bytes hashing to `sha`,
    `missing`, or `damaged` (anything else: the wrong bytes at the right size included). Hashes are
    remembered per file identity for the process."""
    state = object_state(store, sha, size)
    if state != "present":
        return state
    path = checked_object_path(store, sha)
    stamp = file_signature(path)
    if stamp is None:
        return "missing"
    key = (str(path), *stamp)
    if _hashed.get(key) == sha:
        return "present"
    try:
        got_size, got = sha256_of_fd(open_object(store, sha))
    except (OSError, DamagedFile):
        return "damaged"
    if (got_size, got) != (size, sha):
        return "damaged"
    if len(_hashed) > 100_000:
        _hashed.clear()
    _hashed[key] = sha
    return "present"


_hashed: dict[tuple[str, int, int, int], str] = {}


def _remote_version(info: dict[str, Any]) -> str:
    """What identifies one version of a remote file without reading it: its size and whatever the
    filesystem reports that changes with the content (an S3 ETag, a modification time)."""
    keys = ("size", "ETag", "etag", "md5Hash", "crc32c", "mtime", "LastModified", "last_modified", "created")
    return json.dumps({k: str(info.get(k)) for k in keys if info.get(k) is not None}, sort_keys=True)


class _Checked:
    """Remote copies already hashed, by URL, key and version: `.specweave/cache/remote-checked/<url hash>.json`
    (per clone, git-ignored): a push downloads a remote copy to check it once, not on every push."""

    def __init__(self, store: Path, url: str):
        name = hashlib.sha256(url.encode("utf-8")).hexdigest()[:24] + ".json"
        self.path = store / CACHE_DIR / "remote-checked" / name
        self.changed = False
        try:
            data = json.loads(read_bytes_nofollow(self.path, 64 << 20))
            self.known: dict[str, str] = {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
        except (OSError, ValueError, DamagedFile):
            self.known = {}

    def ok(self, key: str, version: str) -> bool:
        return self.known.get(key) == version

    def mark(self, key: str, version: str) -> None:
        self.known[key] = version
        self.changed = True

    def save(self) -> None:
        if not self.changed:
            return
        try:
            from .cache_dir import ignore_cache

            make_store_dirs(self.path.parent)
            ignore_cache(self.path.parent)
            atomic_write(self.path, json.dumps(self.known, sort_keys=True))
        except (OSError, DamagedFile):
            pass  # only an optimisation: the next push checks again


def _remote_sha(fs: Any, path: str, limit: int) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with fs.open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            size += len(block)
            if size > limit:
                return size, ""
            digest.update(block)
    return size, digest.hexdigest()


def push(store: Path, records: list[ExperimentRecord], fs: Any, base: str, url: str) -> Transfer:
    """Copy the records' objects that the remote lacks, or holds with other bytes, to it. Only bytes that
    hash to their name are sent; what is counted as copied is what the remote then holds."""
    started = time.monotonic()
    bad: list[str] = []
    needed = recorded_objects(records, bad)
    result = Transfer(direction="push", remote=url, objects=len(needed) + len(bad), refused=bad)
    keys = {sha: object_key(sha) for sha in needed}
    try:
        there = _remote_sizes(fs, base, list(keys.values()))
    except Exception as exc:  # noqa: BLE001 - any library's error, one line
        raise RemoteFailed(url, "listing what it holds", exc) from None
    checked = _Checked(store, url)
    renaming = bool(set(_protocols(fs)) & set(_RENAMING))
    try:
        for sha, (size, who) in needed.items():
            _push_one(store, fs, base, keys[sha], sha, size, who, there, checked, renaming, result)
    finally:
        checked.save()
    result.seconds = time.monotonic() - started
    return result


def _push_one(store: Path, fs: Any, base: str, key: str, sha: str, size: int, who: list[str], there: dict[str, int],
              checked: _Checked, renaming: bool, result: Transfer) -> None:
    target = posixpath.join(base, key)
    try:
        if there.get(key) == size:  # the right size: the right bytes? (a same-size copy may be damaged)
            info = fs.info(target)
            version = _remote_version(info)
            if checked.ok(key, version) or _remote_sha(fs, target, size) == (size, sha):
                checked.mark(key, version)
                result.already += 1
                return
        state = _local_hash(store, sha, size)
        if state != "present":
            if state == "missing":
                result.missing.append(f"{_label(sha, who)} is not in this clone's object store")
            else:
                result.refused.append(f"{_label(sha, who)}: this clone's copy does not hash to its name (damaged); "
                                      "not sent (`sw-ml artifacts pull` replaces it)")
            return
        local = checked_object_path(store, sha)
        if renaming:  # a reader of the remote never sees half an object
            fs.makedirs(posixpath.dirname(target), exist_ok=True)
            partial = f"{target}.{secrets.token_hex(6)}.partial"
            fs.put_file(str(local), partial)
            if key in there:  # other bytes there: a damaged copy (SFTP's rename does not replace a file)
                fs.rm(target)
            fs.mv(partial, target)
        else:  # object stores make an upload visible whole, at once
            fs.put_file(str(local), target)
        try:
            fs.invalidate_cache(target)
        except Exception:  # noqa: BLE001 - not every filesystem keeps a cache
            pass
        info = fs.info(target)  # count only what the remote now really holds
        if info.get("type", "file") != "file" or int(info.get("size") or 0) != size:
            result.refused.append(f"{_label(sha, who)}: the remote did not keep it ({info.get('size')} bytes there)")
            return
        checked.mark(key, _remote_version(info))
    except (UnsafePath, DamagedFile, InvalidInput) as exc:
        result.refused.append(f"{_label(sha, who)}: {exc}")
        return
    except Exception as exc:  # noqa: BLE001 - the remote's own error for this object: one line, the rest go on
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        result.refused.append(f"{_label(sha, who)}: the remote refused it ({type(exc).__name__}: {first})")
        return
    result.copied += 1
    result.bytes += size


def _protocols(fs: Any) -> tuple[str, ...]:
    protocol = getattr(fs, "protocol", ())
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)


def pull(store: Path, records: list[ExperimentRecord], fs: Any, base: str, url: str) -> Transfer:
    """Copy the records' objects that this clone lacks, or holds with other bytes, from the remote, each
    checked against its recorded size and sha256 before it is placed."""
    started = time.monotonic()
    bad: list[str] = []
    needed = recorded_objects(records, bad)
    result = Transfer(direction="pull", remote=url, objects=len(needed) + len(bad), refused=bad)
    for sha, (size, who) in needed.items():
        try:
            if _local_hash(store, sha, size) == "present":
                result.already += 1
                continue
            _pull_one(store, fs, base, sha, size, who, result)
        except (UnsafePath, DamagedFile, InvalidInput) as exc:
            result.refused.append(f"{_label(sha, who)}: {exc}")
        except Exception as exc:  # noqa: BLE001 - the remote's own error for this object: one line
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            result.refused.append(f"{_label(sha, who)}: the remote failed ({type(exc).__name__}: {first})")
    result.seconds = time.monotonic() - started
    return result


def _pull_one(store: Path, fs: Any, base: str, sha: str, size: int, who: list[str], result: Transfer) -> None:
    source = posixpath.join(base, object_key(sha))
    target = checked_object_path(store, sha)
    try:
        handle = fs.open(source, "rb")
    except FileNotFoundError:
        result.missing.append(f"{_label(sha, who)} is not on the remote (push it from a clone that has it)")
        return
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
        return
    place_object(tmp, store, sha)
    result.copied += 1
    result.bytes += size


def status(store: Path, records: list[ExperimentRecord], remote: str | None, verify: bool = False) -> ArtifactsStatus:
    """Where the records' artifacts are in this clone; `verify` also hashes every object here."""
    result = ArtifactsStatus(remote=remote)
    for rec in records:
        for art in rec.meta.artifacts if rec.meta is not None else ():
            if art.stored != "objects":
                result.in_git += 1
                result.in_git_bytes += art.size
    needed = recorded_objects(records, result.damaged)
    result.objects = len(needed) + len(result.damaged)
    for sha, (size, who) in needed.items():
        result.objects_bytes += size
        try:
            state = _local_hash(store, sha, size) if verify else object_state(store, sha, size)
        except (UnsafePath, InvalidInput, OSError):
            state = "damaged"
        if state == "present":
            result.present += 1
        else:
            (result.missing if state == "missing" else result.damaged).append(_label(sha, who))
    return result


__all__ = ["ArtifactsStatus", "Transfer", "open_remote", "pull", "push", "recorded_objects", "settled_log", "status"]
