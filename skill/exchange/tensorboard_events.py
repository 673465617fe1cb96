"""TensorBoard event files, read with TensorBoard's own event reader, one record at a time.

Each folder under the log dir that holds `events.out.tfevents.*` files is one
run (its path under the log dir is its name; the log dir itself, when it holds
events, is the run named after it); the log dir is the group (an increment
named after it). Scalars (`add_scalar`, `tf.summary.scalar`, legacy
`simple_value`) become points with their step and wall time; the hparams
plugin's session-start data becomes the params; the first and last wall time
the start and end. Other plugins (images, histograms, text) are left out.

`LegacyEventFileLoader` streams: nothing but the current event is held, so a
5-million-point run is read in bounded memory. The params and times are only
known once the events have been read, so `points()` fills them into the run as
it goes (the writer writes params and metadata after the points).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import InvalidInput
from ..extras import require
from ..schemas.sources import DamagedRun, Point, Reader, SourceRun

_EVENTS = "events.out.tfevents."


def _event_files(folder: Path) -> list[Path]:
    return sorted(Path(e.path) for e in os.scandir(folder)
                  if _EVENTS in e.name and e.is_file(follow_symlinks=False))


def _run_folders(logdir: Path) -> list[Path]:
    """Folders at or under `logdir` holding event files; links are not followed."""
    found = []
    for dirpath, dirs, files in os.walk(logdir, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not os.path.islink(os.path.join(dirpath, d)))
        if any(_EVENTS in name for name in files):
            found.append(Path(dirpath))
    return found


def _hparam(value: Any) -> Any:
    kind = value.WhichOneof("kind")
    return None if kind is None or kind == "null_value" else getattr(value, kind)


class TensorBoardReader(Reader):
    """Runs of a TensorBoard log dir."""

    kind = "tensorboard"

    def __init__(self, source: str):
        require("tensorboard", "tensorboard")
        folder = Path(source).expanduser()
        if not folder.is_dir():
            raise InvalidInput("TensorBoard log dir", source, "an existing folder holding event files")
        self.logdir = folder.resolve()
        self.location = str(self.logdir)
        self.folders = _run_folders(self.logdir)
        if not self.folders:
            raise InvalidInput("TensorBoard log dir", source, "a folder with TensorBoard event files "
                               "(events.out.tfevents.*) in it or below it")

    def runs(self) -> Iterator[SourceRun | DamagedRun]:
        for folder in self.folders:
            rel = folder.relative_to(self.logdir).as_posix()
            run_id = self.logdir.name if rel == "." else rel
            try:
                files = _event_files(folder)
                listing = [(p.name, p.stat().st_size) for p in files]
            except OSError as exc:
                yield DamagedRun(run_id=run_id, name=run_id, problem=str(exc))
                continue
            yield SourceRun(run_id=run_id, name=run_id, group=self.logdir.name,
                            fingerprint=hashlib.sha256(repr(listing).encode()).hexdigest()[:16],
                            extra={"tensorboard_run": rel})

    def points(self, run: SourceRun) -> Iterator[Point]:
        # The loader without the read-time migration: legacy scalars are taken as they are written (the
        # migration would build a tensor per point only for this reader to take the number back out).
        from tensorboard.backend.event_processing.event_file_loader import LegacyEventFileLoader
        from tensorboard.plugins.hparams import plugin_data_pb2
        from tensorboard.util import tensor_util

        folder = self.logdir / run.extra["tensorboard_run"]
        plugins: dict[str, str] = {}  # tag -> plugin, from the first value that names it
        first = last = None
        for path in _event_files(folder):
            for event in LegacyEventFileLoader(str(path)).Load():
                if event.wall_time:
                    first = event.wall_time if first is None else min(first, event.wall_time)
                    last = event.wall_time if last is None else max(last, event.wall_time)
                if not event.HasField("summary"):
                    continue
                for value in event.summary.value:
                    if value.WhichOneof("value") == "simple_value":  # add_scalar's (and TF1's) legacy form
                        yield value.tag, int(event.step), float(value.simple_value), event.wall_time
                        continue
                    plugin = value.metadata.plugin_data.plugin_name
                    if plugin:
                        plugins.setdefault(value.tag, plugin)
                    else:
                        plugin = plugins.get(value.tag, "")
                    if plugin == "scalars":
                        tensor = value.tensor
                        number = (tensor.float_val[0] if len(tensor.float_val) == 1 else
                                  tensor.double_val[0] if len(tensor.double_val) == 1 else
                                  tensor_util.make_ndarray(tensor).item())
                        yield value.tag, int(event.step), float(number), event.wall_time
                    elif plugin == "hparams" and value.metadata.plugin_data.content:
                        data = plugin_data_pb2.HParamsPluginData.FromString(value.metadata.plugin_data.content)
                        if data.WhichOneof("data") == "session_start_info":
                            for key, hp in data.session_start_info.hparams.items():
                                run.params[key] = _hparam(hp)
        if first is not None:
            run.started = datetime.fromtimestamp(first, timezone.utc)
            run.ended = datetime.fromtimestamp(last, timezone.utc)  # type: ignore[arg-type]


__all__ = ["TensorBoardReader"]
