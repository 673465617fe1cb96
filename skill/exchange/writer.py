"""Turning source runs into native experiments, idempotently and all-or-nothing.

A new run is built in a staging folder in the git-ignored cache (params, the point
log, artifacts, then metadata.yaml) through the same storage functions a tracked
run uses (`MetricsBuffer`, `write_artifact`, `update_meta`, `atomic_write`) and
renamed into the increment's `experiments/` only when whole: a reader never sees
half a run, and an import killed with SIGKILL leaves nothing but a staging
folder, which the next import removes and redoes.

Each experiment records its `origin` (source kind, location, run id). A second
import skips a run whose origin it finds with the same fingerprint, and for a
run that changed at the source (a run still going) appends only the points past
those its log already holds, counted from the log itself, so a kill between that
append and the metadata update cannot duplicate anything.
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import SpecweaveError
from ..layout import CACHE_DIR, CLAIMS_DIR, EXPERIMENTS_DIR, METRICS_FILE, METRICS_LOG_FILE, PARAMS_FILE, SPECWEAVE_DIR
from ..schemas.records import ArtifactInfo, ExperimentMeta, GitInfo, Increment, Note
from ..storage.artifacts import write_artifact
from ..storage.atomic_writes import atomic_write
from ..storage.encoding import dumps_json, encode_float, to_jsonable
from ..storage.cache_dir import ignore_cache
from ..storage.ids import allocate, slugify
from ..storage.increments import create_increment, increment_for, list_increments, resolve_increment
from ..storage.liveness import pid_alive
from ..storage.metafile import update_meta
from ..storage.metrics_writer import MetricsBuffer
from ..storage.run_metrics import count_log_keys, summarize_log
from ..storage.run_records import experiment_dirs, read_metadata
from ..storage.store_dirs import linked_part, make_store_dirs
from ..storage.validate import MAX_NAME, MAX_NOTE, MAX_TAG, is_utf8
from ..storage.encoding import flatten_params
from ..schemas.sources import ImportedRun, ImportReport, Origin, Reader, SourceRun

STAGING_DIR = "import"  # .specweave/cache/import/<pid>-<folder>: runs being built
FLUSH_EVERY = 50_000  # points held in memory at most before they are appended


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _text(value: str, limit: int, single_line: bool = False) -> str:
    """A source's text made storable: valid UTF-8, one line where asked, within the store's bound."""
    if not is_utf8(value):
        value = value.encode("utf-8", "backslashreplace").decode("utf-8")
    if single_line:
        value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1] + "…"


def flat_params(params: dict[str, Any]) -> dict[str, Any]:
    """Params as the tracker stores them: nested dicts flattened to `a.b`, values JSON-safe."""
    flat: dict[str, Any] = {}
    for key, value in params.items():
        flat.update(flatten_params({_text(str(key), 1000, single_line=True): value}))  # the tracker's own rule
    out = {}
    for key, value in flat.items():
        try:
            out[key] = to_jsonable(value)
        except TypeError:
            out[key] = repr(value)
    return out


class OriginIndex:
    """Every experiment of the project that came from this source, by source run id (one pass over the
    increments' metadata files, each read with the store's bounded reader)."""

    def __init__(self, root: Path, kind: str, location: str):
        self.by_run: dict[str, tuple[Path, ExperimentMeta | dict[str, Any], Increment]] = {}
        for inc in list_increments(root, details=False):
            for folder in experiment_dirs(inc):
                try:
                    data = read_metadata(folder / "metadata.yaml")
                except (OSError, SpecweaveError):
                    continue
                origin = data.get("origin") if isinstance(data, dict) else None
                if isinstance(origin, dict) and origin.get("kind") == kind and origin.get("location") == location \
                        and isinstance(origin.get("run_id"), str):
                    self.by_run[origin["run_id"]] = (folder, data, inc)

    def get(self, run_id: str) -> tuple[Path, Any, Increment] | None:
        return self.by_run.get(run_id)


def _write_failed(buffer: MetricsBuffer, path: Path) -> OSError:
    """The error of the log write that failed, with its errno (a full disk is the store's, not the source's)."""
    failure = buffer.failure
    if failure is None:
        return OSError(None, "could not write the log", str(path))
    return OSError(failure.errno, failure.strerror or str(failure), str(failure.filename or path))


def clean_staging(root: Path) -> None:
    """Remove runs an earlier import was building when it died (their process is gone)."""
    base = root / SPECWEAVE_DIR / CACHE_DIR / STAGING_DIR
    if linked_part(base / "x") is not None:  # a committed link: never list (or remove) what it points to
        return
    try:
        entries = list(os.scandir(base))
    except (FileNotFoundError, NotADirectoryError):
        return
    for entry in entries:
        pid = entry.name.split("-", 1)[0]
        if entry.is_dir(follow_symlinks=False) and pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(entry.path, ignore_errors=True)


class ImportWriter:
    """Writes the runs of one reader into the project, filling `report`."""

    def __init__(self, root: Path, reader: Reader, report: ImportReport, *, increment: str | None = None,
                 dry_run: bool = False, group_increments: bool = True):
        self.root, self.reader, self.report = root, reader, report
        self.increment_ref, self.dry_run, self.group_increments = increment, dry_run, group_increments
        self.index = OriginIndex(root, reader.kind, reader.location)
        self._increments: dict[str, Increment | str] = {}
        self._exp_ids: dict[str, str] = {}  # source run id -> experiment id, for parents
        if not dry_run:
            clean_staging(root)

    # -- increments ------------------------------------------------------------------------------
    def increment_for(self, run: SourceRun) -> Increment | str:
        """The run's increment: `--increment` (created when missing), else the one named after the run's
        group (an MLflow experiment, a W&B project, a log dir), created with the next number when missing.
        In a dry run, an increment that would be created is only named."""
        key = "" if self.increment_ref or not self.group_increments else run.group
        known = self._increments.get(key)
        if known is not None:
            return known
        if self.increment_ref or not self.group_increments:
            inc: Increment | str
            try:
                inc = resolve_increment(self.root, self.increment_ref)
            except SpecweaveError:
                if self.dry_run:
                    inc = f"{self.increment_ref or '0001-experiments'} (new)"
                else:
                    inc = increment_for(self.root, self.increment_ref)[0]  # the zero-config rule of logging
        else:
            slug = slugify(run.group or "imported")
            same = [i for i in list_increments(self.root, details=False) if i.slug == slug and i.group is None]
            if same:
                inc = same[-1]
            else:
                numbers = [int(i.number[:4]) for i in list_increments(self.root, details=False)]
                new_id = f"{max(numbers, default=0) + 1:04d}-{slug}"
                inc = f"{new_id} (new)" if self.dry_run else create_increment(self.root, new_id)
        self._increments[key] = inc
        name = inc if isinstance(inc, str) else inc.id
        if name not in self.report.increments:
            self.report.increments.append(name)
        return inc

    # -- one run ---------------------------------------------------------------------------------
    def write(self, run: SourceRun) -> ImportedRun:
        """Import one run (or say what an import would do); a failure inside is the caller's to report."""
        found = self.index.get(run.run_id)
        if found is not None:
            folder, data, inc = found
            origin = data.get("origin", {})
            self._exp_ids[run.run_id] = str(data.get("id"))
            if origin.get("complete") and origin.get("fingerprint") == run.fingerprint and run.fingerprint:
                return ImportedRun(run_id=run.run_id, name=run.name, increment=inc.id, experiment=data.get("id"),
                                   action="skipped")
            return self._update(run, folder, inc, str(data.get("id")))
        inc = self.increment_for(run)
        if isinstance(inc, str):  # dry run into an increment not made yet
            points = sum(1 for _ in self.reader.points(run))
            return ImportedRun(run_id=run.run_id, name=run.name, increment=inc, action="would import", points=points)
        if self.dry_run:
            points = sum(1 for _ in self.reader.points(run))
            return ImportedRun(run_id=run.run_id, name=run.name, increment=inc.id, action="would import",
                               points=points)
        return self._create(run, inc)

    def _origin(self, run: SourceRun, complete: bool) -> dict[str, Any]:
        return Origin(kind=self.reader.kind, location=self.reader.location, run_id=run.run_id,  # type: ignore[arg-type]
                      fingerprint=run.fingerprint, complete=complete, imported=_now()).model_dump(mode="json")

    def _staging(self, name: str) -> Path:
        base = make_store_dirs(self.root / SPECWEAVE_DIR / CACHE_DIR / STAGING_DIR)  # never through a link
        ignore_cache(base)
        return base / f"{os.getpid()}-{name}"

    def _create(self, run: SourceRun, inc: Increment) -> ImportedRun:
        claims = self.root / SPECWEAVE_DIR / CACHE_DIR / CLAIMS_DIR / inc.id
        # The folder is named, not made: the run is built out of sight and renamed into place only when
        # whole, so a SIGKILL at any moment leaves nothing in the store (an empty folder read as a run before)
        _number, readable, folder = allocate(inc.path / EXPERIMENTS_DIR, claims, slugify(run.name), create=False)
        staging = self._staging(folder.name)
        os.mkdir(staging)
        try:
            points, log_bytes = self._write_points(staging, run, {})  # a reader may fill in params meanwhile
            atomic_write(staging / PARAMS_FILE, dumps_json(flat_params(run.params)))
            artifacts, notes = self._write_artifacts(staging, run)
            meta = self._meta(run, inc, readable, folder.name.rsplit(".", 1)[1], log_bytes, artifacts, notes)
            update_meta(staging, lambda m: None, on_damage=lambda exc: meta)
            os.rename(staging, folder)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        self._exp_ids[run.run_id] = readable
        self.report.bytes += (log_bytes or 0) + sum(a.size for a in artifacts)
        return ImportedRun(run_id=run.run_id, name=run.name, increment=inc.id, experiment=readable,
                           action="imported", points=points)

    def _update(self, run: SourceRun, folder: Path, inc: Increment, exp_id: str) -> ImportedRun:
        """A run imported before whose source changed (a run still going): the points past those its log
        holds, new params and tags, and the source's current status and end (artifacts are not re-read)."""
        have = {key.decode("utf-8", "replace"): n for key, n in count_log_keys(folder).items()}
        if self.dry_run:
            seen: dict[str, int] = {}
            new = 0
            for key, *_rest in self.reader.points(run):
                seen[key] = seen.get(key, 0) + 1
                new += seen[key] > have.get(key, 0)
            return ImportedRun(run_id=run.run_id, name=run.name, increment=inc.id, experiment=exp_id,
                               action="would update", points=new)
        before = (folder / METRICS_LOG_FILE).stat().st_size if (folder / METRICS_LOG_FILE).exists() else 0
        points, log_bytes = self._write_points(folder, run, have)
        if points:
            summaries, _bad = summarize_log(folder)  # metrics.json: the last value of every key, old and new
            atomic_write(folder / METRICS_FILE, dumps_json({k: encode_float(s.last) for k, s in summaries.items()}))
        try:
            from ..storage.bounded_parsing import read_json

            params = read_json(folder / PARAMS_FILE)
        except (OSError, SpecweaveError):
            params = {}
        merged = {**flat_params(run.params), **(params if isinstance(params, dict) else {})}
        if merged != params:
            atomic_write(folder / PARAMS_FILE, dumps_json(merged))
        fresh = self._meta(run, inc, exp_id, "", log_bytes, [], [])

        def change(meta: ExperimentMeta) -> None:
            meta.status, meta.ended, meta.duration_s = fresh.status, fresh.ended, fresh.duration_s
            meta.log_bytes = log_bytes
            for tag in fresh.tags:
                if tag not in meta.tags:
                    meta.tags.append(tag)
            meta.origin = self._origin(run, True)  # type: ignore[attr-defined]
            for key, value in run.extra.items():  # the source's own fields as they are now (its tags)
                if key not in ExperimentMeta.model_fields:
                    setattr(meta, key, to_jsonable(value))

        update_meta(folder, change)
        self.report.bytes += max((log_bytes or 0) - before, 0)
        return ImportedRun(run_id=run.run_id, name=run.name, increment=inc.id, experiment=exp_id, action="updated",
                           points=points)

    # -- the parts -------------------------------------------------------------------------------
    def _write_points(self, folder: Path, run: SourceRun, have: dict[str, int]) -> tuple[int, int | None]:
        """Stream the run's points into the folder's log, skipping per key the first `have[key]` (already
        there). Returns (points written, the log's size)."""
        buffer = MetricsBuffer(folder, keep_written=False, warn_failures=False)  # settled by a later read
        seen: dict[str, int] = {}
        written = 0
        log_at, pending = buffer.log_at, buffer.pending
        for key, step, value, ts in self.reader.points(run):
            if have:
                count = seen[key] = seen.get(key, 0) + 1
                if count <= have.get(key, 0):
                    continue
            log_at(key, value, step, ts)
            written += 1
            if pending() >= FLUSH_EVERY and not buffer.flush():
                raise _write_failed(buffer, folder / METRICS_LOG_FILE)
        if written or not have:
            if not buffer.close():
                raise _write_failed(buffer, folder / METRICS_LOG_FILE)
        return written, buffer.size()

    def _write_artifacts(self, folder: Path, run: SourceRun) -> tuple[list[ArtifactInfo], list[str]]:
        """Each file through the usual placement rule (text up to the in-git bound in the folder, the rest in
        the object store); a file that cannot be taken is a note on the run, not a failed import."""
        infos: list[ArtifactInfo] = []
        notes: list[str] = []
        scratch = make_store_dirs(self.root / SPECWEAVE_DIR / CACHE_DIR / STAGING_DIR / f"{os.getpid()}-download")
        try:
            for name, path in self.reader.artifacts(run, scratch):
                try:
                    infos.append(write_artifact(folder, name, Path(path)))
                except (SpecweaveError, OSError) as exc:
                    notes.append(f"artifact {name} was not imported: {exc}")
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return infos, notes

    def _meta(self, run: SourceRun, inc: Increment, readable: str, uid: str, log_bytes: int | None,
              artifacts: list[ArtifactInfo], notes: list[str]) -> ExperimentMeta:
        started = run.started or run.ended or _now()
        tags = []
        for tag in run.tags:
            tag = _text(tag, MAX_TAG, single_line=True).strip()
            if tag and tag not in tags:
                tags.append(tag)
        parent = self._exp_ids.get(run.parent_run_id) if run.parent_run_id else None
        stamped = [Note(ts=started, text=_text(n, MAX_NOTE)) for n in run.notes if n.strip()]
        stamped += [Note(ts=_now(), text=n) for n in notes]
        if run.status == "running":  # no process here keeps it alive: readers will show it as crashed
            stamped.append(Note(ts=_now(), text=f"imported while still running in {self.reader.kind}; import "
                                                f"again to bring the rest"))
        meta = ExperimentMeta(
            id=readable, uid=uid or "import", name=_text(run.name, MAX_NAME, single_line=True) or run.run_id,
            increment=inc.id, status=run.status, description=_text(run.description, MAX_NOTE), tags=tags,
            author=_text(run.author, MAX_NAME, single_line=True) if run.author else None, started=started,
            ended=run.ended, duration_s=round((run.ended - started).total_seconds(), 3) if run.ended else None,
            parent=parent, git=GitInfo(commit=run.git_commit, branch=run.git_branch), notes=stamped,
            artifacts=artifacts, command=list(run.command), log_bytes=log_bytes,
        )
        meta.origin = self._origin(run, True)  # type: ignore[attr-defined]
        for key, value in run.extra.items():
            if key not in ExperimentMeta.model_fields:
                setattr(meta, key, to_jsonable(value))
        return meta


__all__ = ["FLUSH_EVERY", "ImportWriter", "OriginIndex", "clean_staging", "flat_params"]
