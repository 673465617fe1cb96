"""Multi-stage experiments: a pipeline is a parent experiment, each stage a linked child.

    pipeline = ExperimentPipeline("recommendation-full-pipeline")
    with pipeline.stage("preprocessing") as stage:
        stage.log_metric("rows_after", 9000)

On disk each stage is an ordinary experiment named after the stage, with
`parent` = the pipeline's id, `stage` = its name, `stage_order` = 1, 2, ...,
`after` = the id of the stage before it, and the tag `pipeline:<parent id>`.
The parent (tag `pipeline`) keeps the stage names in order (param `stages`)
and logs no metrics of its own, so a comparison judges the stages by theirs
(log a pipeline-wide result on `pipeline.experiment` to rank the pipeline as
one unit instead).

The parent ends `completed` when the pipeline is ended: by leaving
`with ExperimentPipeline(...) as pipeline:`, by `pipeline.end()`, when the
last of the `stages=[...]` named up front ends, or at interpreter exit (the
core's exit hook). A failed stage marks the parent `failed` at once, even if
the caller catches the exception and goes on.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Self

from ..errors import InvalidInput
from ..tracking.experiment import Experiment
from ..tracking.track import track_experiment

PIPELINE_TAG = "pipeline"


def pipeline_tag(parent_id: str) -> str:
    return f"{PIPELINE_TAG}:{parent_id}"


class ExperimentPipeline:
    """A named pipeline whose stages are tracked as linked experiments (see the module doc)."""

    def __init__(
        self,
        name: str,
        increment: str | None = None,
        *,
        root: Any = None,
        description: str | None = None,
        tags: list[str] | None = None,
        stages: list[str] | None = None,
        system_metrics: bool | float | None = None,
    ):
        if stages is not None and (not isinstance(stages, (list, tuple)) or not all(
                isinstance(s, str) and s.strip() for s in stages)):
            raise InvalidInput("stages", stages, "a list of stage names, in the order they run")
        self._expected = [s.strip() for s in stages] if stages else None
        self._system_metrics = system_metrics
        self._parent = track_experiment(name, increment, root=root, tags=[PIPELINE_TAG, *(tags or [])],
                                        description=description or f"pipeline {name}")
        if self._expected:
            self._parent.log_param("planned_stages", self._expected)
        self._stages: list[Experiment] = []
        self._open: Experiment | None = None
        self._failed: list[str] = []

    # -- what it is --------------------------------------------------------------------------
    @property
    def id(self) -> str:
        """The parent experiment's id; every stage's `parent`."""
        return self._parent.id

    @property
    def experiment(self) -> Experiment:
        """The parent experiment (log pipeline-wide params or notes on it)."""
        return self._parent

    @property
    def increment(self) -> str:
        return self._parent.increment

    @property
    def stages(self) -> list[str]:
        """Ids of the stages run so far, in order."""
        return [s.id for s in self._stages]

    @property
    def status(self) -> str:
        return self._parent.status

    def __repr__(self) -> str:
        return f"<ExperimentPipeline {self.id} ({self.status}), stages: {[s.metadata.stage for s in self._stages]}>"

    # -- stages ------------------------------------------------------------------------------
    @contextmanager
    def stage(
        self, name: str, *, description: str | None = None, tags: list[str] | None = None
    ) -> Iterator[Experiment]:
        """Run one stage as an experiment linked to the pipeline; yields the stage's Experiment."""
        if not isinstance(name, str) or not name.strip():
            raise InvalidInput("stage name", name, "a non-empty string such as 'preprocessing'")
        if self._parent.metadata.ended is not None:
            raise InvalidInput("pipeline stage", name, f"a stage of an open pipeline; {self.id} has ended")
        if self._open is not None:
            raise InvalidInput("pipeline stage", name, f"one stage at a time; {self._open.id} is still running")
        name = name.strip()
        previous = self._stages[-1] if self._stages else None
        exp = track_experiment(
            name, self.increment, root=self._parent.root, parent=self.id, stage=name,
            stage_order=len(self._stages) + 1, after=previous.id if previous else None,
            tags=[pipeline_tag(self.id), *(tags or [])], system_metrics=self._system_metrics,
            description=description or f"stage {len(self._stages) + 1} of pipeline {self._parent.name}",
        )
        self._stages.append(exp)
        self._open = exp
        self._parent.log_param("stages", [s.metadata.stage for s in self._stages])
        try:
            with exp:
                yield exp
        except BaseException as exc:
            self._failed.append(exp.id)
            status = "killed" if isinstance(exc, KeyboardInterrupt) else "failed"
            self._parent.log_note(f"stage {name!r} ({exp.id}) {status}: {type(exc).__name__}: {exc}")
            self._parent.set_status(status)
            raise
        finally:
            self._open = None
        if self._expected and [s.metadata.stage for s in self._stages][-len(self._expected):] == self._expected:
            self.end()

    # -- lifecycle ---------------------------------------------------------------------------
    def end(self, status: str | None = None) -> None:
        """End the pipeline: completed, or failed when a stage failed (a status given wins)."""
        if self._parent.metadata.ended is not None:
            return
        done = [s.metadata.stage for s in self._stages]
        self._parent.log_note(f"pipeline ended after {len(done)} stage(s): {' -> '.join(done) or 'none'}")
        self._parent.end(status or ("failed" if self._failed else "completed"))

    finish = end

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> bool:
        if exc is None:
            self.end()
        else:
            self.end("killed" if isinstance(exc, KeyboardInterrupt) else "failed")
        return False
