"""The result models of the analysis tools, in a module that imports nothing but pydantic.

The MCP server builds each tool's output schema from these at start-up; keeping them apart from the
comparison, export, living-docs and history logic (jinja2, pandas, the store) keeps start-up as fast
as the SDK allows. Each is re-exported by the module that produces it.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from ..layout import SCHEMA_VERSION
from ..models import JsonFloat

Goal = Literal["max", "min"]
# get_metric_history: points per metric by default, and at most.
DEFAULT_MAX_POINTS = 500
MAX_MAX_POINTS = 10_000


class Decision(BaseModel):
    """One line of decisions.jsonl."""

    schema_version: int = SCHEMA_VERSION
    ts: datetime
    increment: str
    selected: str = Field(description="readable id of the chosen experiment, exp-NNN-slug")
    selected_dir: str | None = Field(None, description="its folder name, unique across clones")
    rationale: str
    alternatives: list[str] = Field(default_factory=list)
    primary_metric: str | None = Field(None, description="the metric the choice was ranked on")
    metrics: dict[str, Any] = Field(default_factory=dict, description="the primary metric's value (or those given)")
    author: str | None = None


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
    computed_best: str | None = None
    runner_up: str | None = None
    reasons: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    decision: Decision | None = None
    differing_params: list[str] = Field(default_factory=list)
    markdown: str = ""
    report_path: Path | None = None

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


class ExportResult(BaseModel):
    format: Literal["csv", "json", "markdown"]
    increment: str
    rows: int
    columns: list[str]
    text: str | None = None
    path: Path | None = None


class SyncResult(BaseModel):
    """What a sync did (or, with dry_run, would do)."""

    path: Path
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


__all__ = ["Comparison", "ComparisonRow", "Decision", "ExportResult", "Goal", "MetricHistory", "MetricSeries",
           "SyncResult"]
