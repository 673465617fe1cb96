"""What changed in the store since the last look: runs that appeared or changed, points appended.

The dashboard pushes these to an open page (server-sent events), so a page never re-fetches a
run's whole history to stay current (what makes other local dashboards slow with many runs): each
poll is a few `stat` calls per run, and a log that grew is read from where the last poll stopped,
whole lines only (a line being written is read on the next poll).
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from ..layout import (
    EDITS_FILE,
    EXPERIMENT_DIR_RE,
    EXPERIMENTS_DIR,
    METADATA_FILE,
    METRICS_FILE,
    METRICS_LOG_FILE,
)
from ..schemas.records import Increment
from ..storage.signatures import file_signature
from .table import run_row

MAX_READ = 8 << 20  # bytes of new log lines read for one run in one poll; the rest on the next


class StoreWatch:
    """Polled by one open page: `poll()` lists the events since the previous poll (the first: none)."""

    def __init__(self, root: Path, increments: list[Increment], primary: str | None = None):
        self.root = root
        self.primary = primary
        self.incs = list(increments)
        self.folders: dict[Path, tuple[Any, ...]] = {}
        self.offsets: dict[Path, int] = {}
        self.starts: dict[Path, float | None] = {}
        self.settled: set[Path] = set()  # runs whose log went into the object store and was read to its end
        for folder, inc in self._folders():
            self.folders[folder] = self._metafile_signature(folder)
            live = file_signature(folder / METRICS_LOG_FILE)
            self.offsets[folder] = (live or (0, 0))[0]
            if live is None:  # over before the page opened: the page fetched its points already
                self.settled.add(folder)

    def _folders(self) -> list[tuple[Path, str]]:
        found = []
        for inc in self.incs:
            base = inc.path / EXPERIMENTS_DIR
            try:
                entries = list(os.scandir(base))
            except OSError:
                continue
            for entry in entries:
                if EXPERIMENT_DIR_RE.match(entry.name) and entry.is_dir(follow_symlinks=False):
                    found.append((base / entry.name, inc.id))
        return found

    @staticmethod
    def _metafile_signature(folder: Path) -> tuple[Any, ...]:
        """What a run's row is read from: metadata.yaml first (None: not a run yet), its final metrics, and the
        notes, tags and status set after it ended (edits.jsonl)."""
        return (file_signature(folder / METADATA_FILE), file_signature(folder / METRICS_FILE),
                file_signature(folder / EDITS_FILE))

    def poll(self) -> list[dict[str, Any]]:
        """[{"type": "run", "row": RunRow as JSON}, {"type": "points", "run": key, "points": {metric:
        [[step, t, value], ...]}}]: t in seconds since the run's first point, value None when not finite."""
        from ..storage.run_records import load_experiment

        events: list[dict[str, Any]] = []
        for folder, inc in self._folders():
            sig = self._metafile_signature(folder)
            key = f"{inc}/{folder.name}"
            if self.folders.get(folder) != sig:
                self.folders[folder] = sig
                if sig[0] is not None:  # metadata.yaml written: a run a page can list
                    record = load_experiment(folder, inc, self.root)
                    row = run_row(record, self.primary, set(), set())
                    events.append({"type": "run", "row": row.model_dump(mode="json")})
            points = self._appended(folder)
            if points:
                events.append({"type": "points", "run": key, "points": points})
        return events

    def _appended(self, folder: Path) -> dict[str, list[list[Any]]]:
        path = folder / METRICS_LOG_FILE
        sig = file_signature(path)
        start = self.offsets.get(folder, 0)
        if sig is None:
            return self._settled_tail(folder, start)
        if sig[0] <= start:
            if sig[0] < start:  # rewritten shorter (a repair): start again from its end
                self.offsets[folder] = sig[0]
            return {}
        try:
            with os.fdopen(os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)), "rb") as handle:  # no link
                if folder not in self.starts:
                    first = handle.readline()
                    self.starts[folder] = _ts(first)
                handle.seek(start)
                data = handle.read(min(sig[0] - start, MAX_READ))
        except OSError:
            return {}
        return self._points(folder, data, start)

    def _settled_tail(self, folder: Path, start: int) -> dict[str, list[list[Any]]]:
        """A run that ended between two polls: schema 3 moved its live log, byte for byte, into the object
        store (gzipped), so the points logged after the last poll are read from there, once."""
        from ..storage.run_summary import open_settled_log, read_summary

        if folder in self.settled:
            return {}
        summary = read_summary(folder)
        handle = open_settled_log(folder, [], exact=True, summary=summary)
        if handle is None:
            # a short run keeps every point in its summary and no object: its lines (another byte order)
            # are sent whole, and the page skips the steps it has drawn already
            handle = open_settled_log(folder, [], summary=summary)
            start = 0
        if handle is None:  # not settled yet (a moment between the two steps), or not in this clone
            return {}
        self.settled.add(folder)
        with handle:
            skip, head = start, b""
            while skip > 0:  # the bytes already pushed; the first of them give the run's first time
                chunk = handle.read(min(skip, 1 << 20))
                if not chunk:
                    return {}
                head = head or chunk
                skip -= len(chunk)
            data = handle.read(MAX_READ)
        if folder not in self.starts:
            self.starts[folder] = _ts((head or data).split(b"\n", 1)[0])
        return self._points(folder, data, start)

    def _points(self, folder: Path, data: bytes, start: int) -> dict[str, list[list[Any]]]:
        """The whole lines of `data` (read from offset `start` of the log) as points per metric."""
        from ..storage.metrics_log import iter_handle_rows

        end = data.rfind(b"\n")
        if end < 0:
            return {}
        self.offsets[folder] = start + end + 1
        base = self.starts.get(folder) or 0.0
        out: dict[str, list[list[Any]]] = {}
        # the one reader of point lines (storage.metrics_log): a damaged line is skipped here, as every
        # reader skips it (show-experiment reports it)
        for _line, rows in iter_handle_rows(io.BytesIO(data[:end + 1]), folder / METRICS_LOG_FILE, []):
            for key, step, ts, value in rows:
                number = float(value)
                point = [int(step), round(float(ts) - base, 3), number if number - number == 0 else None]
                out.setdefault(key.decode("utf-8", "replace"), []).append(point)
        return out


def store_signature(store: Path, increments: list[Increment]) -> tuple[Any, ...]:
    """What a runs table depends on, cheaply: each run folder's name and the stat of its metadata and
    metrics summary, each increment's decisions, and ml.yaml. Equal signatures, equal tables."""
    from ..layout import DECISIONS_FILE

    parts: list[Any] = [file_signature(store / "ml.yaml")]
    watch = StoreWatch.__new__(StoreWatch)
    watch.incs = list(increments)
    for inc in watch.incs:
        parts.append((inc.id, file_signature(inc.path / EXPERIMENTS_DIR / DECISIONS_FILE)))
    for folder, _inc in watch._folders():
        parts.append((folder.name, StoreWatch._metafile_signature(folder)))
    return tuple(parts)


def _ts(line: bytes) -> float | None:
    """The time of a log's first point (the run's start, for the page's relative times)."""
    from ..storage.metrics_log import iter_handle_rows

    for _line, rows in iter_handle_rows(io.BytesIO(line.rstrip(b"\n") + b"\n"), Path(METRICS_LOG_FILE), []):
        for _key, _step, ts, _value in rows:
            return float(ts)
    return None


__all__ = ["StoreWatch", "store_signature"]
