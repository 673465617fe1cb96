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
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import InvalidInput, ReadOnly, SpecweaveError, UnsafePath
from .layout import SPECWEAVE_DIR
from .schemas.records import ExperimentDetail, ExperimentPage, ExperimentRecord, ExperimentSummary, Increment, Note, _json_float
from .storage.paths import find_root

if TYPE_CHECKING:
    from .analysis.compare import Comparison
    from .analysis.export import ExportResult
    from .analysis.history import MetricHistory
    from .analysis.living_docs import SyncResult
    from .schemas.reproduction import ExperimentDiff, ReproducePlan, ReproduceResult
    from .storage.decisions import Decision
    from .storage.memo import Memo


class Project:
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

    # -- experiments ------------------------------------------------------------------------------
    def experiments(self, increment: str | None = None, *, all_increments: bool = False, status: str | None = None,
                    tag: str | None = None, where: str | None = None, sort: str | None = None
                    ) -> list[ExperimentRecord]:
        """The experiments of one increment (default: active, then newest) or of all, filtered and sorted.

        `where` is the safe filter grammar (`metrics.auc > 0.8 and params.max_depth <= 6`), `sort` like
        `-metrics.auc` or `metrics.auc desc`; a misspelt field is refused with the nearest known names.
        """
        from .analysis.listing import list_all_experiments, list_experiments

        if all_increments:
            if increment:
                raise InvalidInput("increment", increment, "an increment or all increments, not both")
            return list_all_experiments(self.root, status=status, tag=tag, where=where, sort=sort)
        return list_experiments(self.root, increment, status=status, tag=tag, where=where, sort=sort)

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
        from .storage.run_records import metric_summaries

        memo = self._memo
        found = self._lookup(ref, increment)
        if memo is not None and found is not None and (hit := memo.detail(found[0])) is not None:
            from .storage.selection import selected_in, with_selection

            return with_selection(hit, selected_in(found[0].parent), known=True)  # a decision since
        record = self._locate(ref, increment, found)
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
        from .analysis.history import DEFAULT_MAX_POINTS, metric_history

        record = self.experiment(ref, increment)
        return metric_history(record, metric, DEFAULT_MAX_POINTS if max_points is None else max_points,
                              root=self.root)

    def history_frame(self, ref: str, increment: str | None = None, metrics: list[str] | str | None = None) -> Any:
        """Every logged point of one experiment as a long pandas DataFrame: step, key, value, ts."""
        from .analysis.export import metric_history_dataframe

        return metric_history_dataframe(self.root, ref, increment, metrics)

    def load_model(self, ref: str, name: str = "model.pkl", increment: str | None = None) -> Any:
        """A saved model, loaded only after its size and sha256 match metadata.yaml (never by the MCP face)."""
        from .storage.artifacts import load_model

        return load_model(self.experiment(ref, increment), name)

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

    def export(self, increment: str | None = None, format: str = "csv",  # noqa: A002 - the seed's word
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

    def dataframe(self, increments: list[str] | None = None) -> Any:
        """Every experiment (of the increments named) as one pandas DataFrame, a row per run."""
        from .analysis.export import experiments_dataframe

        return experiments_dataframe(self.root, increments)

    # -- decisions and docs -----------------------------------------------------------------------
    def log_decision(self, selected: str, rationale: str, *, increment: str | None = None,
                     alternatives: list[str] | None = None, metrics: dict[str, Any] | None = None,
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
        from .storage.edits import add_note

        self.require_writable("add_note")
        return add_note(self.experiment(ref, increment), text)

    def tag(self, ref: str, add: list[str] | tuple[str, ...] = (), remove: list[str] | tuple[str, ...] = (),
            increment: str | None = None) -> ExperimentSummary:
        """Add and remove tags; the experiment as it is afterwards."""
        from .storage.edits import set_tags
        from .storage.run_records import load_experiment

        self.require_writable("tag_experiment")
        if not add and not remove:
            raise InvalidInput("tags", {"add": list(add), "remove": list(remove)}, "at least one tag to add or remove")
        record = self.experiment(ref, increment)
        set_tags(record, add=list(add), remove=list(remove))
        return ExperimentSummary.from_record(load_experiment(record.path, record.increment, self.root))

    def set_status(self, ref: str, status: str, increment: str | None = None) -> ExperimentSummary:
        from .storage.edits import set_status
        from .storage.run_records import load_experiment

        self.require_writable("set_status")
        record = self.experiment(ref, increment)
        set_status(record, status)
        return ExperimentSummary.from_record(load_experiment(record.path, record.increment, self.root))

    # -- artifacts: the object store and its remotes ------------------------------------------------
    def artifact_path(self, ref: str, name: str, increment: str | None = None) -> Path:
        """Where the bytes of a recorded artifact lie: its experiment folder, or the object store
        (`.specweave/objects/sha256/ab/...`) for one recorded `stored: objects`. A plain file, reached
        through no link; a name not recorded is NotFound, bytes not pulled into this clone ObjectMissing
        (one line naming `sw-ml artifacts pull`). Their sha256 was checked when they were written or pulled;
        a reader that must trust them (unpickling) checks again, as `load_model` does."""
        from .storage.verification import artifact_file

        return artifact_file(self.experiment(ref, increment), name)[1]

    def read_artifact(self, ref: str, name: str, increment: str | None = None, *,
                      max_bytes: int = 16 << 20, models: bool = False) -> tuple[Any, bytes]:
        """(its record, its bytes) of a recorded artifact, wherever they lie, checked against the recorded
        size and sha256; never more than `max_bytes`; never a model (the bytes of a pickle are no reader's
        business: `load_model` checks and loads it in Python) unless `models` (the dashboard's download,
        a file the person saves)."""
        from .storage.verification import artifact_file, read_verified

        info, path = artifact_file(self.experiment(ref, increment), name)
        if info.kind == "model" and not models:
            raise InvalidInput("artifact", name, "an artifact that is not a model (models are described, never sent; "
                           "load one in Python with specweave.load_model)")
        if info.size > max_bytes:
            raise InvalidInput("artifact", name, f"an artifact of at most {max_bytes} bytes (this one is {info.size})")
        return info, read_verified(info, path)

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

    def _remote(self, url: str | None) -> tuple[Any, str, str]:
        """The remote a push or pull uses: the user's flag, SPECWEAVE_ARTIFACTS_REMOTE, or ml.yaml's remote
        once the user confirmed it (`allow_remote`); ml.yaml came with the repository (remote_trust.py)."""
        from .config import load_config
        from .storage.remote import open_remote
        from .storage.remote_trust import choose_remote

        settings = load_config(self.root).artifacts
        target, shown, options = choose_remote(self.root, url, settings.remote, dict(settings.storage_options))
        fs, base = open_remote(target, options, self.root)
        return fs, base, shown

    def allow_remote(self) -> tuple[str, dict[str, Any], Path]:
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

    def push_artifacts(self, increment: str | None = None, to: str | None = None) -> Any:
        """Copy the objects of an increment's experiments (default: every increment) to the remote (`to`,
        else ml.yaml's `artifacts.remote`); what is there already is not sent again. A Transfer."""
        from .storage.remote import push

        records = self._artifact_records(increment)
        fs, base, url = self._remote(to)
        return push(self.store, records, fs, base, url)

    def pull_artifacts(self, experiments: list[str] | None = None, source: str | None = None, *,
                       increment: str | None = None) -> Any:
        """Copy the objects of the experiments named (default: every experiment) from the remote into this
        clone, each checked against its recorded sha256 first; what is here already is kept. A Transfer."""
        from .storage.remote import pull

        self.require_writable("pulling artifacts")
        records = self._artifact_records(increment, experiments)
        fs, base, url = self._remote(source)
        return pull(self.store, records, fs, base, url)

    def artifacts_status(self, increment: str | None = None, experiments: list[str] | None = None, *,
                         verify: bool = False) -> Any:
        """Where the artifacts are in this clone: in git, in the object store, missing (not pulled) or
        damaged; `verify` hashes every object. The remote is named, not asked. An ArtifactsStatus."""
        from .config import load_config
        from .storage.remote import status

        records = self._artifact_records(increment, experiments)
        return status(self.store, records, load_config(self.root).artifacts.remote, verify)


    def migrate(self, increment: str | None = None, experiments: list[str] | None = None, *,
                dry_run: bool = False) -> Any:
        """Move the point logs of version 1 and 2 runs (metrics.jsonl, committed) into the object store,
        leaving the bounded summary schema 3 keeps in git; nothing else changes. Only on request. A
        MigrateResult."""
        from .storage.run_summary import migrate_runs

        if not dry_run:
            self.require_writable("migrating point logs")
        return migrate_runs(self._artifact_records(increment, experiments), dry_run)

    # -- views: runs table, curves, one run (dashboard, report, MCP App) ----------------------------
    def runs_table(self, increments: list[str] | None = None, *, where: str | None = None, sort: str | None = None,
                   columns: list[str] | None = None, primary_metric: str | None = None) -> Any:
        """The runs of `increments` (default: active, then newest) with compare's primary metric, best
        run and decision marked, `where`/`sort` as `experiments` takes them. A views.RunsTable."""
        from .views.table import runs_table

        return runs_table(self, increments, where=where, sort=sort, columns=columns, primary_metric=primary_metric)

    def curves(self, runs: list[str], metric: str, max_points: object = None) -> Any:
        """`metric` of each run (keys `<increment>/<folder>` or any reference), each downsampled to at
        most `max_points` keeping every bucket's min and max. A views.CurveSet."""
        from .views.curves import DEFAULT_CURVE_POINTS, make_curve, read_points, validate_curve_points
        from .schemas.pages import CurveSet
        from .views.table import run_key

        limit = validate_curve_points(DEFAULT_CURVE_POINTS if max_points is None else max_points)
        result = CurveSet(metric=metric, max_points=limit)
        for ref in dict.fromkeys(runs):
            record = self.experiment(ref)
            points, t0 = read_points(record, {metric})
            if metric in points:
                result.curves.append(make_curve(run_key(record), record.id, metric, points[metric], t0, limit))
            else:
                result.missing.append(run_key(record))
        return result

    def metric_stats(self, ref: str, increment: str | None = None) -> Any:
        """min, max, the best by each metric's goal (and the step of each), last, a sparkline: a list of
        views.MetricStats, one per metric, from every logged point."""
        from .views.run import stats_of

        return stats_of(self, self.experiment(ref, increment))

    def run_view(self, ref: str, increment: str | None = None) -> Any:
        from .views.run import run_view

        return run_view(self, ref, increment)

    def parallel(self, increments: list[str] | None = None, runs: list[str] | None = None,
                 metric: str | None = None, where: str | None = None) -> Any:
        """Params against `metric` (default: the primary one) with the parameter importance. A views.ParallelView."""
        from .views.table import parallel_view, run_key, runs_table

        table = runs_table(self, increments, where=where)
        keys = [run_key(self.experiment(ref)) for ref in runs] if runs else None
        return parallel_view(table, keys, metric)

    def compare_view(self, runs: list[str], primary_metric: str | None = None) -> Any:
        from .views.table import compare_views

        return compare_views(self, runs, primary_metric)

    def view_bundle(self, increments: list[str] | None = None, **options: Any) -> Any:
        """Every view's data in one views.ViewBundle: what the HTML report and the MCP App carry."""
        from .views.bundle import view_bundle

        return view_bundle(self, increments, **options)

    # -- reproduce and diff -------------------------------------------------------------------------
    def diff(self, a: str, b: str, increment: str | None = None, *, max_code_bytes: object = None) -> ExperimentDiff:
        """What changed from run `a` to run `b`: params, metrics with deltas, code (commit plus patch, the
        files that differ as a unified diff of at most `max_code_bytes`), data, environment, packages."""
        from .repro.diff import DEFAULT_MAX_CODE_BYTES, diff_records

        limit = DEFAULT_MAX_CODE_BYTES if max_code_bytes is None else max_code_bytes
        if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= 10_000_000:
            raise InvalidInput("max_code_bytes", limit, "a whole number of bytes from 0 to 10000000")
        return diff_records(self.root, self.experiment(a, increment), self.experiment(b, increment), limit)

    def reproduce_plan(self, ref: str, rtol: object = None, increment: str | None = None) -> ReproducePlan:
        """What `reproduce` would check out, install and run; CannotReproduce (one line) where it cannot."""
        from .repro.reproduce import plan

        return plan(self, self.experiment(ref, increment), rtol)

    def reproduce(self, ref: str, rtol: object = None, increment: str | None = None, *,
                  echo: Any = None, timeout: float | None = None, confirm: Any = None) -> ReproduceResult:
        """Rerun `ref` in a fresh git worktree at its commit and patch, log the rerun as a new experiment
        (`reproduces: <ref>`) and compare its metrics within `rtol`; `echo` receives the rerun's output;
        `confirm(plan)` sees the plan before anything runs (False: nothing runs). Calling this runs the
        recorded command: the CLI asks first, or takes --yes."""
        from .repro.reproduce import reproduce

        return reproduce(self, ref, rtol, increment=increment, echo=echo, timeout=timeout, confirm=confirm)

    # -- import ------------------------------------------------------------------------------------
    def import_runs(self, kind: str, source: str, *, experiment: str | None = None, increment: str | None = None,
                    dry_run: bool = False, step_column: str | None = None, time_column: str | None = None,
                    params: dict[str, Any] | None = None) -> Any:
        """Bring the runs of another tracker (`kind`: mlflow, wandb, tensorboard, csv) in as native runs;
        an ImportReport. Idempotent: a run already imported from that source is skipped or topped up."""
        from .importers.importer import import_runs

        if not dry_run:
            self.require_writable("import")
        return import_runs(self.root, kind, source, experiment=experiment, increment=increment, dry_run=dry_run,
                           step_column=step_column, time_column=time_column, params=params)


__all__ = ["Project"]
