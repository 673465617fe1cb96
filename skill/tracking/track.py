"""`track_experiment`: open an experiment in the right increment, with zero configuration."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ..errors import InvalidInput
from ..layout import EXPERIMENTS_DIR
from ..schemas.records import ExperimentMetadata, Increment
from ..repro.capture import start as start_capture
from ..storage.increments import increment_for
from ..storage.paths import find_root
from . import ranks as ranks_mod
from .experiment import Experiment

_announced: set[str] = set()


def _announce(root: Path, inc: Increment, created: bool) -> None:
    """Say once per process and increment where experiments go (silenced by SPECWEAVE_QUIET)."""
    if str(inc.path) in _announced or os.environ.get("SPECWEAVE_QUIET"):
        return
    _announced.add(str(inc.path))
    try:
        where = (inc.path / EXPERIMENTS_DIR).relative_to(root)
    except ValueError:
        where = inc.path / EXPERIMENTS_DIR
    made = " (created)" if created else ""
    print(f"specweave: logging experiments to {where}/{made}", file=sys.stderr)


def track_experiment(
    name: str | ExperimentMetadata,
    increment: str | None = None,
    *,
    root: str | os.PathLike[str] | None = None,
    description: str | None = None,
    tags: list[str] | None = None,
    parent: str | None = None,
    stage: str | None = None,
    stage_order: int | None = None,
    source: str = "specweave",
    after: str | None = None,
    system_metrics: bool | float | None = None,
    ranks: str | None = None,
    write_at_end: bool = False,
) -> Experiment:
    """Start an experiment and return it; use it with `with`.

    `name` is a string or an `ExperimentMetadata`. `increment` is "0042", a
    full id, or None for the active increment (then the newest; one is
    created when the project has none). `system_metrics=True` (or seconds
    between samples, or SPECWEAVE_SYSTEM_METRICS=1) samples CPU, memory and
    GPU use into `system/*` metrics while the run is open; off by default.
    `after` names the pipeline stage this one follows.

    In a multi-process job (torchrun, accelerate, Lightning DDP, SLURM, MPI) only rank 0 writes; other
    ranks get an experiment whose calls do nothing. `ranks="all"` (or SPECWEAVE_RANKS=all) makes one
    run shared by every rank, each adding its system metrics; `ranks="each"` (SPECWEAVE_RANKS=each) gives
    every process its own run, for independent workers a launcher numbered. See `skill.tracking.ranks`.

    `write_at_end=True` is for a run recorded after the fact (an engine's finished trial), opened and
    ended in one go: its metadata.yaml is first written when it ends (or once it has been open a second),
    a file write fewer; a process killed before then leaves its folder without a readable run.
    """
    if isinstance(name, ExperimentMetadata):
        meta = name
    elif isinstance(name, str):
        meta = ExperimentMetadata(name=name)
    else:
        raise InvalidInput("experiment", type(name).__name__, "a name string or an ExperimentMetadata")
    mode = ranks_mod.resolve_ranks(ranks)
    info = ranks_mod.detect_rank() if mode != "each" else ranks_mod.RankInfo(0, 1, "ranks='each'")
    if info.rank != 0 and mode == "zero":
        return ranks_mod.inactive(meta.name, info)  # before any file is touched: costs nothing
    if info.rank != 0:
        return ranks_mod.join(find_root(root), meta.name, info, system_metrics)
    project = find_root(root)
    increment = start_capture(project, increment)  # the reproduction capture, on its own thread
    inc, created = increment_for(project, increment)
    _announce(project, inc, created)
    meet = ranks_mod.claim_dir(project, meta.name) if mode == "all" and info.world_size > 1 else None
    hooks = None
    if meet is not None:
        hooks = ranks_mod.SharedRun(info, meet)
        system_metrics = ranks_mod.interval_for_all(system_metrics)
    exp = Experiment(
        root=project,
        increment=inc,
        name=meta.name,
        description=description if description is not None else meta.description,
        tags=[*meta.tags, *(tags or [])],
        author=meta.author,
        data_version=meta.data_version,
        git_commit=meta.git_commit,
        parent=parent,
        stage=stage,
        stage_order=stage_order,
        source=source,
        after=after,
        system_metrics=system_metrics,
        hooks=hooks,
        write_at_end=write_at_end,
    )
    if info.world_size > 1 and meet is None:
        exp.set_fields(distributed={"ranks": "zero", "world_size": info.world_size, "rank_source": info.source})
    return exp
