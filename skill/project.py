"""The one core object: a project's store, and every request any face makes of it.

    from skill.project import Project
    project = Project("/path/to/repo")            # or Project() to find it like git does
    project.experiments("0042", where="metrics.auc > 0.8", sort="-metrics.auc")
    project.compare("0042", where="status = completed")
    project.log_decision("exp-003", "best AUC")   # the increment comes from the experiment

The Python API (`specweave`), the `sw-ml` CLI and the MCP server each build a
Project, call one method and format the answer, as sqlite-utils' commands
each call one method of its `Database`. So one set of rules answers every
face: how a reference is resolved (`experiment`), how lists filter, sort and
page, which increment a decision belongs to, where an export may be written
(`confined` is the MCP face's choice), and what may be written at all
(`read_only`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import InvalidInput, NotFound, ReadOnly, SpecweaveError, UnsafePath
from .layout import SPECWEAVE_DIR
from .project_page import PageMethods
from .project_text import TextMethods
from .run_handle import RunHandle, code_limit
from .schemas.records import (
    ArtifactInfo,
    ExperimentDetail,
    ExperimentPage,
    ExperimentRecord,
    ExperimentSummary,
    Increment,
    Note,
    _json_float,
)
from .storage.paths import find_root

if TYPE_CHECKING:
    import pandas as pd

    from .schemas.pages import (
        CompareView,
        CurveSet,
        MetricStats,
        ParallelView,
        RunsTable,
        RunView,
        ViewBundle,
    )
    from .schemas.reports import (
        Comparison,
        ComparisonPage,
        Decision,
        ExperimentShown,
        ExportResult,
        MetricHistory,
        PrimaryMetric,
        SyncResult,
    )
    from .exchange.mlflow_push import PushResult
    from .analysis.query import Filter
    from .schemas.reproduction import ExperimentDiff, ReproducePlan, ReproduceResult
    from .schemas.sources import ImportReport
    from .storage.memo import Memo
    from .storage.remote import ArtifactsStatus, Transfer
    from .storage.run_summary import MigrateResult
    from .views.live import StoreWatch


class Project(PageMethods, TextMethods):
    """A project's experiment store (`<root>/.specweave/`), read and written by one set of rules."""

    def __init__(self, root: str | os.PathLike[str] | None = None, *, read_only: bool = False,
                 memo: bool = False):
        if root is not None and not Path(root).expanduser().is_dir():
            raise InvalidInput("project root", str(root), "an existing folder")
        self.root: Path = find_root(root)
        self.read_only = read_only
        self._memo: Memo | None = None
        if memo:  # a long-lived face (the MCP server) answers repeated reads from a stat-checked memo
            from .storage.memo import Memo

            self._memo = Memo()

    def __repr__(self) -> str:
        return f"<Project {self.root}{' (read-only)' if self.read_only else ''}>"

    @property
    def store(self) -> Path:
        return self.root / SPECWEAVE_DIR

    @property
    def exists(self) -> bool:
        """Whether the project has a store yet (a first write creates it)."""
        return self.store.is_dir()

    def rel(self, path: Path | str) -> str:
        """`path` relative to the project root, as every face shows it."""
        try:
            return Path(os.path.abspath(path)).relative_to(self.root).as_posix()
        except ValueError:
            raise UnsafePath(str(path), SPECWEAVE_DIR) from None

    def inside(self, path: Path) -> Path:
        """`path` resolved (links followed), refused unless it stays in `.specweave/`: a second fence,
        behind the readers and writers that never follow a link."""
        from .storage.paths import contained

        return contained(path, self.store)

    def require_writable(self, action: str) -> None:
        if self.read_only:
            raise ReadOnly(action)

    # -- increments -------------------------------------------------------------------------------
    def increments(self) -> list[Increment]:
        """Every increment, oldest first, archived ones included."""
        from .storage.increments import list_increments

        return list_increments(self.root)

    def increment(self, ref: str | None = None) -> Increment:
        """The increment `ref` names (`0042`, its id or slug); None: the active one, then the newest."""
        from .storage.increments import resolve_increment

        return resolve_increment(self.root, ref or None)

    def default_increment(self, ref: str | None = None) -> Increment | None:
        """The increment `ref` names (errors as usual), else the default one (the active, then the
        newest); None only when the project has no increment at all: an empty answer, not an error.
        The one rule every face uses for "no increment given"."""
        if ref:
            return self.increment(ref)
        if not self.exists:
            return None
        try:
            return self.increment(None)
        except NotFound:
            if self.increments():
                raise
            return None

    # -- experiments ------------------------------------------------------------------------------
    def experiments(self, increment: str | None = None, *, all_increments: bool = False, status: str | None = None,
                    tag: str | None = None, where: str | None = None, sort: str | None = None,
                    limit: object = None, limit_option: str = "limit") -> list[ExperimentRecord]:
        """The experiments of one increment (default: active, then newest) or of all, filtered, sorted and
        cut to the first `limit` (None: all; below 1 refused, naming `limit_option`, the caller's spelling).

        `where` is the safe filter grammar (`metrics.auc > 0.8 and params.max_depth <= 6`), `sort` like
        `-metrics.auc` or `metrics.auc desc`; a misspelt field is refused with the nearest known names.
        """
        from .analysis.listing import list_all_experiments, list_experiments

        if all_increments:
            if increment:
                raise InvalidInput("increment", increment, "an increment or all increments, not both")
            found = list_all_experiments(self.root, status=status, tag=tag, where=where, sort=sort)
        else:
            found = list_experiments(self.root, increment, status=status, tag=tag, where=where, sort=sort)
        if limit is None:
            return found
        from .analysis.paging import first

        return first(found, limit, what=limit_option)

    def stages(self, records: list[ExperimentRecord]) -> list[tuple[ExperimentRecord, int]]:
        """`records` with each pipeline or sweep as one unit: the parent, then its children in stage
        order (depth 1); the order every face lists runs in."""
        from .storage.run_records import pipeline_order

        return pipeline_order(records)

    def metric_columns(self, records: list[ExperimentRecord], limit: int | None = None) -> list[str]:
        """The metrics a table of `records` shows by default, in display order (quality metrics first;
        per-fold, system and time metrics left out), at most `limit`."""
        from .analysis.metric_names import metric_columns
        from .analysis.primary import numeric_metrics

        return metric_columns(numeric_metrics(records))[:limit]

    def page(self, increment: str | None = None, *, status: str | None = None, tag: str | None = None,
             where: str | None = None, sort: str | None = None, limit: object = None,
             cursor: str | None = None) -> ExperimentPage:
        """One page of `experiments(...)`; pass `next_cursor` back as `cursor` for the next."""
        from .analysis.paging import DEFAULT_LIMIT, paginate, query_fingerprint

        inc = self.increment(increment)
        records = self.experiments(inc.id, status=status, tag=tag, where=where, sort=sort)
        fingerprint = query_fingerprint(increment=inc.id, status=status, tag=tag, where=where, sort=sort)
        chosen, next_cursor = paginate(records, cursor=cursor or None,
                                       limit=DEFAULT_LIMIT if limit is None else limit, fingerprint=fingerprint)
        return ExperimentPage(increment=inc.id, total=len(records), next_cursor=next_cursor,
                              experiments=[ExperimentSummary.from_record(r) for r in chosen])

    def run(self, ref: str, increment: str | None = None) -> RunHandle:
        """One run, its reference resolved once (by `experiment`'s rule: the same not-found and
        ambiguity errors), for the per-run operations: `project.run("exp-003").history("loss")`."""
        return RunHandle(self, self.experiment(ref, increment))

    def experiment(self, ref: str, increment: str | None = None) -> ExperimentRecord:
        """One experiment by `exp-003`, `exp-003-xgboost`, its slug, its name, its folder or `0042/exp-003`.

        Scope: the increment named, else the active (or newest) increment, and only then every other;
        an error only when the reference stays ambiguous, listing the full references.
        """
        return self._locate(ref, increment, self._lookup(ref, increment))

    def _lookup(self, ref: str, increment: str | None) -> tuple[Path, str] | None:
        """The memo's (folder, increment) for a reference while the store's structure is unchanged."""
        from .storage.run_records import validate_experiment_ref

        if self._memo is None:
            return None
        return self._memo.lookup(self.root, validate_experiment_ref(ref), increment or None)

    def _locate(self, ref: str, increment: str | None, found: tuple[Path, str] | None) -> ExperimentRecord:
        from .storage.run_records import find_experiment, load_experiment, validate_experiment_ref

        if found is not None:
            from .storage.selection import with_selection

            return with_selection(load_experiment(found[0], found[1], self.root))
        record = find_experiment(self.root, ref, increment or None)
        if self._memo is not None:
            self._memo.remember_lookup(self.root, validate_experiment_ref(ref), increment or None, record)
        return record

    def detail(self, ref: str, increment: str | None = None) -> ExperimentDetail:
        """An experiment in full: the record plus min/max/last/steps of each metric, path relative."""
        memo = self._memo
        found = self._lookup(ref, increment)
        if memo is not None and found is not None and (hit := memo.detail(found[0])) is not None:
            from .storage.selection import selected_in, with_selection

            return with_selection(hit, selected_in(found[0].parent), known=True)  # a decision since
        return self._detail(self._locate(ref, increment, found))

    def show(self, ref: str, increment: str | None = None, *, packages: bool = False) -> ExperimentShown:
        """One experiment as show_experiment shows it: the detail (memoised like `detail`), metadata
        flattened, the environment summarised (every installed package with `packages`)."""
        from .schemas.reports import ExperimentShown

        return ExperimentShown.from_detail(self.detail(ref, increment), packages=packages)

    def _run_detail(self, record: ExperimentRecord) -> ExperimentDetail:
        """The detail of a run already found (a run handle's): with a memo, through `detail`'s guarded
        lookup by its folder (the only way the memo answers); without one, computed from the record."""
        if self._memo is None:
            return self._detail(record)
        return self.detail(f"{record.increment}/{record.dir}")

    def _detail(self, record: ExperimentRecord) -> ExperimentDetail:
        """The detail of a run just read (the memo answers only through `detail`'s guarded lookup)."""
        from .storage.run_records import metric_summaries

        memo = self._memo
        summaries, damaged = metric_summaries(record, self.root)  # streamed: millions of points are fine
        problems = list(record.problems)
        for bad in damaged:
            path = Path(bad.path)  # not resolved: it may be a link, refused and reported
            line = f"{self.rel(path.parent)}/{path.name}{':' + str(bad.line) if bad.line else ''}: {bad.problem}"
            if line not in problems:
                problems.append(line)
        metrics = {k: _json_float(v) if isinstance(v, float) else v for k, v in record.metrics.items()}
        result = ExperimentDetail.model_construct(**{**dict(record), "path": Path(self.rel(record.path)),
                                                     "metrics": metrics, "problems": problems,
                                                     "metric_summaries": summaries})
        if memo is not None:
            memo.remember_detail(record.path, result)
        return result

    def history(self, ref: str, metric: str | None = None, max_points: object = None,
                increment: str | None = None) -> MetricHistory:
        """A metric's points over steps (every metric when None), downsampled keeping the extremes."""
        return self.run(ref, increment).history(metric, max_points)

    def history_frame(self, ref: str, increment: str | None = None,
                      metrics: list[str] | str | None = None) -> pd.DataFrame:
        """Every logged point of one experiment as a long pandas DataFrame: step, key, value, ts."""
        return self.run(ref, increment).history_frame(metrics)

    def load_model(self, ref: str, name: str = "model.pkl", increment: str | None = None) -> object:
        """A saved model, loaded only after its size and sha256 match metadata.yaml (never by the MCP face)."""
        return self.run(ref, increment).load_model(name)

    # -- analysis ---------------------------------------------------------------------------------
    def compare(self, increment: str | None = None, experiments: list[str] | None = None, *,
                where: str | None = None, status: str | None = None, tag: str | None = None,
                metrics: list[str] | None = None, primary_metric: str | None = None, goal: str | None = None,
                write_report: bool = True) -> Comparison:
        """Rank an increment's experiments (all, those named, or those the filters keep) and, unless
        `write_report` is False or the project is read-only, write `comparison.md`."""
        from .analysis.compare import compare_experiments
        from .errors import NotFound

        inc = self.increment(increment)
        if where or status or tag:
            if experiments:
                raise InvalidInput("experiments", experiments, "experiments or filters (where/status/tag), not both")
            chosen = self.experiments(inc.id, status=status, tag=tag, where=where)
            if not chosen:
                raise NotFound("experiment", where or status or tag or "", [r.id for r in self.experiments(inc.id)])
            experiments = [r.dir for r in chosen]
        return compare_experiments(self.root, inc.id, experiments=experiments or None, metrics=metrics or None,
                                   primary_metric=primary_metric or None, goal=goal,  # type: ignore[arg-type]
                                   write_report=write_report and not self.read_only)

    def compare_page(self, increment: str | None = None, experiments: list[str] | None = None, *,
                     where: str | None = None, status: str | None = None, tag: str | None = None,
                     metrics: list[str] | None = None, primary_metric: str | None = None, goal: str | None = None,
                     limit: int | None = None, cursor: str | None = None, fields: list[str] | None = None,
                     write_report: bool = True) -> ComparisonPage:
        """`compare`, ranked best first and paged (the one projection every face answers with): pass
        `next_cursor` back as `cursor`; `fields` keeps those metric and param columns only."""
        full = self.compare(increment, experiments, where=where, status=status, tag=tag, metrics=metrics,
                            primary_metric=primary_metric, goal=goal, write_report=write_report)
        return self.rank_page(full, limit=limit, cursor=cursor, fields=fields)

    def rank_page(self, comparison: Comparison, *, limit: int | None = None, cursor: str | None = None,
                  fields: list[str] | None = None) -> ComparisonPage:
        """One page of a comparison's rows ranked best first (a face that fits pages to a budget pages
        the same comparison again)."""
        from .analysis.ranking import comparison_page
        from .schemas.reports import DEFAULT_TOP

        return comparison_page(comparison, limit=DEFAULT_TOP if limit is None else limit, cursor=cursor or None,
                               fields=fields or None)

    def export(self, increment: str | None = None, format: str = "csv",
               path: str | os.PathLike[str] | None = None, *, where: str | None = None, sort: str | None = None,
               confined: bool = False) -> ExportResult:
        """The increment's experiments as csv, json or markdown: the text, or written to `path`.

        A person's `path` is theirs, written where they say (relative to the working directory), like
        pandas' `to_csv`; `confined` (the MCP face) makes it a name under `.specweave/exports/`.
        """
        from .analysis.export import export_experiments

        if path is not None:
            self.require_writable("export_experiments with a path")
        inc = self.increment(increment)
        return export_experiments(self.root, inc.id, format, path, where=where or None,  # type: ignore[arg-type]
                                  sort=sort or None, allow_outside=not confined)

    def primary_metric(self, increment: str | None = None, primary_metric: str | None = None,
                       goal: str | None = None) -> PrimaryMetric:
        """What the increment's runs are ranked by and which way (the rule of `skill.analysis.primary`,
        the one compare ranks by), without building the comparison."""
        from .analysis.primary import choose_primary, metric_goal, validate_goal
        from .schemas.reports import PrimaryMetric

        given_goal = validate_goal(goal)
        inc = self.increment(increment)
        config = self._config()
        metric, metric_source = choose_primary(self.experiments(inc.id), config, primary_metric or None)
        result = PrimaryMetric(increment=inc.id, metric=metric, metric_source=metric_source, goal=given_goal,
                               goal_source="given" if given_goal else None)
        if metric and given_goal is None:
            result.goal, result.goal_source = metric_goal(metric, config)
        return result

    def _config(self) -> dict[str, Any]:
        """`.specweave/ml.yaml` as a dict (primary_metric, goal, ...): what the analysis rules read."""
        from .analysis.primary import read_config

        return read_config(self.root)

    def dataframe(self, increments: list[str] | None = None) -> pd.DataFrame:
        """Every experiment (of the increments named) as one pandas DataFrame, a row per run."""
        from .analysis.export import experiments_dataframe

        return experiments_dataframe(self.root, increments)

    # -- decisions and docs -----------------------------------------------------------------------
    def log_decision(self, selected: str, rationale: str, *, increment: str | None = None,
                     alternatives: list[str] | None = None, metrics: dict[str, object] | None = None,
                     author: str | None = None) -> Decision:
        """Record that `selected` was chosen, and why. The increment is the one given, else the selected
        experiment's own (found by the same scope rule as `experiment`)."""
        from .analysis.compare import compare_experiments
        from .storage.decision_writer import log_decision

        self.require_writable("log_decision")
        inc = increment or self.experiment(selected).increment
        try:  # the metric the increment is ranked by: the comparison's, named once here above storage
            primary = compare_experiments(self.root, inc, write_report=False).primary_metric
        except SpecweaveError:  # a decision never fails for want of a ranking: storage says what is wrong, or
            primary = None      # records the selected run's first metric
        return log_decision(self.root, inc, selected, rationale, alternatives, metrics, author, primary_metric=primary)

    def decisions(self, increment: str | None = None) -> list[Decision]:
        from .storage.decisions import read_decisions

        return read_decisions(self.root, increment)

    def sync_docs(self, increments: list[str] | None = None, dry_run: bool = False) -> SyncResult:
        """Bring the living docs up to date (dry_run: only the diff)."""
        from .analysis.living_docs import sync_living_docs

        if not dry_run:
            self.require_writable("sync_living_docs")
            if not self.exists:  # never create a store as a side effect of documenting nothing
                raise InvalidInput("project root", str(self.root), "a folder with a .specweave/ store: log a run "
                                   "with track_experiment() first, or pass --root (nothing was created)")
        return sync_living_docs(self.root, increments or None, dry_run=dry_run)

    # -- edits ------------------------------------------------------------------------------------
    def add_note(self, ref: str, text: str, increment: str | None = None) -> Note:
        self.require_writable("add_note")
        return self.run(ref, increment).add_note(text)

    def tag(self, ref: str, add: list[str] | tuple[str, ...] = (), remove: list[str] | tuple[str, ...] = (),
            increment: str | None = None) -> ExperimentSummary:
        """Add and remove tags; the experiment as it is afterwards."""
        self.require_writable("tag_experiment")
        if not add and not remove:
            raise InvalidInput("tags", {"add": list(add), "remove": list(remove)}, "at least one tag to add or remove")
        return self.run(ref, increment).tag(add, remove)

    def set_status(self, ref: str, status: str, increment: str | None = None) -> ExperimentSummary:
        self.require_writable("set_status")
        return self.run(ref, increment).set_status(status)

    # -- artifacts: the object store and its remotes ------------------------------------------------
    def artifact_path(self, ref: str, name: str, increment: str | None = None) -> Path:
        """Where the bytes of a recorded artifact lie: its experiment folder, or the object store
        (`.specweave/objects/sha256/ab/...`) for one recorded `stored: objects`. A plain file, reached
        through no link; a name not recorded is NotFound, bytes not pulled into this clone ObjectMissing
        (one line naming `sw-ml artifacts pull`). Their sha256 was checked when they were written or pulled;
        a reader that must trust them (unpickling) checks again, as `load_model` does."""
        return self.run(ref, increment).artifact_path(name)

    def read_artifact(self, ref: str, name: str, increment: str | None = None, *,
                      max_bytes: int = 16 << 20, models: bool = False) -> tuple[ArtifactInfo, bytes]:
        """(its record, its bytes) of a recorded artifact, wherever they lie, checked against the recorded
        size and sha256; never more than `max_bytes`; never a model (the bytes of a pickle are no reader's
        business: `load_model` checks and loads it in Python) unless `models` (the dashboard's download,
        a file the person saves)."""
        return self.run(ref, increment).read_artifact(name, max_bytes=max_bytes, models=models)

    def _artifact_records(self, increment: str | None = None, experiments: list[str] | None = None
                          ) -> list[ExperimentRecord]:
        """The experiments named, else those of `increment`, else every experiment of the project."""
        if experiments:
            if increment:
                found = [self.experiment(ref, increment) for ref in experiments]
            else:
                found = [self.experiment(ref) for ref in experiments]
            return list({r.path: r for r in found}.values())
        if increment:
            return self.experiments(self.increment(increment).id)
        return self.experiments(all_increments=True) if self.exists else []

    def _remote(self, url: str | None) -> tuple[Any, str, str]:  # (an fsspec filesystem, its base, the url shown)
        """The remote a push or pull uses: the user's flag, SPECWEAVE_ARTIFACTS_REMOTE, or ml.yaml's remote
        once the user confirmed it (`allow_remote`); ml.yaml came with the repository (remote_trust.py)."""
        from .config import load_config
        from .storage.remote import open_remote
        from .storage.remote_trust import choose_remote

        settings = load_config(self.root).artifacts
        target, shown, options = choose_remote(self.root, url, settings.remote, dict(settings.storage_options))
        fs, base = open_remote(target, options, self.root)
        return fs, base, shown

    def allow_remote(self) -> tuple[str, dict[str, object], Path]:
        """Confirm ml.yaml's artifacts remote and storage options for this repository, for this user:
        (remote, options, where the confirmation is kept). Refused (one line) when ml.yaml names none, or
        one no confirmation can make safe (a relative or `~` folder, a protocol not allowed)."""
        from .config import load_config
        from .storage.remote_trust import check_options, check_url, confirm

        settings = load_config(self.root).artifacts
        if not (settings.remote or "").strip():
            raise InvalidInput("artifacts remote", None, "`artifacts: {remote: URL}` in .specweave/ml.yaml to confirm")
        remote = settings.remote.strip()
        options = check_options(dict(settings.storage_options))
        check_url(remote, self.root, from_user=False)
        return remote, options, confirm(self.root, remote, options)

    def push_artifacts(self, increment: str | None = None, to: str | None = None) -> Transfer:
        """Copy the objects of an increment's experiments (default: every increment) to the remote (`to`,
        else ml.yaml's `artifacts.remote`); what is there already is not sent again. A Transfer."""
        from .storage.remote import push

        records = self._artifact_records(increment)
        fs, base, url = self._remote(to)
        return push(self.store, records, fs, base, url)

    def pull_artifacts(self, experiments: list[str] | None = None, source: str | None = None, *,
                       increment: str | None = None) -> Transfer:
        """Copy the objects of the experiments named (default: every experiment) from the remote into this
        clone, each checked against its recorded sha256 first; what is here already is kept. A Transfer."""
        from .storage.remote import pull

        self.require_writable("pulling artifacts")
        records = self._artifact_records(increment, experiments)
        fs, base, url = self._remote(source)
        return pull(self.store, records, fs, base, url)

    def artifacts_status(self, increment: str | None = None, experiments: list[str] | None = None, *,
                         verify: bool = False) -> ArtifactsStatus:
        """Where the artifacts are in this clone: in git, in the object store, missing (not pulled) or
        damaged; `verify` hashes every object. The remote is named, not asked. An ArtifactsStatus."""
        from .config import load_config
        from .storage.remote import status

        records = self._artifact_records(increment, experiments)
        return status(self.store, records, load_config(self.root).artifacts.remote, verify)


    def migrate(self, increment: str | None = None, experiments: list[str] | None = None, *,
                dry_run: bool = False) -> MigrateResult:
        """Move the point logs of version 1 and 2 runs (metrics.jsonl, committed) into the object store,
        leaving the bounded summary schema 3 keeps in git; nothing else changes. Only on request. A
        MigrateResult."""
        from .storage.run_summary import migrate_runs

        if not dry_run:
            self.require_writable("migrating point logs")
        return migrate_runs(self._artifact_records(increment, experiments), dry_run)

    # -- views: runs table, curves, one run (dashboard, report, MCP App) ----------------------------
    def view_scope(self, increments: list[str] | None = None, where: str | None = None,
                   sort: str | None = None) -> tuple[list[str], list[ExperimentRecord]]:
        """(increment ids, their runs `where` keeps, sorted): the increments named (each resolved once,
        in order), else the default one (`default_increment`); nothing for a project without increments."""
        if not increments:
            inc = self.default_increment()
            return ([inc.id], self.experiments(inc.id, where=where, sort=sort)) if inc else ([], [])
        if not self.exists or not self.increments():
            return [], []
        ids = list(dict.fromkeys(self.increment(ref).id for ref in increments))
        if len(ids) == 1:
            return ids, self.experiments(ids[0], where=where, sort=sort)
        wanted = set(ids)
        return ids, [r for r in self.experiments(all_increments=True, where=where, sort=sort) if r.increment in wanted]

    def runs_table(self, increments: list[str] | None = None, *, where: str | None = None, sort: str | None = None,
                   columns: list[str] | None = None, primary_metric: str | None = None) -> RunsTable:
        """The runs of `increments` (default: active, then newest) with compare's primary metric, best
        run and decision marked, `where`/`sort` as `experiments` takes them."""
        from .errors import SpecweaveError
        from .views.table import runs_table

        ids, records = self.view_scope(increments, where or None, sort or None)
        comparisons = []
        for inc in ids:
            try:  # the same primary metric, goal, best run and decision as compare-experiments
                comparisons.append(self.compare(inc, primary_metric=primary_metric, write_report=False))
            except SpecweaveError:
                continue
        return runs_table(self.root, ids, records, comparisons, where=where or None, sort=sort or None,
                          columns=columns, primary_metric=primary_metric)

    def curves(self, runs: list[str], metric: str, max_points: object = None) -> CurveSet:
        """`metric` of each run (keys `<increment>/<folder>` or any reference), each downsampled to at
        most `max_points` keeping every bucket's min and max."""
        from .schemas.pages import DEFAULT_CURVE_POINTS, CurveSet
        from .views.curves import history_damage, make_curve, read_points_with_source, validate_curve_points
        from .views.table import run_key

        limit = validate_curve_points(DEFAULT_CURVE_POINTS if max_points is None else max_points)
        result = CurveSet(metric=metric, max_points=limit)
        for ref in dict.fromkeys(runs):
            record = self.experiment(ref)
            history = read_points_with_source(record, {metric})
            if metric in history.points:
                result.curves.append(make_curve(run_key(record), record.id, metric, history.points[metric],
                                                history.t0, limit, history.logged.get(metric), history.source))
                continue
            damage = history_damage(record, history.points)
            if damage is not None:  # its only history is a summary that cannot be read: not "never logged"
                result.damaged.append(f"{run_key(record)}: {damage}")
            else:
                result.missing.append(run_key(record))
        return result

    def metric_stats(self, ref: str, increment: str | None = None) -> list[MetricStats]:
        """min, max, the best by each metric's goal (and the step of each), last, a sparkline: one
        MetricStats per metric, from every logged point."""
        return self.run(ref, increment).stats()

    def run_view(self, ref: str, increment: str | None = None) -> RunView:
        """One run as a page shows it (see `RunHandle.view`)."""
        return self.run(ref, increment).view()

    def parallel(self, increments: list[str] | None = None, runs: list[str] | None = None,
                 metric: str | None = None, where: str | None = None) -> ParallelView:
        """Params against `metric` (default: the primary one) with the parameter importance."""
        from .views.table import parallel_view, run_key

        table = self.runs_table(increments, where=where)
        keys = [run_key(self.experiment(ref)) for ref in runs] if runs else None
        return parallel_view(table, keys, metric)

    def compare_view(self, runs: list[str], primary_metric: str | None = None) -> list[CompareView]:
        """The runs side by side, one comparison per increment they belong to (compare's ranking and reasons)."""
        from .views.table import compare_view

        if not runs:
            raise InvalidInput("runs", runs, "one or more runs to compare (their keys, e.g. 0042-slug/exp-001-a.abc123)")
        by_inc: dict[str, list[ExperimentRecord]] = {}
        for ref in runs:
            record = self.experiment(ref)
            by_inc.setdefault(record.increment, []).append(record)
        return [compare_view(self.compare(inc, [r.dir for r in records], primary_metric=primary_metric,
                                          write_report=False), records)
                for inc, records in by_inc.items()]

    def view_bundle(self, increments: list[str] | None = None, *, runs: list[str] | None = None,
                    where: str | None = None, metric: str | None = None, point_budget: int | None = None,
                    max_points: int = 1000, image_budget: int = 4 << 20, run_limit: int | None = None,
                    title: str | None = None) -> ViewBundle:
        """Every view's data in one ViewBundle: what the HTML report and the MCP App carry (the runs of
        `increments`, or the `runs` named; at most `run_limit`)."""
        from .views.bundle import DEFAULT_POINT_BUDGET, view_bundle

        if runs:
            named = [self.experiment(ref) for ref in runs]
            table = self.runs_table(list(dict.fromkeys(r.increment for r in named)))
            keys = {f"{r.increment}/{r.dir}" for r in named}
            table.rows = [row for row in table.rows if row.key in keys]
        else:
            table = self.runs_table(increments, where=where)
        if run_limit is not None:
            table.rows = table.rows[:run_limit]
        records = {row.key: self.experiment(row.key) for row in table.rows}
        config = self._config()

        def read_image(key: str, name: str) -> bytes:
            return self.read_artifact(key, name, max_bytes=image_budget)[1]

        return view_bundle(table, records, config=config,
                           decisions={inc: self.decisions(inc) for inc in {r.increment for r in records.values()}},
                           read_image=read_image, compare=self.compare_view, metric=metric,
                           point_budget=DEFAULT_POINT_BUDGET if point_budget is None else point_budget,
                           max_points=max_points, image_budget=image_budget, title=title)

    def store_signature(self, increments: list[str]) -> tuple[object, ...]:
        """What a runs table of `increments` depends on, by a few stat calls: equal signatures, equal
        tables (a face's cache key)."""
        from .views.live import store_signature

        return store_signature(self.store, [self.increment(ref) for ref in increments])

    def watch(self, increments: list[str] | None = None, primary: str | None = None) -> StoreWatch:
        """A watch of `increments` (default: the default increment) for one open page: its `poll()` lists
        the runs that appeared or changed and the points appended since the previous poll."""
        from .views.live import StoreWatch

        if increments:
            return StoreWatch(self.root, [self.increment(ref) for ref in increments], primary)
        inc = self.default_increment()
        return StoreWatch(self.root, [inc] if inc else [], primary)

    # -- reproduce and diff -------------------------------------------------------------------------
    def diff(self, a: str, b: str, increment: str | None = None, *, max_code_bytes: object = None) -> ExperimentDiff:
        """What changed from run `a` to run `b`: params, metrics with deltas, code (commit plus patch, the
        files that differ as a unified diff of at most `max_code_bytes`), data, environment, packages."""
        limit = code_limit(max_code_bytes)  # refused before either run is looked up
        return self.run(a, increment).diff(self.run(b, increment), max_code_bytes=limit)

    def reproduce_plan(self, ref: str, rtol: object = None, increment: str | None = None) -> ReproducePlan:
        """What `reproduce` would check out, install and run; CannotReproduce (one line) where it cannot."""
        return self.run(ref, increment).reproduce_plan(rtol)

    def reproduce(self, ref: str, rtol: object = None, increment: str | None = None, *,
                  echo: Callable[[str], None] | None = None, timeout: float | None = None,
                  confirm: Callable[[ReproducePlan], bool] | None = None) -> ReproduceResult:
        """Rerun `ref` in a fresh git worktree at its commit and patch, log the rerun as a new experiment
        (`reproduces: <ref>`) and compare its metrics within `rtol`; `echo` receives the rerun's output;
        `confirm(plan)` sees the plan before anything runs (False: nothing runs). Calling this runs the
        recorded command: the CLI asks first, or takes --yes."""
        from .repro.reproduce import validate_timeout

        self.require_writable("reproduce")
        validate_timeout(timeout)
        return self.run(ref, increment).reproduce(rtol, echo=echo, timeout=timeout, confirm=confirm)

    # -- import ------------------------------------------------------------------------------------
    def import_runs(self, kind: str, source: str, *, experiment: str | None = None, increment: str | None = None,
                    dry_run: bool = False, step_column: str | None = None, time_column: str | None = None,
                    params: dict[str, object] | None = None) -> ImportReport:
        """Bring the runs of another tracker (`kind`: mlflow, wandb, tensorboard, csv) in as native runs;
        an ImportReport. Idempotent: a run already imported from that source is skipped or topped up."""
        from .exchange.importer import import_runs

        if not dry_run:
            self.require_writable("import")
        return import_runs(self.root, kind, source, experiment=experiment, increment=increment, dry_run=dry_run,
                           step_column=step_column, time_column=time_column, params=params)

    # -- the faces' small questions: a filter parsed, a listing's columns, what show-experiment shows ----
    @staticmethod
    def parse_where(text: str) -> Filter:
        """A `where` filter parsed (the Python API's `parse_where`); InvalidInput names the position of a
        mistake."""
        from .analysis.query import parse_where

        return parse_where(text)

    def listing_columns(self, records: list[ExperimentRecord], columns: list[str] | None = None,
                        primary_metric: str | None = None, *, rank: bool = True) -> list[str]:
        """The metric columns a listing of `records` shows: `columns` as given (each one some record logged),
        else the primary metric (given, else, with `rank`, what compare ranks the first record's increment
        by) first, then the key metrics; four at most."""
        import difflib

        present = sorted({k for r in records for k in r.metrics})
        for name in [*(columns or []), *([primary_metric] if primary_metric else [])]:
            if name not in present:
                near = difflib.get_close_matches(name, present, n=3) or present[:5]
                raise InvalidInput("column", name, "a metric some listed run logged: " + ", ".join(near))
        if columns:
            return list(columns)
        primary = primary_metric
        if primary is None and rank and records:  # what compare-experiments ranks the increment by
            primary = self.primary_metric(records[0].increment).metric
        key = self.metric_columns(records, 4)
        return [primary, *[m for m in key if m != primary]][:4] if primary else key

    def experiment_overview(self, ref: str, increment: str | None = None
                            ) -> tuple[ExperimentDetail, list[MetricStats], list[ExperimentRecord]]:
        """What show-experiment shows of one run, found once: its detail, the stats of each metric from
        every point (min/max/best and their steps), and its pipeline stages in stage order."""
        run = self.run(ref, increment)
        detail = run.detail()
        stages = [r for r in self.experiments(detail.increment)
                  if r.meta and r.meta.parent == detail.id and r.dir != detail.dir]
        stages.sort(key=lambda r: (r.meta.stage_order if r.meta and r.meta.stage_order is not None else 1 << 30,
                                   r.id))
        return detail, run.stats(), stages

    def push_to_mlflow(self, increment: str | None = None, to: str = "") -> PushResult:
        """Push the experiments of `increment` (default: every one) to the MLflow server `to` (default:
        SPECWEAVE_TRACKING_URI, else ml.yaml's tracking_uri); runs pushed before are updated, not doubled."""
        from .exchange.mlflow_push import push_experiments  # mlflow itself loads only here

        return push_experiments(self.root, increment, to)

    # -- where the store keeps things (resources, completions): the page a list starts from, the ids a
    # completion offers, where the documents are and how one is read ---------------------------------
    @staticmethod
    def page_limit() -> int:
        """How many experiments `page` gives when no limit is asked for."""
        from .analysis.paging import DEFAULT_LIMIT

        return DEFAULT_LIMIT

    def experiment_ids(self, increment: str | None = None) -> list[tuple[str, str]]:
        """(readable id `exp-003-xgboost`, slug) of each experiment of `increment` (every increment when
        None), from the folder names alone: cheap enough to answer a completion per keystroke."""
        from .storage.ids import parse_dir, readable_id
        from .storage.run_records import experiment_names

        incs = [self.increment(increment)] if increment else self.increments()
        out: list[tuple[str, str]] = []
        for inc in incs:
            for name in experiment_names(inc):
                number, slug, _uid = parse_dir(name) or (0, "", "")
                out.append((readable_id(number, slug), slug))
        return out

    @staticmethod
    def statuses() -> tuple[str, ...]:
        """Every status an experiment can have (`running`, `completed`, ...)."""
        from .layout import STATUSES

        return STATUSES

    def living_docs_file(self) -> Path:
        """Where the living docs are, written or not."""
        from .layout import LIVING_DOCS

        return self.store.joinpath(*LIVING_DOCS)

    def comparison_file(self, increment: str | None = None) -> Path:
        """Where the increment's comparison.md is, written or not."""
        from .layout import COMPARISON_FILE, EXPERIMENTS_DIR

        return Path(self.increment(increment).path) / EXPERIMENTS_DIR / COMPARISON_FILE

    def comparisons_written(self) -> list[tuple[Increment, Path]]:
        """Each increment with a comparison.md now, and that file."""
        from .layout import COMPARISON_FILE, EXPERIMENTS_DIR

        found = []
        for inc in self.increments():
            path = Path(inc.path) / EXPERIMENTS_DIR / COMPARISON_FILE
            if path.is_file():
                found.append((inc, path))
        return found

    def read_store_text(self, path: Path) -> str:
        """A text file of the store (refused outside `.specweave/`), read without following a link;
        bytes that are not UTF-8 replaced."""
        from .storage.safe_reads import read_bytes_nofollow

        self.inside(path)
        return read_bytes_nofollow(path).decode("utf-8", errors="replace")


__all__ = ["Project", "RunHandle"]
