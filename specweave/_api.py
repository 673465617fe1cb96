"""Read functions of the Python API: resolve the root, call the core."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Literal

from skill.schemas.records import ExperimentRecord, Increment
from skill.project import Project

if TYPE_CHECKING:
    from skill.schemas.reports import Comparison
    from skill.analysis.export import ExportResult
    from skill.analysis.living_docs import SyncResult
    from skill.storage.decisions import Decision

PathArg = str | os.PathLike[str] | None


def list_increments(*, root: PathArg = None) -> list[Increment]:
    """Every increment of the project, archived ones included."""
    return Project(root).increments()


def list_experiments(
    increment: str | None = None,
    *,
    status: str | None = None,
    tag: str | None = None,
    where: str | None = None,
    sort: str | None = None,
    root: PathArg = None,
) -> list[ExperimentRecord]:
    """The experiments of an increment (default: active, then newest).

    `where` filters with the safe grammar (`"metrics.auc > 0.8 and params.max_depth <= 6"`),
    `sort` orders (`"-metrics.auc"` or `"metrics.auc desc"`).
    """
    return Project(root).experiments(increment, status=status, tag=tag, where=where, sort=sort)


def get_experiment(ref: str, increment: str | None = None, *, root: PathArg = None) -> ExperimentRecord:
    """One experiment by `exp-003`, slug, name, readable id or folder name (the default increment first)."""
    return Project(root).experiment(ref, increment)


def compare_experiments(
    increment: str | None = None,
    experiments: list[str] | None = None,
    metrics: list[str] | None = None,
    primary_metric: str | None = None,
    goal: Literal["max", "min"] | None = None,
    *,
    where: str | None = None,
    status: str | None = None,
    tag: str | None = None,
    write_report: bool = True,
    root: PathArg = None,
) -> Comparison:
    """Compare an increment's experiments (all, those named, or those `where`/`status`/`tag` keep);
    writes `experiments/comparison.md`.

    `comparison.best` names the best model (a logged decision overrides the
    computed one), `comparison.reasons` says why, `comparison.dataframe` is the
    table as pandas, `comparison.markdown` the report.
    """
    return Project(root).compare(increment, experiments, where=where, status=status, tag=tag, metrics=metrics,
                                 primary_metric=primary_metric, goal=goal, write_report=write_report)


def log_decision(
    *args: Any,
    selected: str | None = None,
    rationale: str | None = None,
    increment: str | None = None,
    alternatives: list[str] | None = None,
    metrics: dict[str, Any] | None = None,
    author: str | None = None,
    root: PathArg = None,
) -> Decision:
    """Record which experiment was chosen and why; tags it `selected`.

        log_decision("exp-003", "Best AUC, fast inference", alternatives=["exp-002"])  # increment inferred
        log_decision("0042", "exp-003", "Best AUC, fast inference", ["exp-002"])      # the seed's form

    Without an increment (as `sw-ml log-decision` and the MCP tool), the selected experiment's own.
    """
    texts = 0
    while texts < min(len(args), 3) and (isinstance(args[texts], str) or (texts == 0 and args[0] is None)):
        texts += 1
    head, rest = list(args[:texts]), list(args[texts:])
    if len(head) == 3:
        increment, selected, rationale = head
    elif len(head) == 2:
        selected, rationale = head
    elif len(head) == 1:
        selected = head[0]
    if len(rest) > 3:
        raise TypeError("log_decision takes at most (increment, selected, rationale, alternatives, metrics, author)")
    alternatives, metrics, author = ([*rest, None, None, None][i] or given for i, given in
                                     enumerate((alternatives, metrics, author)))
    if not isinstance(selected, str) or not isinstance(rationale, str):
        raise TypeError("log_decision needs the selected experiment and the rationale: "
                        "log_decision('exp-003', 'why it won') or log_decision('0042', 'exp-003', 'why it won')")
    return Project(root).log_decision(selected, rationale, increment=increment, alternatives=alternatives,
                                      metrics=metrics, author=author)


def read_decisions(increment: str | None = None, *, root: PathArg = None) -> list[Decision]:
    """An increment's decisions, oldest first (the last one is in force)."""
    return Project(root).decisions(increment)


def sync_living_docs(increments: list[str] | None = None, dry_run: bool = False, *, root: PathArg = None) -> SyncResult:
    """Update `.specweave/docs/internal/architecture/ml-experiments.md` (one section per increment)."""
    return Project(root).sync_docs(increments, dry_run)


def export_experiments(
    increment: str | None = None,
    format: str = "csv",  # noqa: A002 - the seed's word
    path: str | os.PathLike[str] | None = None,
    *,
    where: str | None = None,
    sort: str | None = None,
    root: PathArg = None,
) -> ExportResult:
    """Export an increment's experiments (csv, json, markdown): the text, or written to `path`, which is
    yours (relative to the working directory, or absolute), as with pandas' `to_csv`."""
    return Project(root).export(increment, format, path, where=where, sort=sort)


def experiments_dataframe(increments: list[str] | None = None, *, root: PathArg = None) -> Any:
    """Every experiment of the project (or of the increments named) as one pandas DataFrame."""
    return Project(root).dataframe(increments)


def metric_history_dataframe(ref: str, increment: str | None = None, metrics: list[str] | str | None = None, *,
                             root: PathArg = None) -> Any:
    """Every logged point of one experiment as a long pandas DataFrame: step, key, value, ts.

    `metrics` keeps only those keys. For one column per metric:
    `df.pivot_table(index="step", columns="key", values="value", aggfunc="last")`.
    """
    return Project(root).history_frame(ref, increment, metrics)


def load_model(ref: str, name: str = "model.pkl", increment: str | None = None, *, root: PathArg = None) -> Any:
    """A model saved with `exp.save_model(model, name)`, loaded back by its recorded format.

    The file's size and sha256 are checked against metadata.yaml BEFORE it is unpickled: a changed,
    unrecorded or symlinked file is refused in one line. Unpickling runs code; the check proves the
    file is the one metadata.yaml describes, so review that as you review code.
    """
    return Project(root).load_model(ref, name, increment)


def diff_experiments(a: str, b: str, increment: str | None = None, *, max_code_bytes: int | None = None,
                     root: PathArg = None) -> Any:
    """What changed from run `a` to run `b`: params (added, removed, changed), metrics with deltas, code
    (commit plus uncommitted patch, as the files that differ and a unified diff), data fingerprints,
    environment (python, platform, command, cwd, seeds) and packages. An `ExperimentDiff`."""
    return Project(root).diff(a, b, increment, max_code_bytes=max_code_bytes)


def import_runs(kind: str, source: str, *, experiment: str | None = None, increment: str | None = None,
                dry_run: bool = False, step_column: str | None = None, time_column: str | None = None,
                params: dict[str, Any] | None = None, root: PathArg = None) -> Any:
    """Import runs from another tracker as native runs: `kind` is "mlflow" (a tracking URI, an mlflow.db, or
    an mlruns/ folder), "wandb" (run folders), "tensorboard" (a log dir) or "csv" (a file; `step_column`,
    `time_column`, `params`). Each MLflow experiment, W&B project or log dir becomes an increment unless
    `increment` names one. A second import adds only what is new; `dry_run` writes nothing. An ImportReport."""
    return Project(root).import_runs(kind, source, experiment=experiment, increment=increment, dry_run=dry_run,
                                     step_column=step_column, time_column=time_column, params=params)
