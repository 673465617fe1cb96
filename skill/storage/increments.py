"""Increments: SpecWeave's unit of work, and the folder experiments are logged under."""

from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path

from ..errors import AmbiguousReference, DamagedFile, InvalidInput, NotFound, UnsafePath
from ..layout import (
    ACTIVE_INCREMENT_FILE,
    EXPERIMENTS_DIR,
    INCREMENT_GROUPS,
    INCREMENT_ID_RE,
    INCREMENT_NUMBER_RE,
    INCREMENTS_DIR,
    SPECWEAVE_DIR,
    STATE_DIR,
)
from ..schemas.records import Increment
from .bounded_parsing import load_yaml_text
from .experiment_folders import scan_experiments
from .safe_reads import read_bytes_nofollow
from .store_dirs import make_store_dirs

DEFAULT_INCREMENT_SLUG = "experiments"
_MAX_SPEC_BYTES = 1 << 20  # what is read of SpecWeave's own spec.md / metadata.json for a title


def increments_dir(root: Path) -> Path:
    return root / SPECWEAVE_DIR / INCREMENTS_DIR


def _scan(root: Path, *, links: bool = False) -> list[tuple[str, str | None, Path]]:
    """(id, group, path) of every increment folder, active ones and grouped ones.

    A symbolic link is never taken for an increment (what it points at is not this store's);
    `links=True` lists those links instead, so a reference to one can be refused by name."""
    base = increments_dir(root)
    found: list[tuple[str, str | None, Path]] = []
    for group in (None, *INCREMENT_GROUPS):
        folder = base / group if group else base
        try:
            if folder.is_symlink() or base.is_symlink():
                continue
            entries = os.scandir(folder)
        except (FileNotFoundError, NotADirectoryError):
            continue
        with entries:
            for entry in entries:
                if INCREMENT_ID_RE.match(entry.name) and (entry.is_symlink() if links
                                                          else not entry.is_symlink() and entry.is_dir()):
                    found.append((entry.name, group, Path(entry.path)))
    found.sort(key=lambda item: item[0])
    return found


def _title(inc_id: str, path: Path) -> str:
    """The increment's title: spec.md front matter, metadata.json, else its folder name."""
    spec = path / "spec.md"
    try:
        text = read_bytes_nofollow(spec, _MAX_SPEC_BYTES).decode("utf-8")
    except (OSError, UnicodeDecodeError, DamagedFile):
        text = ""
    if text.startswith("---"):
        end = text.find("\n---", 3)
        if end > 0:
            try:
                front = load_yaml_text(text[3:end], spec)
            except Exception:  # a person's spec.md may hold anything (an alias bomb too); the title is optional
                front = None
            if isinstance(front, dict) and isinstance(front.get("title"), str) and front["title"].strip():
                return front["title"].strip()
    try:
        meta = json.loads(read_bytes_nofollow(path / "metadata.json", _MAX_SPEC_BYTES))
        if isinstance(meta, dict):
            for key in ("title", "name"):
                if isinstance(meta.get(key), str) and meta[key].strip():
                    return meta[key].strip()
    except (OSError, ValueError, RecursionError, DamagedFile):
        pass
    return _slug_title(inc_id.split("-", 1)[1])


def _count_experiments(path: Path) -> int:
    folders, linked = scan_experiments(path / EXPERIMENTS_DIR)
    return len(folders) + len(linked)  # what a listing shows: a linked folder is listed as damaged


def _to_model(inc_id: str, group: str | None, path: Path, *, count: bool = False, title: bool = True) -> Increment:
    number, slug = inc_id.split("-", 1)
    return Increment(
        id=inc_id, number=number, slug=slug, title=_title(inc_id, path) if title else _slug_title(slug),
        group=group, path=path, experiment_count=_count_experiments(path) if count else None,
    )


def _slug_title(slug: str) -> str:
    return " ".join(word.capitalize() for word in slug.split("-") if word)


def list_increments(root: Path, *, details: bool = True) -> list[Increment]:
    """Every increment of the project, oldest first, archived ones included.

    `details=False` skips what a lookup does not need (reading each spec.md for
    its title, counting experiments): the title is then the folder's slug."""
    return [_to_model(*item, count=details, title=details) for item in _scan(root)]


def active_increment_ids(root: Path) -> list[str]:
    """Ids named in SpecWeave's state file: `{"ids": [...]}` or the legacy `{"id": "..."}`."""
    path = root / SPECWEAVE_DIR / STATE_DIR / ACTIVE_INCREMENT_FILE
    try:
        data = json.loads(read_bytes_nofollow(path, _MAX_SPEC_BYTES))
    except (OSError, ValueError, RecursionError, DamagedFile):
        return []
    if not isinstance(data, dict):
        return []
    ids = data.get("ids")
    if isinstance(ids, list):
        return [i for i in ids if isinstance(i, str)]
    single = data.get("id")
    return [single] if isinstance(single, str) else []


def _match(ref: str, scanned: list[tuple[str, str | None, Path]]) -> list[tuple[str, str | None, Path]]:
    exact = [item for item in scanned if item[0] == ref]
    if exact:
        return exact
    if INCREMENT_NUMBER_RE.match(ref):
        return [item for item in scanned if item[0].split("-", 1)[0] == ref]
    if re.fullmatch(r"\d{1,3}", ref):  # "42" means 0042
        padded = ref.zfill(4)
        return [item for item in scanned if item[0].split("-", 1)[0] == padded]
    return [item for item in scanned if item[0].split("-", 1)[1] == ref]


def validate_increment_ref(ref: str) -> str:
    ref = ref.strip() if isinstance(ref, str) else ref
    if not isinstance(ref, str) or not re.fullmatch(r"\d{1,4}[A-Z]?(-[a-z0-9-]+)?|[a-z0-9][a-z0-9-]*", ref):
        raise InvalidInput(
            "increment", ref, "a number like '0042', an id like '0042-recommendation-model', or its slug"
        )
    return ref


def resolve_increment(root: Path, ref: str | None = None, *, create: bool = False) -> Increment:
    """Find an increment by number prefix, full id or slug; none means active, then newest.

    With `create=True` a missing increment is made (zero-config logging): a
    number becomes `<number>-experiments`, nothing at all becomes
    `0001-experiments`.
    """
    scanned = _scan(root)
    if ref is None:
        for active in active_increment_ids(root):
            hits = _match(active, scanned)
            if len(hits) == 1:
                return _to_model(*hits[0])
        live = [item for item in scanned if item[1] is None] or scanned
        if live:
            return _to_model(*live[-1])
        if create:
            return create_increment(root, f"0001-{DEFAULT_INCREMENT_SLUG}")
        raise NotFound("increment", "(active)", [])
    ref = validate_increment_ref(ref)
    hits = _match(ref, scanned)
    if len(hits) == 1:
        return _to_model(*hits[0])
    if len(hits) > 1:
        raise AmbiguousReference("increment", ref, [item[0] for item in hits])
    linked = _match(ref, _scan(root, links=True))
    if linked:  # a link planted in the store: refused by name rather than "not found"
        raise UnsafePath(f"{INCREMENTS_DIR}/{linked[0][0]}", f"{SPECWEAVE_DIR}/{INCREMENTS_DIR}")
    if create:
        if INCREMENT_ID_RE.match(ref):
            return create_increment(root, ref)
        if INCREMENT_NUMBER_RE.match(ref) or re.fullmatch(r"\d{1,3}", ref):
            return create_increment(root, f"{ref.zfill(4) if ref.isdigit() else ref}-{DEFAULT_INCREMENT_SLUG}")
    raise NotFound("increment", ref, [item[0] for item in scanned])


def create_increment(root: Path, inc_id: str) -> Increment:
    if not INCREMENT_ID_RE.match(inc_id):
        raise InvalidInput("increment id", inc_id, "NNNN-slug, e.g. 0042-recommendation-model")
    path = increments_dir(root) / inc_id
    make_store_dirs(path / EXPERIMENTS_DIR)
    return _to_model(inc_id, None, path)


_resolved: dict[tuple[str, str | None], Increment] = {}
_resolved_lock = threading.Lock()


def increment_for(root: Path, ref: str | None) -> tuple[Increment, bool]:
    """Resolve (and remember) the increment; create it when missing. Returns (increment, created).

    The zero-config rule of logging: `track_experiment`, the importers and the other trackers' setups
    (`configure_mlflow`, `configure_wandb`, the TensorBoard writer) all put runs where it says."""
    key = (str(root), ref)
    with _resolved_lock:
        known = _resolved.get(key)
        if known is not None and (known.path / EXPERIMENTS_DIR).is_dir():
            return known, False
        try:
            inc, created = resolve_increment(root, ref), False
        except NotFound:
            inc, created = resolve_increment(root, ref, create=True), True
        make_store_dirs(inc.path / EXPERIMENTS_DIR)  # refuses a linked `.specweave`, increment or experiments/
        _resolved[key] = inc
        return inc, created


__all__ = [
    "active_increment_ids",
    "create_increment",
    "increment_for",
    "increments_dir",
    "list_increments",
    "resolve_increment",
]
