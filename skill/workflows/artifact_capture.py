"""`track_artifacts`: whatever a block writes becomes an experiment's recorded artifacts.

The seed imports `track_artifacts` beside `exp.save_artifact` without showing
it. Here it is the answer to code that writes files itself (`fig.savefig`,
`df.to_csv`, `model.save`, a report generator): it hands out a staging folder,
and when the block ends every file written there is copied into the
experiment under the same relative name and recorded (size, sha256, format)
in metadata.yaml, exactly as `save_artifact` does.

    with track_experiment("xgboost-v1") as exp:
        with track_artifacts(exp) as out:
            fig.savefig(out / "roc_curve.png")
            importance_df.to_csv(out / "feature_importance.csv")
            out.save("config.yaml", {"lr": 0.1})       # save_artifact, at once

    with track_artifacts("exp-003") as out:          # add evaluation files to a finished run
        plot_confusion_matrix(model, out / "confusion_matrix.png")

`target` is an Experiment, a reference to an experiment that has ended
(`exp-003`, its slug or id), or None: then the one experiment open in this
process, else a new experiment called `name`. The staging folder lives under
`.specweave/cache/` and is removed afterwards. Files are collected even when
the block raises (partial outputs help explain a failure), then the error
propagates. Also usable as a decorator: `@track_artifacts(exp)`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from ..errors import InvalidInput, NotFound
from ..layout import CACHE_DIR, SPECWEAVE_DIR, STAGING_DIR
from ..schemas.records import ArtifactInfo, ExperimentRecord
from ..storage.artifacts import write_artifact
from ..storage.edits import check_writable, record_artifact
from ..storage.ids import new_uid
from ..storage.paths import find_root, safe_relative
from ..storage.run_records import find_experiment
from ..storage.store_dirs import make_store_dirs
from ..tracking.experiment import Experiment, open_experiments
from ..tracking.track import track_experiment


class ArtifactFolder(os.PathLike):  # type: ignore[type-arg]
    """The staging folder handed to the block: a path (`out / "plot.png"`) with a `save` method."""

    def __init__(self, path: Path, experiment_id: str, sink: Any):
        self.path = path
        self.experiment = experiment_id
        self._sink = sink
        self.saved: list[ArtifactInfo] = []

    def __fspath__(self) -> str:
        return str(self.path)

    def __truediv__(self, other: str | os.PathLike[str]) -> Path:
        return self.path / other

    def __repr__(self) -> str:
        return f"<ArtifactFolder for {self.experiment} at {self.path}>"

    def save(self, name: str, obj: Any) -> ArtifactInfo:
        """Save one artifact now (any object `save_artifact` accepts)."""
        info = self._sink(name, obj)
        self.saved.append(info)
        return info


def _stored_sink(record: ExperimentRecord) -> Any:
    """Writes into an ended experiment's folder and adds the record to its metadata.yaml."""

    check_writable(record)  # a run kept by MLflow or W&B is refused before anything is written

    def save(name: str, obj: Any) -> ArtifactInfo:
        return write_artifact(record.path, name, obj, record=lambda info: record_artifact(record, info))

    return save


def _open_experiment() -> Experiment | None:
    running = open_experiments()
    if len(running) > 1:
        raise InvalidInput("track_artifacts target", None,
                           f"an experiment to save into; several are open ({', '.join(e.id for e in running)})")
    return running[0] if running else None


def _collect(staging: Path, folder: ArtifactFolder, prefix: str) -> None:
    for path in sorted(p for p in staging.rglob("*") if p.is_file() and not p.is_symlink()):
        relative = path.relative_to(staging).as_posix()
        folder.save(f"{prefix}/{relative}" if prefix else relative, path)


@contextmanager
def track_artifacts(
    target: Experiment | str | None = None,
    *,
    name: str = "artifacts",
    increment: str | None = None,
    root: Any = None,
    prefix: str = "",
) -> Iterator[ArtifactFolder]:
    """Stage files written in the block and record them as the target experiment's artifacts."""
    if prefix:
        prefix = safe_relative(prefix, "the experiment folder").as_posix()
    with ExitStack() as stack:
        if target is None:
            target = _open_experiment()
            if target is None:
                target = stack.enter_context(track_experiment(name, increment, root=root))
        if isinstance(target, Experiment):
            project, exp_id, sink = target.root, target.id, target.save_artifact
        elif isinstance(target, str):
            project = find_root(root)
            record = find_experiment(project, target, increment)
            if record.status == "running":
                raise InvalidInput("track_artifacts target", target,
                                   "the Experiment object of a run still open (a reference is for ended runs)")
            if record.meta is None:
                raise NotFound("readable metadata.yaml for experiment", target)
            exp_id, sink = record.id, _stored_sink(record)
        else:
            raise InvalidInput("track_artifacts target", type(target).__name__,
                               "an Experiment, an experiment reference like 'exp-003', or None")
        staging = project / SPECWEAVE_DIR / CACHE_DIR / STAGING_DIR / f"{exp_id}.{new_uid()}"
        make_store_dirs(staging.parent)  # never through a folder a clone committed as a link
        staging.mkdir()
        folder = ArtifactFolder(staging, exp_id, sink)
        try:
            yield folder
        finally:
            try:
                _collect(staging, folder, prefix)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
