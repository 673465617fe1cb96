"""Comparing the experiments of an increment: a table, the best model and why, `comparison.md`.

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
  `<m>/fold_1`, `<m>_fold<k>`, `fold<k>_<m>`, `split<k>_<m>`: see `_is_per_fold`),
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

import math
import re
import statistics
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Literal

from ..errors import AmbiguousReference, DamagedFile, InvalidInput, NotFound
from ..layout import COMPARISON_FILE, EXPERIMENTS_DIR
from ..schemas.records import ExperimentRecord, Increment
from ..storage.decisions import read_decisions_checked
from ..storage.atomic_writes import atomic_write
from ..storage.safe_reads import read_text_nofollow
from ..storage.gitfiles import ensure_merge_rules
from ..storage.increments import resolve_increment
from ..storage.locks import file_lock
from ..storage.paths import make_dirs_within
from ..storage.run_records import increment_records, match_records, pipeline_order
from .render import cell_number, md_table, render, short_duration, short_number
from ..schemas.reports import Comparison, ComparisonRow, Goal

MAX_PARAM_COLUMNS = 8

_PREFERRED = ("accuracy", "acc", "balanced_accuracy", "precision", "recall", "f1", "f1_score", "auc", "roc_auc",
              "pr_auc", "r2", "rmse", "mae", "mse", "loss", "val_loss", "logloss", "log_loss")
_MIN_WORDS = {"loss", "logloss", "error", "err", "rmse", "mae", "mse", "mape", "smape", "rmsle", "time", "latency",
              "duration", "perplexity", "wer", "cer", "seconds", "bpc", "nll", "brier", "fpr", "fnr", "eer"}
_MAX_WORDS = {"accuracy", "acc", "auc", "f1", "precision", "recall", "r2", "score", "map", "ndcg", "iou", "dice",
              "bleu", "rouge", "tpr", "tnr", "specificity", "sensitivity", "kappa", "mcc", "reward", "return",
              "top1", "top5", "hit", "hits", "mrr", "jaccard", "auroc", "auprc", "ap"}
_TIME_METRICS = ("training_time", "training_time_s", "train_time", "train_time_s", "fit_time", "fit_time_s",
                 "mean_fit_time")
_FOLD_RE = re.compile(r"^(?:(?P<a>.+?)_fold_?(?P<k1>\d+)|fold_?(?P<k2>\d+)_(?P<b>.+))$")
_ACRONYMS = {"auc": "AUC", "roc": "ROC", "pr": "PR", "rmse": "RMSE", "mae": "MAE", "mse": "MSE", "r2": "R2",
             "f1": "F1", "map": "MAP", "ndcg": "NDCG", "iou": "IoU", "mape": "MAPE", "wer": "WER", "cer": "CER",
             "bleu": "BLEU", "mcc": "MCC", "mrr": "MRR", "cv": "CV", "std": "Std", "nll": "NLL", "lr": "LR"}


def metric_title(name: str) -> str:
    """`f1` -> F1, `val_loss` -> Val Loss, `roc_auc` -> ROC AUC."""
    words = [w for w in re.split(r"[_\-\s.]+", name) if w]
    return " ".join(_ACRONYMS.get(w.lower(), w[:1].upper() + w[1:]) for w in words) or name


def infer_goal(metric: str) -> Goal | None:
    """The direction a metric's name implies, or None when the name says nothing."""
    words = [w for w in re.split(r"[^a-z0-9]+", metric.lower()) if w]
    if words and words[0] == "neg":  # scikit-learn's neg_mean_squared_error etc.: higher is better
        return "max"
    if any(w in _MIN_WORDS for w in words):
        return "min"
    if any(w in _MAX_WORDS for w in words):
        return "max"
    return None


_GROUP_PREFIXES = ("fold/", "system/")  # per-fold points and system metrics: history, not results
# one segment of a per-fold name: fold, folds, fold0, fold_0, fold-0, folds_3, kfold_1, cv_fold_2, split0
_FOLD_SEGMENT_RE = re.compile(r"(?:cv[_-]?|k[_-]?)?(?:folds?(?:[_-]?\d+)?|splits?[_-]?\d+)")
_SPLIT_RE = re.compile(r"split\d+_.+")  # scikit-learn's cv_results_ keys: split0_test_score


def _is_per_fold(metric: str) -> bool:
    """A value of one fold, not of the run: `fold/...` (what the cross-validation and sweep helpers log,
    step = fold), `fold_0/...`, `folds/...`, `cv/fold_1/...`, `<m>/fold_1` (any `/` or `.` segment
    that names a fold), `<m>_fold<k>`, `fold<k>_<m>`, and scikit-learn's `split<k>_<m>`."""
    low = metric.lower()
    parts = re.split(r"[/.]", low)
    if len(parts) > 1 and any(_FOLD_SEGMENT_RE.fullmatch(part) for part in parts):
        return True
    return bool(_FOLD_RE.match(low) or _SPLIT_RE.fullmatch(low))


def _is_grouped(metric: str) -> bool:
    """History rather than a result: per-fold values (`_is_per_fold`) and system metrics (`system/...`)."""
    return metric.lower().startswith(_GROUP_PREFIXES) or _is_per_fold(metric)


def _is_helper(metric: str) -> bool:
    low = metric.lower()
    return (_is_grouped(low) or low.endswith(("_std", "/std")) or low.startswith(("std_", "std/")) or "cv_std" in low
            or low in _TIME_METRICS or infer_goal(low) == "min" and any(w in low for w in ("time", "latency")))


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


_CV_MEAN_NAMES = {"score", "mean", "cv", "cv_score", "cv_mean", "mean_score", "cv_mean_score", "mean_cv_score",
                   "mean_test_score", "test_score"}
_FOLD_KEY_RE = re.compile(r"(?:cv[_-]?|k[_-]?)?(?:fold|split)[_-]?\d+")


def cv_std(metrics: dict[str, Any], metric: str) -> float | None:
    """The cross-validation std of `metric` (M) in one experiment's metrics, if it can be known.

    The first of these names that holds a finite number, in this order:

    1. `M_std`, `M/std`, `std_M`, `std/M`, `cv_M_std`, `M_cv_std`
       (so `auc` finds `auc_std`, `auc/std`, `std_auc`, `cv_auc_std`, `auc_cv_std`;
       `cv_auc` finds `cv_auc_std`);
    2. for a mean: `std_X` for `mean_X` (scikit-learn's `mean_test_score` -> `std_test_score`),
       `X_std` for `X_mean`, `X/std` for `X/mean`;
    3. `cv_std`, only when M is the run's cross-validation mean score: M is named like one
       (`score`, `cv_score`, `cv_mean`, `mean_test_score`, `cv_<x>`, ...), or it is the run's only
       metric that is not itself a helper (std, fold, time), so `cv_std` can be the std of nothing else.

    Else it is computed (population std, at least two folds) from per-fold values logged as
    separate metrics: `M_fold<k>`, `M_fold_<k>`, `fold<k>_M`, `fold_<k>/M`, `M/fold_<k>`.
    (`fold/M`, which the cross-validation helper logs with step = fold, keeps only its last fold in
    the summary; that helper logs `M_std` beside it.)
    """
    names = [f"{metric}_std", f"{metric}/std", f"std_{metric}", f"std/{metric}", f"cv_{metric}_std",
             f"{metric}_cv_std"]
    if metric.startswith("mean_"):
        names.append("std_" + metric[5:])
    if metric.endswith("_mean"):
        names.append(metric[:-5] + "_std")
    if metric.endswith("/mean"):
        names.append(metric[:-5] + "/std")
    low = metric.lower()
    others = [k for k in metrics if k != metric and not _is_helper(k) and _finite(metrics.get(k)) is not None]
    if low in _CV_MEAN_NAMES or low.startswith("cv_") or low.endswith("_cv") or not others:
        names.append("cv_std")
    for name in names:
        value = _finite(metrics.get(name))
        if value is not None:
            return value
    folds = []
    for key, value in metrics.items():
        if _finite(value) is None:
            continue
        match = _FOLD_RE.match(key)
        if match and (match["a"] or match["b"]) == metric:
            folds.append(float(value))
            continue
        head, slash, tail = key.partition("/")
        if slash and ((_FOLD_KEY_RE.fullmatch(head.lower()) and tail == metric)
                      or (_FOLD_KEY_RE.fullmatch(tail.lower()) and head == metric)):
            folds.append(float(value))
    return statistics.pstdev(folds) if len(folds) >= 2 else None


def read_config(root: Path) -> dict[str, Any]:
    """`.specweave/ml.yaml` settings (`primary_metric`, `goal`) as a dict; {} when there is no file."""
    from ..config import load_config

    return load_config(root).model_dump()


def _validate_goal(goal: object, what: str = "goal") -> Goal | None:
    if goal is None:
        return None
    if goal not in ("max", "min"):
        raise InvalidInput(what, goal, "'max' (higher is better) or 'min' (lower is better)")
    return goal  # type: ignore[return-value]


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


def _metric_order(names: set[str]) -> list[str]:
    rank = {name: i for i, name in enumerate(_PREFERRED)}
    return sorted(names, key=lambda n: (rank.get(n.lower(), len(rank)), n.lower(), n))


def metric_columns(names: set[str] | list[str]) -> list[str]:
    """The metrics a table shows by default, in display order (see the module doc)."""
    return [m for m in _metric_order(set(names)) if m not in _TIME_METRICS and not _is_grouped(m)]


def _training_time(record: ExperimentRecord) -> float | None:
    for name in _TIME_METRICS:
        value = _finite(record.metrics.get(name))
        if value is not None:
            return value
    return record.meta.duration_s if record.meta else None


def _differing(records: list[ExperimentRecord]) -> list[str]:
    """Params whose values differ among the experiments that logged any (a run that crashed before
    logging params would otherwise make every param look different)."""
    records = [r for r in records if r.params]
    keys = sorted({k for r in records for k in r.params})
    out = []
    for key in keys:
        values = {repr(r.params.get(key, "<unset>")) for r in records}
        if len(values) > 1:
            out.append(key)
    return out


def _pct(delta: float, base: float) -> str:
    return f", {delta / abs(base) * 100:+.1f}%" if base else ""


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
    goal = _validate_goal(goal)
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
    present_metrics = {k for r in records for k, v in r.metrics.items() if isinstance(v, (int, float))}
    if metrics:
        unknown = [m for m in metrics if m not in present_metrics]
        if unknown:
            raise InvalidInput("metric", unknown[0], "one of " + (", ".join(_metric_order(present_metrics)) or
                                                                  "the metrics logged (none yet)"))
        columns = list(dict.fromkeys(metrics))
    else:
        columns = metric_columns(present_metrics)

    config = read_config(root)
    primary_source = "given"
    if primary_metric is not None:
        if not isinstance(primary_metric, str) or primary_metric not in present_metrics:
            raise InvalidInput("primary metric", primary_metric,
                               "one of " + (", ".join(_metric_order(present_metrics)) or "the metrics logged"))
    elif isinstance(config.get("primary_metric"), str) and config["primary_metric"] in present_metrics:
        primary_metric, primary_source = config["primary_metric"], "config"

    by_id = {r.id: r for r in records}

    def parent_of(record: ExperimentRecord) -> ExperimentRecord | None:
        parent = record.meta.parent if record.meta else None
        return by_id.get(parent) if parent and parent != record.id else None

    def usable(record: ExperimentRecord) -> bool:
        return record.status == "completed" and not record.problems and any(
            _finite(v) is not None for v in record.metrics.values())

    base = [r for r in records if usable(r)]
    if primary_metric is None:
        # children of a compared parent are judged through the parent, unless it has no metrics
        units = [r for r in base if not (parent_of(r) and usable(parent_of(r)))]  # type: ignore[arg-type]
        pool = [m for m in _metric_order(present_metrics) if not _is_helper(m)] or _metric_order(present_metrics)
        shared = [m for m in pool if units and all(_finite(r.metrics.get(m)) is not None for r in units)]
        if shared:
            primary_metric, primary_source = shared[0], "shared"
        elif pool and units:
            counts = {m: sum(_finite(r.metrics.get(m)) is not None for r in units) for m in pool}
            primary_metric, primary_source = max(pool, key=lambda m: counts[m]), "most"
    goal_source = "given" if goal else None
    if primary_metric and goal is None:
        config_goal = _validate_goal(config.get("goal"), "goal in .specweave/ml.yaml")
        if config_goal and config.get("primary_metric") == primary_metric:
            goal, goal_source = config_goal, "config"
        else:
            inferred = infer_goal(primary_metric)
            goal, goal_source = (inferred, "inferred") if inferred else ("max", "assumed")

    rows: list[ComparisonRow] = []
    row_of: dict[str, ComparisonRow] = {}
    differing = _differing(records)
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
        elif primary_metric and _finite(numeric.get(primary_metric)) is None:
            marks.append(f"{primary_metric} is not finite")
        parent = parent_of(record)
        represented = bool(parent and primary_metric and usable(parent)
                           and _finite(parent.metrics.get(primary_metric)) is not None)
        original = _original_of(record, by_id)
        if original is not None:
            marks.append(f"reproduction of {original.id}")
        row = ComparisonRow(
            id=record.id, dir=record.dir, name=record.name, status=record.status,
            parent=record.meta.parent if record.meta else None, stage=record.meta.stage if record.meta else None,
            depth=depth, metrics=numeric, params={k: record.params.get(k) for k in differing},
            training_time_s=_training_time(record), marks=marks, problems=list(record.problems),
            candidate=not marks and bool(primary_metric) and not represented,
            cv_std=cv_std(record.metrics, primary_metric) if primary_metric else None,
            reproduces=original.id if original is not None else None,
        )
        rows.append(row)
        row_of[record.dir] = row

    comparison = Comparison(increment=inc.id, title=inc.title, primary_metric=primary_metric, goal=goal,
                            goal_source=goal_source, metrics=columns, rows=rows, differing_params=differing)
    _rank(comparison)
    from ..repro.datasets import data_warning  # a ranking across different data is no ranking of models

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
            _explain_decision(comparison, row)
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


def _explain_decision(c: Comparison, row: ComparisonRow) -> None:
    """`reasons` about the decision's run; `override` when the metric ranks another run first."""
    decision = c.decision
    assert decision is not None
    rationale = " ".join(decision.rationale.split())
    if len(rationale) > 160:
        rationale = rationale[:157] + "..."
    selected = f"Selected by the logged decision of {decision.ts:%Y-%m-%d}" + (f": {rationale}" if rationale else "")
    metric, computed = c.primary_metric, c.computed_best
    if computed is None or computed == row.id or not metric:
        c.reasons = [selected, *c.computed_reasons]
        return
    top = next(r for r in c.rows if r.id == computed)
    best_value, mine = top.metrics[metric], _finite(row.metrics.get(metric))
    candidates = sorted((r for r in c.rows if r.candidate), key=lambda r: (-1.0 if c.goal == "max" else 1.0)
                        * r.metrics[metric])
    if mine is None:
        standing = f"{row.id} has no {metric} value" + (f" ({', '.join(row.marks)})" if row.marks else "")
    else:
        margin = abs(best_value - mine)
        rank = next((i for i, r in enumerate(candidates, 1) if r.id == row.id), None)
        place = f"ranked {rank} of {len(candidates)}" if rank else "not ranked: " + (", ".join(row.marks)
                                                                                      or "represented by its parent")
        standing = (f"{row.id} has {metric} {short_number(mine)}, {place}; {computed} ranks first with "
                    f"{short_number(best_value)} (margin {short_number(margin)}{_pct(mine - best_value, best_value)})")
    c.override = f"The decision selects {row.id} over the computed best {computed}: {standing}"
    c.reasons = [selected, c.override]


def _rank(c: Comparison) -> None:
    """Pick the computed best among candidates and explain it (`reasons` and `computed_reasons` alike:
    a decision read afterwards rewrites `reasons` about its own run)."""
    _rank_computed(c)
    c.computed_reasons = list(c.reasons)


def _rank_computed(c: Comparison) -> None:
    metric, goal = c.primary_metric, c.goal
    candidates = [r for r in c.rows if r.candidate]
    if not metric or not candidates:
        if c.rows:
            c.reasons.append("No experiment can be ranked: none is completed, undamaged and has "
                             + (f"a {metric} value" if metric else "metrics") + ".")
        return
    sign = -1.0 if goal == "max" else 1.0
    candidates.sort(key=lambda r: sign * r.metrics[metric])
    best = candidates[0]
    best.best = True
    c.best = c.computed_best = best.id
    word = "Highest" if goal == "max" else "Lowest"
    value = best.metrics[metric]
    if len(candidates) == 1:
        c.reasons.append(f"{word} {metric} ({short_number(value)}): the only experiment that can be ranked")
    else:
        runner = candidates[1]
        c.runner_up = runner.id
        other = runner.metrics[metric]
        margin = abs(value - other)
        c.reasons.append(f"{word} {metric} ({short_number(value)} vs {short_number(other)} for {runner.id}: "
                         f"margin {short_number(margin)}{_pct(value - other, other)})")
        stds = [s for s in (best.cv_std, runner.cv_std) if s is not None]
        if stds and margin < max(stds):
            c.warnings.append(f"⚠️ The margin over {runner.id} ({short_number(margin)}) is within the "
                              f"cross-validation std ({short_number(max(stds))}): the difference may be noise")
        elif stds:
            c.reasons.append(f"Margin larger than the cross-validation std ({short_number(max(stds))})")
    kids = [r for r in c.rows if r.parent == best.id and _finite(r.metrics.get(metric)) is not None]
    if kids:
        top = min(kids, key=lambda r: sign * r.metrics[metric])
        c.reasons.append(f"Its best {'stage' if top.stage else 'child'}: {top.id} ({metric} "
                         f"{short_number(top.metrics[metric])})")
    also = []
    for other_metric in c.metrics:
        if other_metric == metric or _is_helper(other_metric):
            continue
        direction = infer_goal(other_metric)
        values = [r.metrics[other_metric] for r in candidates if _finite(r.metrics.get(other_metric)) is not None]
        mine = _finite(best.metrics.get(other_metric))
        if direction is None or mine is None or len(values) < 2:
            continue
        top = max(values) if direction == "max" else min(values)
        if mine == top:
            also.append(other_metric)
    if also:
        c.reasons.append(f"Also best on {', '.join(also)}")
    times = [r.training_time_s for r in candidates if r.training_time_s is not None]
    if best.training_time_s is not None and len(times) > 1:
        c.reasons.append(f"Training time {short_duration(best.training_time_s)} (candidates: "
                         f"{short_duration(min(times))} to {short_duration(max(times))})")
    elif best.training_time_s is not None:
        c.reasons.append(f"Training time {short_duration(best.training_time_s)}")


def render_comparison(c: Comparison) -> str:
    headers = ["Experiment", *(metric_title(m) for m in c.metrics), "Training Time"]
    # each cell formatted on its own (no column-wide decimals): adding a run never rewrites another's row
    body = []
    for row in c.rows:
        label = ("└ " * row.depth) + row.id
        if row.stage:
            label += f" [{row.stage}]"
        if row.marks:
            label += " (" + ", ".join(row.marks) + ")"
        if row.selected:
            label += " ✅"
        body.append([label, *(cell_number(row.metrics[m]) if m in row.metrics else "—" for m in c.metrics),
                     short_duration(row.training_time_s)])
    # the report shows the params most experiments set (the dataframe has them all)
    # first those whose set values differ (max_depth 2 vs 4), then those set by most experiments
    def rank(p: str) -> tuple[int, int, str]:
        values = [row.params.get(p) for row in c.rows if row.params.get(p) is not None]
        return (0 if len({repr(v) for v in values}) > 1 else 1, -len(values), p)

    shown = sorted(c.differing_params, key=rank)[:MAX_PARAM_COLUMNS]
    param_rows = [[row.id, *(short_number(row.params.get(p)) for p in shown)]
                  for row in c.rows]
    damaged = [(row.id, p) for row in c.rows for p in row.problems]
    return render(
        "comparison.md.j2", c=c, table=md_table(headers, body),
        params_table=md_table(["Experiment", *shown], param_rows)
        if shown and len(c.rows) > 1 else [],
        params_hidden=len(c.differing_params) - len(shown),
        damaged=damaged,
    )


__all__ = ["Comparison", "ComparisonRow", "compare_experiments", "cv_std", "infer_goal", "metric_columns",
           "metric_title",
           "read_config", "render_comparison", "select_records"]
