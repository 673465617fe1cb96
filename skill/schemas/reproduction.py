"""The answers of diff and reproduce, in a module that imports nothing but pydantic (the MCP server builds
its output schema from `ExperimentDiff` at start-up)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from .records import JsonFloat


class Changes(BaseModel):
    """What was added, removed and changed between A and B (`changed`: name -> [a, b])."""

    added: dict[str, Any] = Field(default_factory=dict)
    removed: dict[str, Any] = Field(default_factory=dict)
    changed: dict[str, list[Any]] = Field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


class MetricDelta(BaseModel):
    a: JsonFloat | str | None = None
    b: JsonFloat | str | None = None
    delta: JsonFloat | None = Field(None, description="b - a")
    rel: JsonFloat | None = Field(None, description="(b - a) / |a|")


class FileChange(BaseModel):
    path: str
    status: str = Field(description="A added, D deleted, M modified")
    added: int | None = Field(None, description="lines; None for a binary file")
    removed: int | None = None


class CodeDiff(BaseModel):
    a: str | None = Field(None, description="commit, `+patch` when run with uncommitted changes")
    b: str | None = None
    same: bool | None = Field(None, description="None when a side's source cannot be rebuilt")
    files: list[FileChange] = Field(default_factory=list)
    diff: str = Field("", description="unified diff of the files that differ, bounded")
    truncated: bool = False
    problems: list[str] = Field(default_factory=list)


class ExperimentDiff(BaseModel):
    """What changed from run A to run B."""

    a: str
    b: str
    params: Changes = Field(default_factory=Changes)
    metrics: dict[str, MetricDelta] = Field(default_factory=dict, description="only those that differ")
    code: CodeDiff = Field(default_factory=CodeDiff)
    data: Changes = Field(default_factory=Changes, description="dataset fingerprints and data_version")
    environment: Changes = Field(default_factory=Changes, description="python, platform, command, cwd, seeds")
    packages: Changes = Field(default_factory=Changes)


class MetricVerdict(BaseModel):
    name: str
    original: JsonFloat | str | None = None
    rerun: JsonFloat | str | None = None
    delta: JsonFloat | None = None
    ok: bool | None = Field(None, description="None: not compared (timing and system metrics)")


class ReproducePlan(BaseModel):
    """What `reproduce` checks out, installs and runs (all of it checked before anything heavy)."""

    experiment: str
    increment: str
    commit: str
    patch: str | None = Field(None, description="the run's patch file, applied in the worktree")
    patch_files: list[str] = Field(default_factory=list)
    environment: Literal["current", "cached", "create"]
    python: str = Field(description="the interpreter the rerun uses (or will create)")
    installer: str | None = Field(None, description="uv or pip, when an environment is created")
    packages: int = 0
    package_differences: list[str] = Field(default_factory=list)
    command: list[str]
    cwd: str
    rtol: float
    rtol_reason: str
    seeds: dict[str, int] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)


class ReproduceResult(BaseModel):
    plan: ReproducePlan
    rerun: str | None = None
    verdict: Literal["reproduced", "differs", "failed"]
    returncode: int | None = None
    metrics: list[MetricVerdict] = Field(default_factory=list)
    data: list[str] = Field(default_factory=list, description="datasets that differ between the runs")
    reasons: list[str] = Field(default_factory=list)
    output_tail: str = ""


__all__ = ["Changes", "CodeDiff", "ExperimentDiff", "FileChange", "MetricDelta", "MetricVerdict", "ReproducePlan",
           "ReproduceResult"]
