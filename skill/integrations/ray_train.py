"""Ray Train: `exp = setup_specweave(config, "name")` inside `train_loop_per_worker`.

World rank 0 (from `ray.train.get_context()`) writes one run: the train config as params, what the loop
logs; other workers get the core's no-op run. The run ends with the loop: in `with setup_specweave(...)`
as `with track_experiment` ends; without `with`, as the loop's thread ends (Ray kills its workers: no exit
hook runs), `completed` if it returned, else `failed` with the traceback Ray keeps (or, where none is
found, the line where the loop stopped).
"""

from __future__ import annotations

import dis
import inspect
import os
import threading
from types import FrameType
from typing import Any

import ray
import ray.train

from ..tracking.experiment import Experiment
from ..tracking.ranks import RankInfo, inactive
from .framework_runs import open_run, raised_through

_RAYS = (os.path.dirname(ray.__file__) + os.sep, threading.__file__)  # frames of Ray and of threading


def worker_rank() -> RankInfo | None:
    """This worker's world rank and size as Ray Train sees them; None outside a Ray Train worker."""
    try:
        context = ray.train.get_context()
        return RankInfo(context.get_world_rank(), context.get_world_size(), "ray.train")
    except (RuntimeError, AttributeError, ValueError, DeprecationWarning):  # the driver, a Tune trial
        return None


def setup_specweave(config: dict[str, Any] | None = None, name: str = "ray-train", increment: str | None = None,
                    *, root: str | None = None, description: str | None = None, tags: list[str] | None = None,
                    system_metrics: bool | float | None = None) -> Experiment:
    """The run this worker writes to: a real one on rank 0, the core's no-op run on the others."""
    info = worker_rank()
    if info is not None and info.rank != 0:
        return inactive(name, info)  # the core's rule, with Ray's answer for the rank
    # Ray's rank 0 is rank 0 whatever the environment says: "each" keeps the core from asking again
    exp = open_run(name, source="ray", increment=increment, root=root, description=description, tags=tags,
                   system_metrics=system_metrics, ranks="each" if info is not None else None)
    if config:
        exp.log_params(dict(config))
    if info is not None:
        exp.set_fields(distributed={"ranks": "zero", "world_size": info.world_size, "rank_source": info.source})
    caller = inspect.currentframe()
    loop = _loop_frame(caller.f_back if caller is not None else None)
    thread = threading.current_thread()
    if loop is not None and thread is not threading.main_thread():  # on the main thread, exit ends the run
        threading.Thread(target=_end_with, args=(exp, thread, loop), name="specweave-ray-train", daemon=True).start()
    return exp


def _loop_frame(frame: FrameType | None) -> FrameType | None:
    """The outermost frame of this thread outside Ray and threading: the function Ray called."""
    found = None
    while frame is not None:
        if not frame.f_code.co_filename.startswith(_RAYS):
            found = frame
        frame = frame.f_back
    return found


def _end_with(exp: Experiment, thread: threading.Thread, loop: FrameType) -> None:
    thread.join()
    # A frame that returned last ran a RETURN_* instruction; one that an exception unwound stopped elsewhere.
    last = dis.opname[loop.f_code.co_code[loop.f_lasti]] if loop.f_lasti >= 0 else ""
    if last.startswith("RETURN") or exp.status != "running":  # returned, or ended already (`with`)
        exp.end()
        return
    # Ray kills the worker at its next health check (2 s by default): the exception Ray keeps to report
    # is found first (in memory), then the run ends in one write, as `with` ends it.
    exc = raised_through(loop)
    if exc is not None:
        exp.__exit__(type(exc), exc, exc.__traceback__)
    else:
        code = loop.f_code
        exp.end("failed", note=f"FAILED: {code.co_name} raised at {code.co_filename}:{loop.f_lineno}")
