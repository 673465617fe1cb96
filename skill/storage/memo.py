"""A per-process memo for the long-lived server: id lookups and experiment details.

An agent asks for the same experiments again and again; the files rarely
change between two calls. Reading metadata.yaml and metrics.jsonl and
scanning a thousand folders for an id costs milliseconds; checking a few
`stat` signatures costs microseconds. So:

- a lookup (reference, increment) -> folder is reused while the store's
  structure is unchanged: the mtime of `increments/`, of its group folders,
  and of every increment's `experiments/` (a new folder anywhere changes one);
- a detail is reused while its folder's signature is unchanged (the folder's
  mtime plus mtime and size of each of its files, as `skill.storage.index` uses).

Nothing is memoised while a signature is younger than RACY_S seconds (a
change within the file system's timestamp granularity could otherwise go
unseen) or while the experiment runs. A miss falls back to the core, which
stays the one source of truth; the memo is never written to disk.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from ..layout import EXPERIMENTS_DIR, INCREMENT_GROUPS, INCREMENT_ID_RE, INCREMENTS_DIR, SPECWEAVE_DIR
from ..schemas.records import ExperimentDetail, ExperimentRecord
from .signatures import mtime_ns, run_signature, signature_mtimes

RACY_S = 2.0
MAX_ENTRIES = 4096


def _settled(mtimes: list[int]) -> bool:
    newest = max(mtimes, default=0)
    return time.time_ns() - newest > RACY_S * 1e9


class Memo:
    def __init__(self) -> None:
        self._lookups: dict[tuple[str, str | None], tuple[list[int], Path, str]] = {}
        self._details: dict[Path, tuple[list[int], ExperimentDetail]] = {}

    def structure(self, root: Path) -> list[int] | None:
        """mtimes of the folders whose change could change what a reference finds."""
        base = root / SPECWEAVE_DIR / INCREMENTS_DIR
        sig: list[int] = []
        for group in (None, *INCREMENT_GROUPS):
            folder = base / group if group else base
            sig.append(mtime_ns(folder))
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for entry in sorted(entries, key=lambda e: e.name):
                if INCREMENT_ID_RE.match(entry.name):
                    sig.append(mtime_ns(os.path.join(entry.path, EXPERIMENTS_DIR)))
        return sig if _settled(sig) else None

    def lookup(self, root: Path, ref: str, increment: str | None) -> tuple[Path, str] | None:
        """The folder and increment id a reference found last time, if nothing could have changed."""
        hit = self._lookups.get((ref, increment))
        if hit is None:
            return None
        sig, folder, inc_id = hit
        return (folder, inc_id) if self.structure(root) == sig else None

    def remember_lookup(self, root: Path, ref: str, increment: str | None, record: ExperimentRecord) -> None:
        sig = self.structure(root)
        if sig is not None:
            self._bounded(self._lookups)
            self._lookups[(ref, increment)] = (sig, Path(record.path), record.increment)

    def detail(self, folder: Path) -> ExperimentDetail | None:
        hit = self._details.get(folder)
        if hit is None:
            return None
        sig, detail = hit
        return detail if run_signature(folder) == sig else None

    def remember_detail(self, folder: Path, detail: ExperimentDetail) -> None:
        sig = run_signature(folder)
        if sig is not None and detail.status not in ("running", "crashed") and _settled(signature_mtimes(sig)):
            self._bounded(self._details)
            self._details[folder] = (sig, detail)

    def _bounded(self, table: dict) -> None:
        if len(table) >= MAX_ENTRIES:
            table.clear()


__all__ = ["Memo"]
