"""The environment of a run, stored once: `.specweave/environments/<hash>.yaml`.

Every run of one interpreter on one machine has the same Python, platform, CPU
count, GPUs and package list: hundreds of lines that used to be copied into
each metadata.yaml (half the file, identical in every run, churning every diff
when one package moved). Since schema version 2 they are written once, to a
file named by the hash of its content, and metadata.yaml names that hash.
Content addressing keeps it merge-friendly: two clones that ran in the same
environment write the same file with the same bytes, and git merges that
without a conflict. Readers put the fields back, so every face still gives a
run's packages; version-1 folders carry them inline and read as before.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from pathlib import Path
from typing import Any

from ..errors import DamagedFile
from ..layout import ENVIRONMENTS_DIR
from .atomic_writes import atomic_write
from .bounded_parsing import read_yaml
from .encoding import dumps_yaml
from .paths import make_dirs_within
from .safe_reads import read_bytes_nofollow
from .signatures import file_signature
from .store_dirs import store_dir_of

# The fields identical for every run of one environment (the command and the host stay per run).
SHARED_FIELDS = ("python", "platform", "cpu_count", "gpus", "packages")
KEY_RE = re.compile(r"^[0-9a-f]{16}$")

# The largest environment file read. What the tracker writes is a few kilobytes to ~60 KB (a conda
# environment of 2,000 packages); 1 MB is more than ten times that, and parsing it stays well under a
# second. Every reader of a run (show, diff, report, reproduce --dry-run, history through the run's record)
# meets this file, so a clone's 12 MB file must cost an fstat, not seconds and hundreds of MB of YAML.
MAX_ENVIRONMENT_BYTES = 1 << 20

_loaded: dict[tuple[str, int, int, int], dict[str, Any]] = {}
_lock = threading.Lock()


def environment_key(fields: dict[str, Any]) -> str:
    """The content hash that names an environment: sha256 of its canonical JSON, 16 hex digits (64
    bits: no two environments of one repository collide in practice, and the name stays short)."""
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


_shared: dict[int, tuple[Any, dict[str, Any], str]] = {}


def shared_fields(env: Any) -> tuple[dict[str, Any], str]:
    """The shared fields of a captured environment (a pydantic model) and their key, worked out once per
    environment object: a process captures its environment once, and every run it opens names it (the
    dump and hash of the package list cost more than the rest of a short run's metadata)."""
    found = _shared.get(id(env))
    if found is None or found[0] is not env:
        fields = env.model_dump(mode="json", include=set(SHARED_FIELDS))
        with _lock:
            if len(_shared) > 16:
                _shared.clear()
            found = _shared[id(env)] = (env, fields, environment_key(fields))  # holds env: its id stays its own
    return found[1], found[2]


def environment_path(store: Path, key: str) -> Path:
    return store / ENVIRONMENTS_DIR / f"{key}.yaml"


def write_environment(store: Path, fields: dict[str, Any], key: str | None = None) -> str:
    """Write the shared environment file unless it is already there; returns its key (`key`: the fields'
    key, when the caller has it from `shared_fields`)."""
    key = key or environment_key(fields)
    path = environment_path(store, key)
    stamp = file_signature(path, regular=True)  # lstat: a link is not a regular file
    if stamp is not None and _checked.get(str(path)) == stamp:
        return key  # the file this process checked (or wrote), unchanged since: every run after the first
    text = dumps_yaml(fields)
    try:
        if stamp is not None:
            # The bytes this process would write hold the content the name is the hash of: no parse
            # needed (a few ms for a long package list, at every process's first run).
            if read_bytes_nofollow(path, MAX_ENVIRONMENT_BYTES) != text.encode("utf-8"):
                read_environment(store, key)  # a file of that name whose content is not that hash is replaced
            _checked[str(path)] = stamp
            return key
    except (DamagedFile, OSError):
        pass
    folder = make_dirs_within(store, (ENVIRONMENTS_DIR,), "the store")  # no link followed out
    atomic_write(folder / path.name, text)
    with _lock:
        _loaded.clear()
        _checked[str(path)] = file_signature(path, regular=True)
    return key


_checked: dict[str, Any] = {}  # environment file -> its signature when this process found it right


def read_environment(store: Path, key: str) -> dict[str, Any]:
    """The fields of environment `key` (cached per file identity). DamagedFile, one line, when the key
    is malformed, or the file is missing, a link, unreadable, larger than MAX_ENVIRONMENT_BYTES, not a
    mapping, or not the content its name is the hash of."""
    if not KEY_RE.match(key):
        raise DamagedFile(f"{ENVIRONMENTS_DIR}/{key}", "is not an environment hash (16 hex digits)")
    path = environment_path(store, key)
    stamp = file_signature(path)
    if stamp is None:
        raise DamagedFile(str(path), "is named by metadata.yaml but missing (was it committed?)")
    sig = (str(path), *stamp)
    with _lock:
        cached = _loaded.get(sig)
    if cached is not None:
        return cached
    data = read_yaml(path, MAX_ENVIRONMENT_BYTES)  # bounded, never through a link
    if not isinstance(data, dict):
        raise DamagedFile(str(path), "is not a mapping of environment fields")
    fields = {name: data[name] for name in SHARED_FIELDS if name in data}
    if environment_key(data) != key:  # named by its hash: an edit (a commit changing the package list) shows
        raise DamagedFile(str(path), "does not match the hash it is named by (edited after it was written); "
                                     "its packages are not used")
    with _lock:
        if len(_loaded) > 256:
            _loaded.clear()
        _loaded[sig] = fields
    return fields


def fill_environment(meta: Any, folder: Path, store: Path | None = None) -> str | None:
    """Put the shared fields of `meta.environment` back on `meta` (an ExperimentMeta read from `folder`,
    in `store` when the caller knows it); returns the problem, one line, when they cannot be read (the
    run itself still reads)."""
    key = getattr(meta, "environment", None)
    if not key:
        return None
    store = store or store_dir_of(folder)
    if store is None:
        return f"environment {key}: the experiment is outside a .specweave store"
    try:
        fields = read_environment(store, key)
    except DamagedFile as exc:
        return f"{exc.path}: {exc.problem}"
    except OSError as exc:
        return f"{environment_path(store, key)}: cannot be read ({exc.strerror or exc})"
    for name, value in fields.items():
        setattr(meta, name, value)
    if "gpus" in fields and isinstance(fields["gpus"], list):  # plain dicts from YAML: the model's type
        from ..schemas.records import GpuInfo

        meta.gpus = [GpuInfo.model_validate(g) if isinstance(g, dict) else g for g in fields["gpus"]]
    return None


__all__ = ["SHARED_FIELDS", "environment_key", "fill_environment", "read_environment", "write_environment"]
