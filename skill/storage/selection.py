"""Which run an increment selected: derived from `decisions.jsonl`, never stored as a tag.

Why derived: a `selected` tag written into metadata.yaml is a second copy of the
decision, and two clones that each decided tag two different runs; after they
merge both carry it, and nothing says which one holds. The decision history
merges cleanly (a union of lines) and says when each decision was made, so the
selected run is read from it: the latest decision of the increment wins. Every
reader shows it as the tag `selected` on that run (and on no other of the
tracker's own runs), so lists, filters (`--tag selected`) and show look as
before. An increment without decisions keeps whatever tags its files carry.
"""

from __future__ import annotations

import threading
from pathlib import Path

from ..layout import DECISIONS_FILE
from ..schemas.records import ExperimentRecord
from .signatures import Signature, file_signature

SELECTED_TAG = "selected"

_cache: dict[str, tuple[Signature, tuple[str | None, str] | None]] = {}
_lock = threading.Lock()


def selected_in(experiments_dir: Path) -> tuple[str | None, str] | None:
    """(folder, readable id) the latest decision in `experiments_dir/decisions.jsonl` selects, or None
    when there is no readable decision. Cached per file identity: one lstat per call."""
    path = experiments_dir / DECISIONS_FILE
    sig = file_signature(path)
    if sig is None:
        return None
    key = str(path)
    with _lock:
        hit = _cache.get(key)
    if hit is not None and hit[0] == sig:
        return hit[1]
    from .decisions import read_decisions_file  # the one reader of decisions.jsonl

    try:
        decisions = read_decisions_file(path, path)[0]  # oldest first: the last one holds
    except OSError:
        return None
    latest = decisions[-1] if decisions else None
    found = (latest.selected_dir, latest.selected) if latest else None
    with _lock:
        _cache[key] = (sig, found)
    return found


def _is_chosen(record: ExperimentRecord, chosen: tuple[str | None, str]) -> bool:
    return record.dir == chosen[0] if chosen[0] else record.id == chosen[1]


def with_selection(record: ExperimentRecord, chosen: tuple[str | None, str] | None = None,
                   known: bool = False) -> ExperimentRecord:
    """`record` with the `selected` tag as the decisions say (a copy when that changes its tags)."""
    meta = record.meta
    if meta is None or meta.source != "specweave":
        return record
    if not known:
        chosen = selected_in(Path(record.path).parent)
    if chosen is None:
        return record
    wanted = _is_chosen(record, chosen)
    if (SELECTED_TAG in meta.tags) == wanted:
        return record
    tags = [t for t in meta.tags if t != SELECTED_TAG] + ([SELECTED_TAG] if wanted else [])
    return record.model_copy(update={"meta": meta.model_copy(update={"tags": tags})})


def apply_selection(records: list[ExperimentRecord], experiments_dir: Path) -> list[ExperimentRecord]:
    """Every record of one increment with the `selected` tag as its decisions say."""
    chosen = selected_in(experiments_dir)
    if chosen is None:
        return records
    return [with_selection(r, chosen, known=True) for r in records]


__all__ = ["SELECTED_TAG", "apply_selection", "selected_in", "with_selection"]
