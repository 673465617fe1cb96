"""What an import reads from another tracker, and what it reports.

A reader turns each run of its source into a `SourceRun` (everything but the
metric points and the artifact bytes, which it streams on request), so the
writer never holds a whole history in memory. The run's `Origin` is recorded in
the experiment's metadata.yaml; it is what makes a second import idempotent.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from .records import UtcDatetime

SourceKind = Literal["mlflow", "wandb", "tensorboard", "csv"]
KINDS: tuple[str, ...] = ("mlflow", "wandb", "tensorboard", "csv")
# A point as a reader streams it: (metric key, step, value, time in seconds since the epoch).
Point = tuple[str, int, float, float]


class Origin(BaseModel):
    """Where an imported run came from: metadata.yaml's `origin`. `kind`, `location` and `run_id` together
    name the source run; `fingerprint` changes when the source run does (a re-import skips a run whose
    fingerprint it already holds without reading its history); `complete` is written last."""

    kind: SourceKind
    location: str = Field(description="the source: a tracking URI, a store or log folder, a file")
    run_id: str = Field(description="the run's id in the source (MLflow run id, W&B run id, TensorBoard run folder)")
    fingerprint: str = ""
    complete: bool = False
    imported: UtcDatetime | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.location, self.run_id)


class SourceRun(BaseModel):
    """One run of the source, as the writer needs it (points and artifacts are streamed by the reader)."""

    run_id: str
    name: str
    group: str = Field(description="what becomes the increment: MLflow experiment, W&B project, log dir")
    params: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    source_tags: dict[str, str] = Field(default_factory=dict, description="the source's own tags, as it gave them")
    description: str = ""
    notes: list[str] = Field(default_factory=list)
    status: Literal["running", "completed", "failed", "killed"] = "completed"
    started: datetime | None = None
    ended: datetime | None = None
    parent_run_id: str | None = None
    author: str | None = None
    git_commit: str | None = None
    git_branch: str | None = None
    command: list[str] = Field(default_factory=list, description="the entry point the source recorded")
    fingerprint: str = ""
    extra: dict[str, Any] = Field(default_factory=dict, description="other source fields kept in metadata.yaml")


class ImportedRun(BaseModel):
    """One line of the report."""

    run_id: str
    name: str
    increment: str | None = None
    experiment: str | None = Field(None, description="the experiment id it is (or would be) written as")
    action: Literal["imported", "updated", "skipped", "damaged", "would import", "would update"]
    points: int = 0
    problem: str | None = None


class ImportReport(BaseModel):
    """What an import did (or, with dry_run, would do)."""

    kind: SourceKind
    source: str
    dry_run: bool = False
    increments: list[str] = Field(default_factory=list)
    imported: int = 0
    updated: int = 0
    skipped: int = 0
    damaged: int = 0
    points: int = 0
    bytes: int = Field(0, description="bytes written: point logs and artifacts")
    seconds: float = 0.0
    runs: list[ImportedRun] = Field(default_factory=list)

    def count(self, entry: ImportedRun) -> None:
        self.runs.append(entry)
        action = {"would import": "imported", "would update": "updated"}.get(entry.action, entry.action)
        setattr(self, action, getattr(self, action) + 1)
        self.points += entry.points

    def summary(self) -> str:
        """Lines for the CLI: a head line, then one line per damaged run."""
        verb = "would import" if self.dry_run else "imported"
        head = (f"{verb} {self.imported} run{'s' if self.imported != 1 else ''} from {self.kind} {self.source}"
                f"{' into ' + ', '.join(self.increments) if self.increments else ''}: {self.updated} updated, "
                f"{self.skipped} skipped (already there), {self.damaged} damaged; {self.points:,} points, "
                f"{self.bytes:,} bytes in {self.seconds:.1f}s")
        lines = [head]
        lines += [f"damaged: {r.run_id} ({r.name}): {r.problem}" for r in self.runs if r.action == "damaged"]
        return "\n".join(lines)


class Reader:
    """What every source module provides. `runs()` yields each run (a run it cannot read at all is
    yielded as a `DamagedRun`); `points(run)` streams its points; `artifacts(run, scratch)` yields
    (name, local path) per file, downloading into `scratch` where the source is remote."""

    kind: str
    location: str

    def runs(self) -> Iterator[SourceRun | DamagedRun]:  # pragma: no cover - interface
        raise NotImplementedError

    def points(self, run: SourceRun) -> Iterator[Point]:  # pragma: no cover - interface
        raise NotImplementedError

    def artifacts(self, run: SourceRun, scratch: Path) -> Iterator[tuple[str, Path]]:
        return iter(())  # a source without files (TensorBoard scalars, a CSV)


class DamagedRun(BaseModel):
    """A source run that could not be read: one line of the report."""

    run_id: str
    name: str = ""
    problem: str


__all__ = ["DamagedRun", "ImportReport", "ImportedRun", "KINDS", "Origin", "Point", "Reader", "SourceKind",
           "SourceRun"]
