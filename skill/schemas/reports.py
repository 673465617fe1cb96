"""The result models of the analysis tools, in a module that imports nothing but pydantic and `records`.

The MCP server builds each tool's output schema from these at start-up; keeping them apart from the
comparison, export, living-docs and history logic (jinja2, pandas, the store) keeps start-up as fast
as the SDK allows. Each is re-exported by the module that produces it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from ..layout import SCHEMA_VERSION, Status
from .records import (
    ArtifactInfo,
    ExperimentDetail,
    ExperimentMeta,
    GitInfo,
    GpuInfo,
    JsonFloat,
    MetricSummary,
    Note,
    PathStr,
    UtcDatetime,
)

Goal = Literal["max", "min"]
# Points of a metric's curve when the asker names no number: the one default of history and curves on
# every face (each bucket's min and max kept); get_metric_history's most.
DEFAULT_MAX_POINTS = 500
MAX_MAX_POINTS = 10_000


class Decision(BaseModel):
    """One line of decisions.jsonl."""

    schema_version: int = SCHEMA_VERSION
    ts: UtcDatetime
    increment: str
    selected: str = Field(description="readable id of the chosen experiment, exp-NNN-slug")
    selected_dir: str | None = Field(None, description="its folder name, unique across clones")
    rationale: str
    alternatives: list[str] = Field(default_factory=list)
    primary_metric: str | None = Field(None, description="the metric the choice was ranked on")
    metrics: dict[str, Any] = Field(default_factory=dict, description="the primary metric's value (or those given)")
    author: str | None = None
    selected_now: str | None = Field(None, description=(
        "set when a decision is logged: the run the increment's decisions select afterwards (another run when a "
        "decision dated later than now holds); never written to decisions.jsonl"))


class ComparisonRow(BaseModel):
    """One experiment in a comparison."""

    id: str
    dir: str
    name: str
    status: str
    parent: str | None = None
    stage: str | None = None
    depth: int = Field(0, description="1 for a stage or sweep child shown under its parent")
    metrics: dict[str, Any] = Field(default_factory=dict)
    params: dict[str, Any] = Field(default_factory=dict, description="only the params that differ")
    training_time_s: float | None = None
    marks: list[str] = Field(default_factory=list, description="why it cannot be the best: failed, damaged...")
    problems: list[str] = Field(default_factory=list)
    candidate: bool = False
    cv_std: float | None = None
    best: bool = False
    selected: bool = False
    reproduces: str | None = None  # the original this run reran (sw-ml reproduce): shown under it, not ranked


class PrimaryMetric(BaseModel):
    """What an increment's runs are ranked by, and which way (skill.analysis.primary holds the rule)."""

    increment: str
    metric: str | None = Field(None, description="None: no run logged a metric that can rank them")
    metric_source: Literal["given", "config", "shared", "most"] | None = None
    goal: Goal | None = None
    goal_source: Literal["given", "config", "inferred", "assumed"] | None = None


class Comparison(BaseModel):
    """The result of compare_experiments; `.dataframe` gives the table as pandas."""

    increment: str
    title: str
    primary_metric: str | None = None
    goal: Goal | None = None
    goal_source: str | None = Field(None, description="given, config, or inferred from the name")
    metrics: list[str] = Field(default_factory=list, description="metric columns, in order")
    rows: list[ComparisonRow] = Field(default_factory=list)
    best: str | None = Field(None, description="the best model: the decision's choice if any, else computed")
    computed_best: str | None = Field(None, description="the best by the primary metric, whatever was decided")
    runner_up: str | None = None
    reasons: list[str] = Field(default_factory=list, description="why `best` is best: always about `best`")
    computed_reasons: list[str] = Field(default_factory=list, description="why `computed_best` ranks first")
    override: str | None = Field(None, description="when a decision selects another run than the metric ranks "
                                 "first: one sentence naming both, and by how much")
    warnings: list[str] = Field(default_factory=list)
    decision: Decision | None = None
    differing_params: list[str] = Field(default_factory=list)
    markdown: str = ""
    report_path: PathStr | None = None

    @property
    def dataframe(self) -> Any:
        """One row per experiment: id, name, status, each metric, training time, differing params."""
        import pandas as pd

        records = []
        for row in self.rows:
            item: dict[str, Any] = {"id": row.id, "name": row.name, "status": row.status, "parent": row.parent,
                                    "stage": row.stage}
            for metric in self.metrics:
                item[metric] = row.metrics.get(metric)
            item["training_time_s"] = row.training_time_s
            for param in self.differing_params:
                item[f"params.{param}"] = row.params.get(param)
            item.update(best=row.best, selected=row.selected, damaged=bool(row.problems),
                        marks=", ".join(row.marks))
            records.append(item)
        columns = ["id", "name", "status", "parent", "stage", *self.metrics, "training_time_s",
                   *(f"params.{p}" for p in self.differing_params), "best", "selected", "damaged", "marks"]
        return pd.DataFrame.from_records(records, columns=columns)

    def to_dataframe(self) -> Any:
        return self.dataframe


# compare_experiments' answer to an agent: the ranked top runs, a page at a time.
DEFAULT_TOP = 10


class ComparisonPage(BaseModel):
    """A comparison as an agent reads it: the verdict (best, reasons, warnings, decision) and the runs
    ranked best first, `limit` at a time; `next_cursor` gives the next ranks. The full table is
    `comparison.md` (`report_path`); `fields` narrows each row to the metric and param columns named."""

    increment: str | None = Field(description="None when the project has no increment yet")
    title: str = ""
    primary_metric: str | None = None
    goal: Goal | None = None
    goal_source: str | None = None
    metrics: list[str] = Field(default_factory=list)
    best: str | None = None
    best_ref: str | None = None
    computed_best: str | None = None
    runner_up: str | None = None
    reasons: list[str] = Field(default_factory=list)  # about `best`, as in Comparison
    override: str | None = None  # a decision against the metric: both runs and the margin
    warnings: list[str] = Field(default_factory=list)
    decision: Decision | None = None
    differing_params: list[str] = Field(default_factory=list)
    total: int = 0
    rows: list[ComparisonRow] = Field(default_factory=list)
    next_cursor: str | None = None
    report_path: PathStr | None = None


# show_experiment without `packages`: the environment's packages that say what a model was built with.
NOTABLE_PACKAGES = ("numpy", "pandas", "scipy", "scikit-learn", "torch", "tensorflow", "keras", "jax", "xgboost",
                    "lightgbm", "catboost", "transformers", "statsmodels", "optuna", "specweave-ml")


class EnvironmentSummary(BaseModel):
    """What the run ran on; `packages` lists every installed package only when asked for."""

    id: str | None = Field(None, description="hash naming .specweave/environments/<id>.yaml")
    python: str | None = None
    platform: str | None = None
    cpu_count: int | None = None
    gpus: list[GpuInfo] = Field(default_factory=list)
    command: list[str] = Field(default_factory=list)
    packages: dict[str, str] = Field(default_factory=dict)
    packages_total: int = Field(0, description="installed packages recorded; `packages` may show fewer")


class ExperimentShown(BaseModel):
    """show_experiment's answer: one experiment in full, metadata flattened (no field twice)."""

    ref: str = Field(description="full reference: 0042/exp-002-xgboost")
    id: str
    dir: str
    increment: str
    name: str
    status: Status
    path: PathStr
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    author: str | None = None
    data_version: str | None = None
    source: str | None = None
    started: UtcDatetime | None = None
    ended: UtcDatetime | None = None
    duration_s: float | None = None
    heartbeat: UtcDatetime | None = None
    host: str | None = None
    pid: int | None = None
    parent: str | None = None
    stage: str | None = None
    after: str | None = None
    git: GitInfo = Field(default_factory=GitInfo)
    params: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, Any] = Field(default_factory=dict)
    metric_summaries: dict[str, MetricSummary] = Field(default_factory=dict)
    notes: list[Note] = Field(default_factory=list)
    artifacts: list[ArtifactInfo] = Field(default_factory=list)
    environment: EnvironmentSummary = Field(default_factory=EnvironmentSummary)
    extra: dict[str, Any] = Field(default_factory=dict, description="other keys of metadata.yaml")
    problems: list[str] = Field(default_factory=list)

    @classmethod
    def from_detail(cls, detail: ExperimentDetail, *, packages: bool = False) -> ExperimentShown:
        """`detail` as show_experiment answers it: every package with `packages`, else the notable ones."""
        from .records import full_ref

        meta = detail.meta
        installed = dict(meta.packages) if meta else {}
        if not packages:
            libraries = {a.library.lower() for a in meta.artifacts if a.library} if meta else set()
            installed = {k: v for k, v in installed.items() if k.lower() in NOTABLE_PACKAGES or k.lower() in libraries}
        environment = EnvironmentSummary(
            id=meta.environment, python=meta.python, platform=meta.platform, cpu_count=meta.cpu_count,
            gpus=list(meta.gpus), command=list(meta.command), packages=installed,
            packages_total=len(meta.packages)) if meta else EnvironmentSummary()
        taken = set(ExperimentMeta.model_fields)
        return cls(
            ref=full_ref(detail.increment, detail.id), id=detail.id, dir=detail.dir, increment=detail.increment,
            name=detail.name, status=detail.status, path=detail.path, params=detail.params, metrics=detail.metrics,
            metric_summaries=detail.metric_summaries, problems=list(detail.problems), environment=environment,
            **({} if meta is None else {
                "description": meta.description, "tags": list(meta.tags), "author": meta.author,
                "data_version": meta.data_version, "source": meta.source, "started": meta.started,
                "ended": meta.ended, "duration_s": meta.duration_s, "heartbeat": meta.heartbeat, "host": meta.host,
                "pid": meta.pid, "parent": meta.parent, "stage": meta.stage, "after": meta.after, "git": meta.git,
                "notes": list(meta.notes), "artifacts": list(meta.artifacts),
                "extra": {k: v for k, v in (meta.model_extra or {}).items() if k not in taken}}))


class ExportResult(BaseModel):
    format: Literal["csv", "json", "markdown"]
    increment: str
    rows: int
    columns: list[str]
    text: str | None = None
    path: PathStr | None = None


class SyncResult(BaseModel):
    """What a sync did (or, with dry_run, would do)."""

    path: PathStr
    changed: bool
    sections_changed: list[str] = Field(default_factory=list)
    increments: list[str] = Field(default_factory=list, description="increments whose sections were rendered")
    dry_run: bool = False
    diff: str | None = None


class MetricSeries(BaseModel):
    """One metric's points, possibly downsampled, as parallel lists (compact for a model to read)."""

    key: str
    total_points: int = Field(description="points logged for this metric")
    downsampled: bool = Field(description="True when some points were left out")
    steps: list[int]
    values: list[JsonFloat]


class MetricHistory(BaseModel):
    experiment: str
    increment: str
    series: list[MetricSeries]
    problems: list[str] = Field(default_factory=list, description="damaged lines of metrics.jsonl that were skipped")
    source: Literal["full", "summary"] = Field(
        "full", description="full: every point read; summary: git's summary only (sw-ml artifacts pull)")


__all__ = ["DEFAULT_TOP", "NOTABLE_PACKAGES", "Comparison", "ComparisonPage", "EnvironmentSummary", "ExperimentShown", "ComparisonRow", "Decision", "ExportResult", "Goal", "MetricHistory", "MetricSeries",
           "PrimaryMetric",
           "SyncResult"]
