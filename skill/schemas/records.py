"""One pydantic model per concept: the same model is the file, the tool schema, the template context."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

from ..layout import SCHEMA_VERSION, Status, StoredStatus


def _json_float(value: float) -> float | str:
    if value - value == 0.0:  # finite
        return value
    if value != value:
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


# A float that survives JSON: NaN and infinities are written as the strings the store uses
# ("NaN", "Infinity", "-Infinity"), and the schema says so, so a tool's structured output
# stays valid against its own output schema (plain JSON would turn them into null).
JsonFloat = Annotated[
    float,
    PlainSerializer(_json_float, return_type=Any, when_used="json"),
    WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "string", "enum": ["NaN", "Infinity", "-Infinity"]}]}),
]


def _utc(value: datetime) -> datetime:
    # A timestamp without a zone (a hand edit, another tool's YAML) is read as UTC, the zone the tracker
    # writes in (and the rule liveness already applies): the reading machine's zone says nothing about
    # where it was written. An offset is converted, so every timestamp leaves as one instant in UTC.
    try:
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    except (OverflowError, ValueError):  # an offset that moves year 1 or 9999 out of range
        raise ValueError("a date and time that exists in UTC") from None


def _rfc3339(value: datetime) -> str:
    return _utc(value).isoformat().replace("+00:00", "Z")


# A timestamp as RFC 3339 in UTC (`2026-01-02T03:04:05Z`), the `date-time` format strict JSON Schema
# validators (and the MCP TypeScript SDK's client) check; naive values are taken as UTC.
UtcDatetime = Annotated[datetime, AfterValidator(_utc), PlainSerializer(_rfc3339, return_type=str, when_used="json")]
# A path in answers and schemas: a plain string, with `/` separators (pydantic's own `"format": "path"`
# is no JSON Schema format, and strict validators refuse it).
PathStr = Annotated[Path, PlainSerializer(lambda p: Path(p).as_posix(), return_type=str, when_used="json"),
                    WithJsonSchema({"type": "string"})]


class ExperimentMetadata(BaseModel):
    """What a person says about an experiment before it runs (the seed's `ExperimentMetadata`).

    Pass it to `track_experiment` in place of a name.
    """

    name: str
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    git_commit: str | None = None
    data_version: str | None = None
    author: str | None = None


class GitInfo(BaseModel):
    """The code the experiment ran: commit, branch, and whether the tree had changes."""

    commit: str | None = None
    branch: str | None = None
    dirty: bool | None = None
    diff_sha256: str | None = Field(
        None, description="sha256 of the uncommitted changes when dirty: `git diff HEAD --binary`, then the "
        "untracked files' names")


class GpuInfo(BaseModel):
    name: str
    memory_total_mb: int | None = None
    driver: str | None = None


class ArtifactInfo(BaseModel):
    """A saved file (in the experiment folder or the object store), recorded so a reader never needs to open it."""

    name: str
    kind: Literal["model", "artifact"] = "artifact"
    size: int
    sha256: str
    format: str | None = Field(None, description="how it was written: pickle, json, csv, png, copy, ...")
    model_class: str | None = None
    library: str | None = None
    library_version: str | None = None
    stored: Literal["git", "objects"] = Field(
        "git", description="where the bytes live: git (the experiment folder) or objects (the git-ignored object "
        "store, .specweave/objects/sha256/ab/..., shared by `sw-ml artifacts push/pull`)")


class Note(BaseModel):
    ts: UtcDatetime
    text: str


class DatasetInfo(BaseModel):
    """A dataset a run used, fingerprinted by `exp.log_dataset(name, source)`."""

    name: str
    kind: Literal["file", "folder", "dataframe", "dvc"]
    path: str | None = Field(None, description="as given; relative to the repository root when inside it")
    size: int | None = Field(None, description="bytes (a folder: of all its files)")
    files: int | None = Field(None, description="files in a folder")
    sha256: str | None = Field(None, description="content hash; a folder: of its files' names and hashes; a "
                               "DataFrame: of its columns, dtypes, index and values")
    rows: int | None = None
    columns: dict[str, str] | None = Field(None, description="a DataFrame's columns and dtypes")
    dvc_md5: str | None = Field(None, description="the hash DVC records for the path (.dvc file or dvc.lock)")

    @property
    def fingerprint(self) -> str | None:
        """What tells two versions of the data apart: DVC's hash where DVC tracks it, else the content's."""
        return self.dvc_md5 or self.sha256


class LeftOut(BaseModel):
    path: str
    size: int | None = None
    reason: str


class CaptureInfo(BaseModel):
    """What rebuilding a run needs beyond its commit; captured in the background as the run starts."""

    patch: str | None = Field(None, description="file in the run's folder with the uncommitted changes (git apply)")
    patch_files: list[str] = Field(default_factory=list, description="files the patch changes or adds")
    untracked: list[str] = Field(default_factory=list, description="untracked source files included in the patch")
    left_out: list[LeftOut] = Field(default_factory=list, description="untracked files not included, and why")
    max_file_bytes: int | None = Field(None, description="the bound on one untracked file included")
    max_total_bytes: int | None = Field(None, description="the bound on all untracked files included")
    cwd: str | None = Field(None, description="working directory relative to the repository root")
    argv: list[str] = Field(default_factory=list, description="the command after the interpreter")
    seeds: dict[str, int] = Field(default_factory=dict, description="seeds read from random, numpy, torch")
    on_remote: bool | None = Field(None, description="whether a remote branch held the commit; None: no remote")
    problems: list[str] = Field(default_factory=list)


class Reproduction(BaseModel):
    """The verdict of `sw-ml reproduce`: kept on the original (`reproduced_by`) and on the rerun."""

    original: str
    rerun: str | None = None
    verdict: Literal["reproduced", "differs", "failed"]
    rtol: float
    ts: UtcDatetime
    differs: list[str] = Field(default_factory=list, description="metrics (and data:<name>) that did not match")


class ExperimentMeta(BaseModel):
    """`metadata.yaml`: everything about an experiment except its params and metrics."""

    model_config = ConfigDict(extra="allow")

    schema_version: int = SCHEMA_VERSION
    id: str = Field(description="readable id, exp-NNN-slug")
    uid: str = Field(description="short unique part that keeps clones' folders apart")
    name: str
    increment: str
    status: StoredStatus = "running"
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    author: str | None = None
    data_version: str | None = None
    source: str = "specweave"
    started: UtcDatetime
    ended: UtcDatetime | None = None
    duration_s: float | None = None
    heartbeat: UtcDatetime | None = None
    pid: int | None = None
    host: str | None = None
    parent: str | None = None
    stage: str | None = None
    stage_order: int | None = None
    after: str | None = Field(None, description="id of the pipeline stage this one follows")
    git: GitInfo = Field(default_factory=GitInfo)
    notes: list[Note] = Field(default_factory=list)
    artifacts: list[ArtifactInfo] = Field(default_factory=list)
    datasets: list[DatasetInfo] = Field(default_factory=list)
    capture: CaptureInfo | None = None
    reproduces: str | None = Field(None, description="the run this one reran (sw-ml reproduce)")
    reproduction: Reproduction | None = Field(None, description="on a rerun: its verdict")
    reproduced_by: list[Reproduction] = Field(default_factory=list)
    python: str | None = None
    platform: str | None = None
    cpu_count: int | None = None
    gpus: list[GpuInfo] = Field(default_factory=list)
    command: list[str] = Field(default_factory=list)
    packages: dict[str, str] = Field(default_factory=dict)
    log_bytes: int | None = Field(None, description="size of metrics.jsonl as its writer closed it (a log still "
                                  "that size needs no damage check)")
    environment: str | None = Field(
        None, pattern=r"^[0-9a-f]{16}$",
        description="schema 2: hash naming .specweave/environments/<hash>.yaml, which holds python, platform, "
                    "cpu_count, gpus and packages (read back into these fields)")


class Environment(BaseModel):
    """What the process ran on, captured once per process (the static part of metadata)."""

    python: str
    platform: str
    cpu_count: int | None = None
    gpus: list[GpuInfo] = Field(default_factory=list)
    command: list[str] = Field(default_factory=list)
    packages: dict[str, str] = Field(default_factory=dict)
    host: str
    pid: int


class MetricPoint(BaseModel):
    """One line of `metrics.jsonl`."""

    key: str
    value: JsonFloat
    step: int
    ts: float


class MetricSummary(BaseModel):
    key: str
    last: JsonFloat
    min: JsonFloat
    max: JsonFloat
    steps: int
    last_step: int | None = None


class Increment(BaseModel):
    """A SpecWeave increment folder that may hold experiments."""

    id: str
    number: str
    slug: str
    title: str
    group: str | None = Field(None, description="_archive, _abandoned or _paused; None when active")
    path: PathStr
    experiment_count: int | None = Field(None, description="experiments in it; None where not counted")


class ExperimentRecord(BaseModel):
    """An experiment as read back: metadata plus params, metrics and any damage found."""

    id: str
    dir: str = Field(description="folder name, unique across clones")
    increment: str
    name: str
    status: Status
    path: PathStr
    params: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, Any] = Field(default_factory=dict)
    meta: ExperimentMeta | None = None
    problems: list[str] = Field(default_factory=list, description="damaged files, with file and line")

    @property
    def damaged(self) -> bool:
        return bool(self.problems)

    @property
    def tags(self) -> list[str]:
        return self.meta.tags if self.meta else []

    # The fields every face's list row carries (ExperimentSummary, `sw-ml list-experiments --json`,
    # list_experiments over MCP), read here from the metadata so Python's rows answer them too.
    @property
    def ref(self) -> str:
        """Full reference, increment number/id: `0042/exp-002-xgboost`."""
        return full_ref(self.increment, self.id)

    @property
    def started(self) -> datetime | None:
        return self.meta.started if self.meta else None

    @property
    def duration_s(self) -> float | None:
        return self.meta.duration_s if self.meta else None


__all__ = [
    "ArtifactInfo",
    "CaptureInfo",
    "DatasetInfo",
    "LeftOut",
    "Reproduction",
    "Environment",
    "ExperimentMeta",
    "ExperimentMetadata",
    "ExperimentRecord",
    "GitInfo",
    "GpuInfo",
    "Increment",
    "MetricPoint",
    "MetricSummary",
    "Note",
    "Status",
]


class ExperimentSummary(BaseModel):
    """One row of an experiment list: who, what, how it ended, its params and latest metrics."""

    id: str = Field(description="readable id, exp-NNN-slug; pass it to show_experiment")
    increment: str
    ref: str | None = Field(None, description="full reference, increment number/id: 0042/exp-002-xgboost")
    name: str
    status: Status
    tags: list[str] = Field(default_factory=list)
    started: UtcDatetime | None = None
    duration_s: float | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, Any] = Field(default_factory=dict, description="latest value of each metric")
    parent: str | None = Field(None, description="the pipeline or sweep this run is a stage or trial of")
    stage: str | None = None
    problems: list[str] = Field(default_factory=list, description="damaged files; empty when all is well")

    @classmethod
    def from_record(cls, record: ExperimentRecord) -> ExperimentSummary:
        meta = record.meta
        return cls(
            id=record.id, increment=record.increment, ref=full_ref(record.increment, record.id), name=record.name,
            status=record.status, tags=list(meta.tags) if meta else [], started=meta.started if meta else None,
            duration_s=meta.duration_s if meta else None, params=record.params,
            parent=meta.parent if meta else None, stage=meta.stage if meta else None,
            metrics={k: _json_float(v) if isinstance(v, float) else v for k, v in record.metrics.items()},
            problems=record.problems,
        )


def full_ref(increment: str, experiment: str) -> str:
    """`0042/exp-002-xgboost`: increment number and experiment id, the reference every face accepts."""
    number = increment.split("-", 1)[0]
    return f"{number if number.isdigit() else increment}/{experiment}"


class ExperimentPage(BaseModel):
    """A page of experiments; pass `next_cursor` back as `cursor` for the next one."""

    increment: str | None = Field(description="the increment listed; None when the project has none yet")
    total: int = Field(description="experiments matching the filters, over all pages")
    experiments: list[ExperimentSummary]
    next_cursor: str | None = Field(None, description="opaque; None on the last page")


class ExperimentDetail(ExperimentRecord):
    """An experiment in full: the record plus min/max/last/steps of every logged metric."""

    metric_summaries: dict[str, MetricSummary] = Field(
        default_factory=dict, description="per metric, from metrics.jsonl: min, max, last value, points logged"
    )


__all__ += ["ExperimentDetail", "ExperimentPage", "ExperimentSummary", "JsonFloat", "PathStr", "UtcDatetime", "full_ref"]
