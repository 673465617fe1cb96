"""`import_runs`: bring another tracker's runs into the store, and say what came in.

    from skill.exchange.importer import import_runs
    report = import_runs(root, "mlflow", "sqlite:///mlflow.db", experiment="churn")

Each source kind has its reader module (MLflow through its client or the files of
a `mlruns/` store, W&B run folders, TensorBoard event files, a CSV); the writer
(`writer.py`) is shared. A source run that cannot be read is one `damaged` line
of the report and the rest is imported. A store that cannot take the writes (a
full disk) stops the import with that error: it is not the source run's fault,
and an import run again later goes on from there.
"""

from __future__ import annotations

import errno
import hashlib
import os
import time
from pathlib import Path
from typing import Any

from ..errors import InvalidInput
from ..layout import CACHE_DIR, SPECWEAVE_DIR
from ..storage.locks import file_lock
from ..schemas.sources import KINDS, DamagedRun, ImportedRun, ImportReport, Reader, SourceRun
from .writer import ImportWriter


def open_reader(kind: str, source: str, *, experiment: str | None = None, step_column: str | None = None,
                time_column: str | None = None, params: dict[str, Any] | None = None) -> Reader:
    """The reader for `kind` over `source`; a source that is missing or not of that kind is one line."""
    if kind not in KINDS:
        raise InvalidInput("source kind", kind, f"one of {', '.join(KINDS)}")
    if not isinstance(source, str) or not source.strip():
        raise InvalidInput(f"{kind} source", source, "a path or URI")
    if kind == "mlflow":
        from .mlflow_source import open_mlflow

        return open_mlflow(source, experiment)
    if kind == "wandb":
        from .wandb_files import WandbReader

        return WandbReader(source, project=experiment)
    if kind == "tensorboard":
        from .tensorboard_events import TensorBoardReader

        return TensorBoardReader(source)
    from .csv_file import CsvReader

    return CsvReader(source, step_column=step_column, time_column=time_column, params=params or {})


def _parents_first(runs: list[SourceRun]) -> list[SourceRun]:
    """Runs with every parent before its children (MLflow nested runs), else in source order."""
    ids = {run.run_id for run in runs}
    placed: set[str] = set()
    out: list[SourceRun] = []
    waiting = list(runs)
    while waiting:
        rest = []
        for run in waiting:
            if run.parent_run_id in ids and run.parent_run_id not in placed and run.parent_run_id != run.run_id:
                rest.append(run)
            else:
                out.append(run)
                placed.add(run.run_id)
        if len(rest) == len(waiting):  # a cycle: keep them all rather than loop
            out.extend(rest)
            break
        waiting = rest
    return out


def import_runs(root: Path, kind: str, source: str, *, experiment: str | None = None, increment: str | None = None,
                dry_run: bool = False, step_column: str | None = None, time_column: str | None = None,
                params: dict[str, Any] | None = None) -> ImportReport:
    """Import every run of `source` (an MLflow tracking URI or `mlruns/` folder, a W&B folder, a TensorBoard
    log dir, a CSV file) into the project at `root`.

    `experiment` keeps one MLflow experiment (or W&B project); `increment` puts every run there, else each
    MLflow experiment, W&B project or TensorBoard log dir becomes an increment named after it (a CSV goes to
    the default increment). `dry_run` reads everything and writes nothing. Returns the report.
    """
    started = time.perf_counter()
    reader = open_reader(kind, source, experiment=experiment, step_column=step_column, time_column=time_column,
                         params=params)
    report = ImportReport(kind=kind, source=reader.location, dry_run=dry_run)  # type: ignore[arg-type]
    if dry_run:
        _import_all(root, reader, report, increment, dry_run, kind)
    else:
        # One import of a source at a time: two at once would each miss the runs the other is writing.
        source_key = hashlib.sha256(f"{reader.kind}:{reader.location}".encode()).hexdigest()[:16]
        with file_lock(root / SPECWEAVE_DIR / CACHE_DIR / "import" / f"source-{source_key}"):
            _import_all(root, reader, report, increment, dry_run, kind)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _import_all(root: Path, reader: Reader, report: ImportReport, increment: str | None, dry_run: bool,
                kind: str) -> None:
    writer = ImportWriter(root, reader, report, increment=increment, dry_run=dry_run,
                          group_increments=kind != "csv")
    runs: list[SourceRun] = []
    for item in reader.runs():
        if isinstance(item, DamagedRun):
            problem = " ".join(item.problem.split())[:300]  # one line, whatever the parser said
            report.count(ImportedRun(run_id=item.run_id, name=item.name, action="damaged", problem=problem))
        else:
            runs.append(item)
    for run in _parents_first(runs):
        try:
            entry = writer.write(run)
        except Exception as exc:  # noqa: BLE001 - any failure reading one source run is that run's line, not the import's
            if isinstance(exc, OSError) and _our_write(exc, root):  # the store is full: no later run fits either
                raise OSError(exc.errno, f"{exc.strerror or exc} (the import stopped at {kind} run {run.run_id!r}; "
                              "the runs already in are kept, and the same import run again goes on from there)",
                              exc.filename) from exc
            entry = ImportedRun(run_id=run.run_id, name=run.name, action="damaged", problem=_one_line(exc))
        report.count(entry)


_FULL = frozenset(getattr(errno, name) for name in ("ENOSPC", "EDQUOT", "EROFS") if hasattr(errno, name))


def _our_write(exc: OSError, root: Path) -> bool:
    """Whether `exc` is the store failing to take writes (full, over quota, read-only, not ours to write), not
    the source failing to be read. A source's odd name (too long for this file system) stays that run's line."""
    if exc.errno in _FULL:
        return True
    if exc.errno not in (errno.EACCES, errno.EPERM) or not exc.filename:
        return False
    store = os.path.realpath(root / SPECWEAVE_DIR)
    return os.path.realpath(os.fsdecode(exc.filename)).startswith(store + os.sep)


def _one_line(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split()).rstrip(":")[:300]


__all__ = ["import_runs", "open_reader"]
