"""Where artifacts may go: a remote is the user's choice, never the repository's.

`.specweave/ml.yaml` arrives by `git pull`, so an `artifacts.remote` (or `storage_options`) written there
was chosen by whoever committed it: another project's bucket, `~/...`, `../../somewhere`, an `http://`
address of their own, an endpoint that collects credentials. It is used only after the user confirmed it
once for this repository, the way git's `safe.directory` and direnv's `allow` work:

    sw-ml artifacts allow-remote        # shows the remote and options, records them as confirmed

The confirmation is kept in the user's own config (`$XDG_CONFIG_HOME/specweave-ml/allowed-remotes.json`,
never in the repository), keyed by the repository's real path and the sha256 of the remote and its options:
a later commit that changes either needs a new confirmation. What the user says directly needs none: the
`--to` / `--from` flag, or the environment variable `SPECWEAVE_ARTIFACTS_REMOTE`.

Whatever its source, a URL is one of ALLOWED_PROTOCOLS and never chains (`simplecache::s3://...`): fsspec's
caching, `reference://`, `http(s)://` and similar protocols read or write places the URL does not name.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from ..errors import InvalidInput, UnconfirmedRemote

REMOTE_ENV = "SPECWEAVE_ARTIFACTS_REMOTE"
# Object stores and plain folders: each URL names exactly where bytes go. Not here, on purpose: http(s)
# (fsspec's HTTP filesystem cannot write or list reliably, and the URL picks any host), the caching and
# wrapping protocols (simplecache, filecache, blockcache, reference, zip, tar, dir: they read or write a
# second place the URL does not name), memory (nothing outlives the process), and anything unlisted.
ALLOWED_PROTOCOLS = ("file", "local", "s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "ssh", "sftp")
# storage_options that redirect or add I/O of their own (fsspec's caching and chaining keys).
_REFUSED_OPTIONS = ("fo", "target_protocol", "target_options", "remote_protocol", "remote_options",
                    "cache_storage", "cache_check", "same_names")
_ALLOWED_FILE = "allowed-remotes.json"


def _protocol(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else "file"


def check_url(url: Any, root: Path, *, from_user: bool) -> str:
    """The URL to open, or InvalidInput (one line). A local folder from the user (a flag, the environment)
    may be relative (to the project root) or start with `~`; one from ml.yaml must be absolute: `~` is a
    different folder for every user, and `../` leads wherever the committer wanted."""
    expected = (f"an fsspec URL of one of {', '.join(ALLOWED_PROTOCOLS)} (a folder, s3://bucket/prefix, gs://, az://,"
                " ssh://host/path), with no `::` chaining")
    if not isinstance(url, str) or not url.strip() or "\x00" in url:
        raise InvalidInput("artifacts remote", url, expected)
    url = url.strip()
    if "::" in url or _protocol(url) not in ALLOWED_PROTOCOLS:
        raise InvalidInput("artifacts remote", url, expected)
    if _protocol(url) in ("file", "local"):
        path = url.split("://", 1)[1] if "://" in url else url
        if from_user:
            return str((root / Path(path).expanduser()).resolve())
        if path.startswith("~") or not os.path.isabs(path) or ".." in Path(path).parts:
            raise InvalidInput("artifacts remote in .specweave/ml.yaml", url, "an absolute folder (no `~`, no "
                               "relative or `..` path); or pass the folder yourself with --to/--from")
        return str(Path(path))
    return url


def check_options(options: Any) -> dict[str, Any]:
    if not isinstance(options, dict):
        raise InvalidInput("artifacts storage_options", options, "a mapping of fsspec options")
    bad = sorted(k for k in options if str(k).lower() in _REFUSED_OPTIONS or "cache" in str(k).lower())
    if bad:
        raise InvalidInput("artifacts storage_options", bad, "options of the remote itself (no caching or chaining "
                           "options: they read or write a second place)")
    return dict(options)


def _fingerprint(url: str, options: dict[str, Any]) -> str:
    text = json.dumps({"remote": url, "storage_options": options}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def allowed_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "specweave-ml" / _ALLOWED_FILE


def _read_allowed() -> dict[str, str]:
    try:
        data = json.loads(allowed_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _key(root: Path) -> str:
    return str(root.resolve())


def is_confirmed(root: Path, url: str, options: dict[str, Any]) -> bool:
    return _read_allowed().get(_key(root)) == _fingerprint(url, options)


def confirm(root: Path, url: str, options: dict[str, Any]) -> Path:
    """Record ml.yaml's remote and options as confirmed by the user for this repository."""
    from .atomic_writes import atomic_write

    allowed = _read_allowed()
    allowed[_key(root)] = _fingerprint(url, options)
    path = allowed_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps(allowed, indent=2, sort_keys=True) + "\n")
    return path


def choose_remote(root: Path, flag: str | None, config_url: str | None, config_options: dict[str, Any]
                  ) -> tuple[str, str, dict[str, Any]]:
    """(URL to open, URL as shown, fsspec options) for a push or pull. The flag, then the environment, then
    ml.yaml's remote once confirmed. ml.yaml's storage_options go with ml.yaml's remote only when confirmed."""
    options = check_options(config_options or {})
    config_url = (config_url or "").strip() or None
    confirmed = config_url is not None and is_confirmed(root, config_url, options)
    chosen = (flag or "").strip() or os.environ.get(REMOTE_ENV, "").strip()
    if chosen:
        url = check_url(chosen, root, from_user=True)
        same = confirmed and _protocol(chosen) == _protocol(config_url or "")
        return url, chosen, options if same else {}
    if config_url is None:
        raise InvalidInput("artifacts remote", None, "--to/--from URL, or `artifacts: {remote: URL}` in "
                           ".specweave/ml.yaml (a folder, s3://bucket/prefix, gs://, az://, ssh://host/path)")
    url = check_url(config_url, root, from_user=False)
    if not confirmed:
        raise UnconfirmedRemote(config_url)
    return url, config_url, options


__all__ = ["ALLOWED_PROTOCOLS", "REMOTE_ENV", "UnconfirmedRemote", "allowed_file", "check_options", "check_url",
           "choose_remote", "confirm", "is_confirmed"]
