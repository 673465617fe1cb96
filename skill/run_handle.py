"""A run handle: one run of a project, its reference resolved once (`Project.run(ref)`), for every
per-run operation (detail, history, curves, stats, the page's view, artifacts, notes, tags, status,
diff, reproduce). `Project`'s per-run methods delegate here.

The handle knows its project only by what it uses of it (`ProjectCore`), so this module imports no
Project: Project composes it, as it composes the views and the reproduction.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .errors import InvalidInput, NotFound
from .schemas.records import ArtifactInfo, ExperimentDetail, ExperimentRecord, ExperimentSummary, Note

if TYPE_CHECKING:
    import pandas as pd

    from .schemas.pages import MetricStats, RunCurves, RunView
    from .schemas.reports import Decision, ExperimentShown, MetricHistory
    from .schemas.reproduction import ExperimentDiff, ReproducePlan, ReproduceResult


class ProjectCore(Protocol):
    """What a run handle uses of its project (Project is one)."""

    root: Path

    def require_writable(self, action: str) -> None: ...
    def run(self, ref: str, increment: str | None = None) -> RunHandle: ...
    def experiments(self, increment: str | None = None, *, all_increments: bool = False) -> list[ExperimentRecord]: ...
    def decisions(self, increment: str | None = None) -> list[Decision]: ...
    def _run_detail(self, record: ExperimentRecord) -> ExperimentDetail: ...
    def _config(self) -> dict[str, Any]: ...


def code_limit(max_code_bytes: object) -> int:
    from .repro.diff import DEFAULT_MAX_CODE_BYTES

    limit = DEFAULT_MAX_CODE_BYTES if max_code_bytes is None else max_code_bytes
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= 10_000_000:
        raise InvalidInput("max_code_bytes", limit, "a whole number of bytes from 0 to 10000000")
    return limit


class RunHandle:
    """One run of a project, its reference resolved once (`Project.run`): every per-run operation
    without looking the run up again. Writes go through the project's rules (read-only refused) and
    leave the handle holding the run as it is afterwards."""

    def __init__(self, project: ProjectCore, record: ExperimentRecord):
        self.project = project
        self.record = record

    def __repr__(self) -> str:
        return f"<RunHandle {self.ref}>"

    @property
    def ref(self) -> str:
        """The full reference, `<increment>/<id>`, as every face shows it."""
        from .schemas.records import full_ref

        return full_ref(self.record.increment, self.record.id)

    @property
    def key(self) -> str:
        """`<increment>/<folder>`: unique across clones (the pages' run key)."""
        return f"{self.record.increment}/{self.record.dir}"

    def _reload(self) -> None:
        from .storage.run_records import load_experiment

        self.record = load_experiment(self.record.path, self.record.increment, self.project.root)

    # -- reading ----------------------------------------------------------------------------------
    def detail(self) -> ExperimentDetail:
        """The run in full: the record plus min/max/last/steps of each metric, path relative (from the
        project's memo while the run's files are unchanged)."""
        return self.project._run_detail(self.record)

    def show(self, *, packages: bool = False) -> ExperimentShown:
        """show_experiment's answer: the detail, metadata flattened, the environment summarised (every
        installed package with `packages`)."""
        from .schemas.reports import ExperimentShown

        return ExperimentShown.from_detail(self.detail(), packages=packages)

    def history(self, metric: str | None = None, max_points: object = None) -> MetricHistory:
        """A metric's points over steps (every metric when None), downsampled keeping the extremes."""
        from .analysis.history import DEFAULT_MAX_POINTS, metric_history

        return metric_history(self.record, metric, DEFAULT_MAX_POINTS if max_points is None else max_points,
                              root=self.project.root)

    def history_frame(self, metrics: list[str] | str | None = None) -> pd.DataFrame:
        """Every logged point as a long pandas DataFrame: step, key, value, ts."""
        from .analysis.export import metric_history_dataframe

        return metric_history_dataframe(self.record, metrics)

    def curves(self, metric: str | None = None, max_points: object = None) -> RunCurves:
        """Each metric's stats over every point and its curve of at most `max_points` (`sw-ml history`);
        from the summary git keeps when this clone lacks the full log (`source`), counts as logged."""
        from .schemas.pages import DEFAULT_CURVE_POINTS, RunCurves
        from .storage.run_summary import summary_or_damage
        from .views.curves import (
            make_curve,
            read_points,
            read_points_with_source,
            validate_curve_points,
        )
        from .views.run import stats_of

        from .storage.validate import is_utf8

        record = self.record
        limit = validate_curve_points(DEFAULT_CURVE_POINTS if max_points is None else max_points)
        if metric is not None and not is_utf8(metric):  # no metric can be named so: the name is at fault
            raise InvalidInput("metric", metric, "a metric name in valid UTF-8 text")
        history = read_points_with_source(record, {metric} if metric else None)
        points = history.points
        if not points or (metric and metric not in points):
            damage = summary_or_damage(record.path)[1]
            if damage is not None:  # its only history is a summary that cannot be read: not "no metric yet"
                raise damage
        if metric and metric not in points:
            raise NotFound(f"metric of {record.id}", metric, sorted(read_points(record)[0]))
        stats = stats_of(record, self.project._config(), history)  # counts as logged
        curves = {key: make_curve(record.id, record.id, key, points[key], history.t0, limit,
                                  history.logged.get(key), history.source) for key in sorted(points)}
        return RunCurves(experiment=record.id, increment=record.increment,
                         source=history.source,  # type: ignore[arg-type]
                         stats=stats, curves=curves)

    def stats(self) -> list[MetricStats]:
        """min, max, the best by each metric's goal (and the step of each), last, a sparkline: one
        MetricStats per metric, from every logged point."""
        from .views.run import stats_of

        return stats_of(self.record, self.project._config())

    def view(self) -> RunView:
        """The run as a page shows it: params, metrics with stats, environment, git, notes, decisions,
        artifacts (images marked), its system metrics."""
        from .views.run import run_view

        return run_view(self.record, self.detail(), self.project.decisions(self.record.increment),
                        self.project._config())

    def notes(self) -> list[Note]:
        return list(self.record.meta.notes) if self.record.meta else []

    def tags(self) -> list[str]:
        return list(self.record.tags)

    def decisions(self) -> list[Decision]:
        """The decisions of its increment that select this run, oldest first."""
        record = self.record
        return [d for d in self.project.decisions(record.increment)
                if d.selected_dir == record.dir or (d.selected_dir is None and d.selected == record.id)]

    # -- artifacts --------------------------------------------------------------------------------
    def artifacts(self) -> list[ArtifactInfo]:
        """The artifacts recorded in its metadata.yaml."""
        return list(self.record.meta.artifacts) if self.record.meta else []

    def artifact_path(self, name: str) -> Path:
        """Where the bytes of a recorded artifact lie (see `Project.artifact_path`)."""
        from .storage.artifacts import artifact_file

        return artifact_file(self.record, name)[1]

    def read_artifact(self, name: str, *, max_bytes: int = 16 << 20, models: bool = False) -> tuple[ArtifactInfo, bytes]:
        """(its record, its bytes), checked against the recorded size and sha256 (see `Project.read_artifact`)."""
        from .storage.artifacts import artifact_file, read_verified

        info, path = artifact_file(self.record, name)
        if info.kind == "model" and not models:
            raise InvalidInput("artifact", name, "an artifact that is not a model (models are described, never sent; "
                           "load one in Python with specweave.load_model)")
        if info.size > max_bytes:
            raise InvalidInput("artifact", name, f"an artifact of at most {max_bytes} bytes (this one is {info.size})")
        return info, read_verified(info, path)

    def load_model(self, name: str = "model.pkl") -> object:
        """A saved model, loaded only after its size and sha256 match metadata.yaml."""
        from .storage.artifacts import load_model

        return load_model(self.record, name)

    # -- edits ------------------------------------------------------------------------------------
    def add_note(self, text: str) -> Note:
        from .storage.edits import add_note

        self.project.require_writable("add_note")
        note = add_note(self.record, text)
        self._reload()
        return note

    def tag(self, add: list[str] | tuple[str, ...] = (), remove: list[str] | tuple[str, ...] = ()) -> ExperimentSummary:
        """Add and remove tags; the run as it is afterwards."""
        from .storage.edits import set_tags

        self.project.require_writable("tag_experiment")
        if not add and not remove:
            raise InvalidInput("tags", {"add": list(add), "remove": list(remove)}, "at least one tag to add or remove")
        set_tags(self.record, add=list(add), remove=list(remove))
        self._reload()
        return ExperimentSummary.from_record(self.record)

    def set_status(self, status: str) -> ExperimentSummary:
        from .storage.edits import set_status

        self.project.require_writable("set_status")
        set_status(self.record, status)
        self._reload()
        return ExperimentSummary.from_record(self.record)

    # -- diff and reproduce -----------------------------------------------------------------------
    def diff(self, other: RunHandle | str, *, max_code_bytes: object = None) -> ExperimentDiff:
        """What changed from this run to `other` (a handle, or a reference resolved by the same rule):
        params, metrics with deltas, code, data, environment, packages."""
        from .repro.diff import diff_records

        limit = code_limit(max_code_bytes)
        theirs = other if isinstance(other, RunHandle) else self.project.run(other)
        return diff_records(self.project.root, self.record, theirs.record, limit)

    def reproduce_plan(self, rtol: object = None) -> ReproducePlan:
        """What `reproduce` would check out, install and run; CannotReproduce (one line) where it cannot."""
        from .repro.reproduce import plan

        return plan(self.project.root, self.record, rtol)

    def reproduce(self, rtol: object = None, *, echo: Callable[[str], None] | None = None,
                  timeout: float | None = None, confirm: Callable[[ReproducePlan], bool] | None = None
                  ) -> ReproduceResult:
        """Rerun it in a fresh git worktree at its commit and patch (see `Project.reproduce`)."""
        from .repro.reproduce import reproduce

        self.project.require_writable("reproduce")
        return reproduce(self.project.root, self.record, rtol, echo=echo, timeout=timeout, confirm=confirm,
                         runs=lambda: self.project.experiments(all_increments=True))


__all__ = ["ProjectCore", "RunHandle", "code_limit"]
