"""Comparing the experiments of an increment: a table, the best model and why, `comparison.md`.

Built here from the runs; the vocabulary of metric names is `metric_names`, the primary metric, its
direction and the params that differ are `primary`, the ranking and its reasons `ranking`, the
report's text `comparison_md`.

Rules (where the seed is silent):
- Primary metric: the one given; else `primary_metric` in `.specweave/ml.yaml`;
  else the first metric, in column order, that every candidate has (if none is
  shared by all, the one most candidates have). Column order puts the usual
  quality metrics first (accuracy, precision, recall, f1, auc, ...), then the
  rest alphabetically; time-like and cross-validation helper metrics
  (`*_std`, `*_fold<k>`) are never chosen by default.
- Direction: the `goal` given; else `goal` in `.specweave/ml.yaml` (when it
  configures the same metric); else from the name: loss, error, rmse, mae,
  mse, logloss, time, latency... mean lower is better; accuracy, auc, f1,
  precision, recall, r2... higher; sklearn's `neg_*` scores are higher; an
  unknown name is taken as higher-is-better and the report says so.
- Candidates for best: completed, undamaged, with a finite primary value. A
  stage or sweep child whose parent is compared too and has the primary
  metric is represented by that parent. Failed, killed, crashed, running,
  damaged and metric-less experiments are shown and marked, never chosen.
- Columns leave out per-fold metrics (`fold/...`, `fold_0/...`, `folds/...`,
  `<m>/fold_1`, `<m>_fold<k>`, `fold<k>_<m>`, `split<k>_<m>`: see `metric_names.is_per_fold`),
  system metrics (`system/...`) and the training time metric (it has its own
  column); `metrics=` picks them.
- Cross-validation noise: the std of the primary metric is found by the rule
  in `cv_std` (`<m>_std`, `<m>/std`, `std_<m>`, `cv_<m>_std`, `<m>_cv_std`, the
  std beside a mean, `cv_std` for the CV mean score; else computed from
  per-fold metrics). When the margin over the runner-up is smaller than the
  larger std of the two, the report warns that the difference may be noise.
- One rule for "best" on every face: `best` is the run the latest logged
  decision selects when there is one, else the computed best (`computed_best`,
  ranked by the primary metric). `reasons` always speak of the run `best`
  names; `computed_reasons` of `computed_best`. When the decision selects
  another run than the metric ranks first, `override` says both: which run the
  decision selected, which run the metric ranks first and by how much.
- Reproductions (`reproduces` in metadata.yaml, written by `sw-ml reproduce`)
  are shown under their original, when it is compared too, and never ranked
  against it.
"""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Any, Literal

from ..errors import AmbiguousReference, DamagedFile, InvalidInput, NotFound
from ..layout import COMPARISON_FILE, EXPERIMENTS_DIR
from ..schemas.records import ExperimentRecord, Increment
from ..schemas.reports import Comparison, ComparisonRow
from ..storage.decisions import read_decisions_checked
from ..storage.atomic_writes import atomic_write
from ..storage.safe_reads import read_text_nofollow
from ..storage.gitfiles import ensure_merge_rules
from ..storage.increments import resolve_increment
from ..storage.locks import file_lock
from ..storage.paths import make_dirs_within
from ..storage.run_records import increment_records, match_records, pipeline_order
from .comparison_md import render_comparison
from .data_versions import data_warning
from .metric_names import cv_std, finite, metric_columns, metric_order, training_time
from .primary import (
    choose_primary,
    differing_params,
    metric_goal,
    numeric_metrics,
    parent_in,
    read_config,
    usable,
    validate_goal,
)
from .ranking import explain_decision, rank


def select_records(records: list[ExperimentRecord], refs: list[str]) -> list[ExperimentRecord]:
    """The records named by `refs`, in the order given, by the one lookup rule (`store.match_records`)."""
    chosen: list[ExperimentRecord] = []
    for ref in refs:
        if not isinstance(ref, str) or not ref.strip():
            raise InvalidInput("experiment reference", ref, "an id like 'exp-003' or 'exp-003-xgboost'")
        hits = match_records(records, ref.strip())
        if not hits:
            raise NotFound("experiment", ref, [r.id for r in records])
        if len(hits) > 1:
            raise AmbiguousReference("experiment", ref, [r.dir for r in hits])
        if hits[0] not in chosen:
            chosen.append(hits[0])
    return chosen



def compare_experiments(
    root: Path,
    increment: str | None = None,
    experiments: list[str] | None = None,
    metrics: list[str] | None = None,
    primary_metric: str | None = None,
    goal: Literal["max", "min"] | None = None,
    write_report: bool = True,
) -> Comparison:
    """Compare an increment's experiments (all, or those named) and write `comparison.md`."""
    goal = validate_goal(goal)
    inc = resolve_increment(root, increment)
    report = inc.path / EXPERIMENTS_DIR / COMPARISON_FILE
    with file_lock(report) if write_report else nullcontext():
        # Held from the read of the runs to the write: the report written last is the newest picture.
        return _compare(root, inc, report, experiments, metrics, primary_metric, goal, write_report)


def _compare(root: Path, inc: Increment, report: Path, experiments: Any, metrics: Any, primary_metric: Any,
             goal: Any, write_report: bool) -> Comparison:
    all_records = increment_records(root, inc)
    records = select_records(all_records, list(experiments)) if experiments else all_records
    ordered = _with_reproductions(pipeline_order(records))
    present_metrics = numeric_metrics(records)
    if metrics:
        unknown = [m for m in metrics if m not in present_metrics]
        if unknown:
            raise InvalidInput("metric", unknown[0], "one of " + (", ".join(metric_order(present_metrics)) or
                                                                  "the metrics logged (none yet)"))
        columns = list(dict.fromkeys(metrics))
    else:
        columns = metric_columns(present_metrics)

    config = read_config(root)
    primary_metric, primary_source = choose_primary(records, config, primary_metric)
    by_id = {r.id: r for r in records}
    goal_source = "given" if goal else None
    if primary_metric and goal is None:
        goal, goal_source = metric_goal(primary_metric, config)

    rows: list[ComparisonRow] = []
    row_of: dict[str, ComparisonRow] = {}
    differing = differing_params(records)
    for record, depth in ordered:
        marks = []
        if record.status != "completed":
            marks.append(record.status)
        if record.problems:
            marks.append("damaged")
        numeric = {k: v for k, v in record.metrics.items() if isinstance(v, (int, float))}
        if not numeric:
            marks.append("no metrics")
        elif primary_metric and primary_metric not in numeric:
            marks.append(f"no {primary_metric}")
        elif primary_metric and finite(numeric.get(primary_metric)) is None:
            marks.append(f"{primary_metric} is not finite")
        parent = parent_in(record, by_id)
        represented = bool(parent and primary_metric and usable(parent)
                           and finite(parent.metrics.get(primary_metric)) is not None)
        original = _original_of(record, by_id)
        if original is not None:
            marks.append(f"reproduction of {original.id}")
        row = ComparisonRow(
            id=record.id, dir=record.dir, name=record.name, status=record.status,
            parent=record.meta.parent if record.meta else None, stage=record.meta.stage if record.meta else None,
            depth=depth, metrics=numeric, params={k: record.params.get(k) for k in differing},
            training_time_s=training_time(record), marks=marks, problems=list(record.problems),
            candidate=not marks and bool(primary_metric) and not represented,
            cv_std=cv_std(record.metrics, primary_metric) if primary_metric else None,
            reproduces=original.id if original is not None else None,
        )
        rows.append(row)
        row_of[record.dir] = row

    comparison = Comparison(increment=inc.id, title=inc.title, primary_metric=primary_metric, goal=goal,
                            goal_source=goal_source, metrics=columns, rows=rows, differing_params=differing)
    rank(comparison)
    # a ranking across different data is no ranking of models
    different_data = data_warning([r for r in records if row_of[r.dir].candidate])
    if different_data:
        comparison.warnings.append(different_data)
    decisions, decision_problems = read_decisions_checked(inc, root)
    comparison.warnings.extend(f"damaged decision history: {p}" for p in decision_problems)
    if decisions:
        latest = decisions[-1]
        row = next((r for r in rows if latest.selected_dir and r.dir == latest.selected_dir), None) or next(
            (r for r in rows if r.id == latest.selected), None)
        if row is not None:
            comparison.decision = latest
            comparison.best = row.id
            row.selected = True
            explain_decision(comparison, row)
        elif not experiments:
            comparison.warnings.append(f"the latest decision selects {latest.selected}, which is not in this "
                                       f"increment any more")
    if primary_source == "most" and primary_metric:
        comparison.warnings.append(f"no metric is shared by every experiment; ranked by {primary_metric}, "
                                   f"which most of them have")
    if goal_source == "assumed":
        comparison.warnings.append(f"the direction of {primary_metric!r} is not known from its name: assumed "
                                   f"higher is better (pass goal='min' or set goal in .specweave/ml.yaml)")
    comparison.markdown = render_comparison(comparison)
    if write_report:
        make_dirs_within(inc.path, (EXPERIMENTS_DIR,), "the increment")
        try:
            current = read_text_nofollow(report)
        except (FileNotFoundError, DamagedFile):
            current = None  # missing, not UTF-8 or a planted link: replaced by the report (the link itself)
        if current != comparison.markdown:
            ensure_merge_rules(root)  # so that two clones' reports merge (see skill.storage.merging)
            atomic_write(report, comparison.markdown)
        comparison.report_path = report
    return comparison


def _original_of(record: ExperimentRecord, by_id: dict[str, ExperimentRecord]) -> ExperimentRecord | None:
    """The run `record` reproduces, when it is among those compared."""
    original = record.meta.reproduces if record.meta else None
    return by_id.get(original) if original and original != record.id else None


def _with_reproductions(ordered: list[tuple[ExperimentRecord, int]]) -> list[tuple[ExperimentRecord, int]]:
    """Each reproduction moved right under its original (one level deeper), when that is compared too."""
    by_id = {record.id: record for record, _ in ordered}
    reruns: dict[str, list[ExperimentRecord]] = {}
    for record, _ in ordered:
        original = _original_of(record, by_id)
        if original is not None:
            reruns.setdefault(original.id, []).append(record)
    if not reruns:
        return ordered
    moved = {id(r) for group in reruns.values() for r in group}
    out: list[tuple[ExperimentRecord, int]] = []
    for record, depth in ordered:
        if id(record) in moved:
            continue
        out.append((record, depth))
        out.extend((rerun, min(depth + 1, 3)) for rerun in reruns.get(record.id, []) if rerun is not record)
    placed = {id(r) for r, _ in out}
    out.extend(pair for pair in ordered if id(pair[0]) not in placed)  # a cycle of reruns: never drop one
    return out


__all__ = ["compare_experiments", "select_records"]
