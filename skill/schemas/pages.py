"""The views' models: what the dashboard, the HTML report and the MCP App draw, as plain data.

One model per view. Numbers are JSON-safe: a value that is not finite (NaN, an infinity) is None
in a curve (a gap in the line) and the store's string ("NaN") in a table cell, so every answer is
valid JSON and the page never meets a bare NaN.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from ..layout import Status
from .records import ArtifactInfo, GitInfo, Note, UtcDatetime
from .reports import DEFAULT_MAX_POINTS

Goal = Literal["max", "min"]

DEFAULT_CURVE_POINTS = DEFAULT_MAX_POINTS  # one default for history and curves, whoever asks
MAX_CURVE_POINTS = 100_000
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
               ".webp": "image/webp", ".svg": "image/svg+xml"}


def image_type(name: str) -> str | None:
    """The MIME type of an artifact a page may show inline, by its name; None for anything else."""
    dot = name.rfind(".")
    return IMAGE_TYPES.get(name[dot:].lower()) if dot >= 0 else None


class RunRow(BaseModel):
    """One run in the runs table."""

    key: str = Field(description="<increment>/<folder>: unique, and a reference every face accepts")
    ref: str = Field(description="0042/exp-002-xgboost, as people write it")
    id: str
    increment: str
    name: str
    status: Status
    tags: list[str] = Field(default_factory=list)
    started: UtcDatetime | None = None
    duration_s: float | None = None
    parent: str | None = None
    stage: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, Any] = Field(default_factory=dict, description="latest value of each metric")
    primary: float | None = Field(None, description="the primary metric's latest value, when finite")
    selected: bool = Field(False, description="the increment's latest decision chose it")
    best: bool = Field(False, description="best of its increment by the primary metric")
    damaged: bool = False


class DecisionMark(BaseModel):
    increment: str
    selected: str
    rationale: str
    ts: UtcDatetime


class RunsTable(BaseModel):
    """Every run of the chosen increments, filtered and sorted, with the columns worth showing."""

    increments: list[str]
    primary_metric: str | None = None
    goal: Goal | None = None
    columns: list[str] = Field(default_factory=list, description="metric columns, the primary one first")
    param_columns: list[str] = Field(default_factory=list, description="params that differ between runs")
    seed_params: list[str] = Field(default_factory=list, description="param columns that name a seed (grouping "
                                   "by 'all but seed' leaves them out; skill.analysis.importance.is_seed)")
    log_params: list[str] = Field(default_factory=list, description="param columns with log-spaced values (drawn "
                                  "on log axes; skill.analysis.importance.log_spaced)")
    curve_metrics: list[str] = Field(default_factory=list, description="every metric logged, those with a history "
                                     "(more than one point in a sampled run) first")
    history_metrics: list[str] = Field(default_factory=list, description="the metrics with a history")
    rows: list[RunRow] = Field(default_factory=list)
    decisions: list[DecisionMark] = Field(default_factory=list)
    where: str | None = None
    sort: str | None = None

    def best_row(self) -> RunRow | None:
        """The run a logged decision selected, else the metric's best: the one rule of "best" on every face."""
        return next((r for r in self.rows if r.selected), None) or next((r for r in self.rows if r.best), None)


class Curve(BaseModel):
    """One run's points of one metric, downsampled keeping each bucket's lowest and highest value."""

    run: str = Field(description="the run's key, <increment>/<folder>")
    label: str
    metric: str
    steps: list[int]
    t: list[float] = Field(description="seconds since the run's first point of any metric")
    values: list[float | None] = Field(description="None where the value is not finite")
    total_points: int
    downsampled: bool
    source: Literal["full", "summary"] = Field(
        "full", description="full: drawn from every point the run logged; summary: from git's summary of its log "
                            "(exact at the points it keeps; `sw-ml artifacts pull` brings the full log)")


class CurveSet(BaseModel):
    metric: str
    max_points: int
    curves: list[Curve] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list, description="runs asked for that never logged the metric")
    damaged: list[str] = Field(default_factory=list, description=(
        "runs whose only history is a summary that cannot be read, each as '<run>: <why>'"))


class MetricStats(BaseModel):
    """One metric of one run over all its points: extremes and where they happened."""

    key: str
    count: int
    last: float | None = None
    last_step: int | None = None
    min: float | None = None
    min_step: int | None = None
    max: float | None = None
    max_step: int | None = None
    goal: Goal | None = Field(None, description="max or min: from ml.yaml, else the metric's name")
    best: float | None = None
    best_step: int | None = None
    sparkline: str = ""


class RunCurves(BaseModel):
    """Every metric of one run (or the one asked for): its stats over every point and its curve, cut to a
    point budget; `sw-ml history`'s answer."""

    experiment: str
    increment: str
    source: Literal["full", "summary"] = Field(
        "full", description="full: every point read; summary: git's summary only (sw-ml artifacts pull)")
    stats: list[MetricStats] = Field(default_factory=list)
    curves: dict[str, Curve] = Field(default_factory=dict, description="by metric")


class ArtifactView(BaseModel):
    info: ArtifactInfo
    image: bool = Field(description="an image a page can show inline")


class RunView(BaseModel):
    """One run in full, as a page shows it."""

    row: RunRow
    description: str = ""
    author: str | None = None
    ended: UtcDatetime | None = None
    host: str | None = None
    git: GitInfo = Field(default_factory=GitInfo)
    environment: dict[str, Any] = Field(default_factory=dict)
    notes: list[Note] = Field(default_factory=list)
    decisions: list[DecisionMark] = Field(default_factory=list)
    artifacts: list[ArtifactView] = Field(default_factory=list)
    stats: list[MetricStats] = Field(default_factory=list)
    source: Literal["full", "summary"] = Field(
        "full", description="where the stats came from: every point (full) or git's summary of the log (summary: "
                            "min, max, last and counts exact; `sw-ml artifacts pull` brings the full log)")
    system_metrics: list[str] = Field(default_factory=list, description="system/... metrics (CPU, memory, GPU)")
    problems: list[str] = Field(default_factory=list)


class ParamAxis(BaseModel):
    """One axis of the parallel coordinates: a param (or the metric), numeric or categorical."""

    name: str
    kind: Literal["number", "category"]
    values: list[Any] = Field(description="one per run, in the order of `runs` (None where missing)")
    categories: list[str] = Field(default_factory=list)
    log_scale: bool = Field(False, description="log-spaced numbers (positive, two decades or more): drawn on a "
                            "log axis by default")


class Importance(BaseModel):
    """One param's effect on the metric (skill.analysis.importance: the method and its rules)."""

    param: str
    importance: float = Field(description="share of the metric's variance explained beyond chance; ranked "
                              "params sum to 1")
    levels: int = Field(description="distinct values")
    best_value: Any = Field(None, description="the best run's value")
    correlation: float | None = Field(None, description="Spearman's rho with the metric (numbers only)")
    effect: str | None = Field(None, description="higher is better, lower is better, no monotone trend")
    excluded: str | None = Field(None, description="seed or constant: not ranked")


class ParallelView(BaseModel):
    """Params against the primary metric, over a set of runs: parallel coordinates, scatter, importance."""

    metric: str | None
    goal: Goal | None = None
    runs: list[str] = Field(default_factory=list, description="run keys, one per line")
    labels: list[str] = Field(default_factory=list)
    axes: list[ParamAxis] = Field(default_factory=list, description="params, then the metric last")
    importance: list[Importance] = Field(default_factory=list)


class CompareView(BaseModel):
    """The selected runs side by side (per increment): params that differ, the best and why."""

    increment: str
    primary_metric: str | None = None
    goal: Goal | None = None
    runs: list[str] = Field(default_factory=list, description="run keys, best first")
    labels: list[str] = Field(default_factory=list)
    metrics: list[str] = Field(default_factory=list)
    differing_params: list[str] = Field(default_factory=list)
    params: list[dict[str, Any]] = Field(default_factory=list, description="every param of each run")
    values: list[dict[str, Any]] = Field(default_factory=list, description="the metric columns of each run")
    best: str | None = Field(None, description="the decision's run if one was logged, else the computed best")
    computed_best: str | None = Field(None, description="the best by the primary metric")
    reasons: list[str] = Field(default_factory=list, description="about `best`")
    computed_reasons: list[str] = Field(default_factory=list, description="about `computed_best`")
    override: str | None = Field(None, description="a decision against the metric: both runs and the margin")
    reproductions: dict[str, str] = Field(default_factory=dict, description="run key -> the original it reran")
    warnings: list[str] = Field(default_factory=list)


class ViewBundle(BaseModel):
    """Everything a page needs without a server: the report's and the MCP App's data."""

    title: str
    generated: UtcDatetime
    table: RunsTable
    selection: list[str] = Field(default_factory=list, description="runs drawn at first")
    metric: str | None = None
    curves: dict[str, CurveSet] = Field(default_factory=dict, description="per metric, every run of the table")
    runs: dict[str, RunView] = Field(default_factory=dict)
    parallel: ParallelView | None = None
    compare: list[CompareView] = Field(default_factory=list)
    images: dict[str, str] = Field(default_factory=dict, description="<run key>/<artifact> -> data: URL")


__all__ = ["DEFAULT_CURVE_POINTS", "IMAGE_TYPES", "MAX_CURVE_POINTS", "image_type", "ArtifactView", "CompareView", "Curve", "CurveSet", "DecisionMark", "Goal", "Importance", "MetricStats",
           "ParallelView", "ParamAxis", "RunCurves", "RunRow", "RunView", "RunsTable", "ViewBundle"]
