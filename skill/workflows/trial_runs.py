"""The runs of an engine's trials under one shared sweep parent, for the framework adapters (Optuna).

`TrialRuns` holds what an adapter needs beyond translating its engine's words:

- a trial's run opened while the trial runs (`running`), reachable from the trial's code as `current` (per
  thread, so trials on threads each see their own); an exception ends it `failed` with its traceback;
- the runs written on a writer thread (`submit`), so the engine's loop does not wait for the files; `flush`
  and the process's exit (SIGTERM too) wait for them;
- the best trial (one objective) or the Pareto front (several) marked on the children's tags and the
  parent's record, trial by trial and from every worker (`mark`), or as the engine has it (`set_front`).

Losses are values signed so that lower is better. Dominance is transitive, so the front of (the trials so
far + one more) is the front so far plus the new trial, less what it dominates, unless something on the
front dominates it: each complete trial passes `mark` once, under the parent's lock, and the recorded front
is the engine's (no worse in every objective, better in one).
"""

from __future__ import annotations

import queue
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any

from ..errors import InvalidInput
from ..tracking import flusher
from ..tracking.experiment import Experiment
from .sweeps import SharedSweep, join_sweep

PARETO_TAG = "pareto"
PARETO_FIELD = "pareto_front"
Entry = dict[str, Any]


class TrialRuns:
    """One sweep's trial runs in this process (see the module's doc)."""

    def __init__(self, name: str | None = None, increment: str | None = None, *, root: str | None = None,
                 background: bool = True) -> None:
        self.name, self.increment, self.root, self.background = name, increment, root, background
        self.sweep: SharedSweep | None = None
        self._lock = threading.Lock()
        self._open: dict[str, Experiment] = {}  # trial key -> the run `running` opened
        self._local = threading.local()  # .run: the run of the trial this thread is running
        self._queue: queue.Queue[Callable[[], None]] | None = None
        # Losses of complete trials this process knows of: a trial one of them dominates can never be the
        # best or on the front, so the parent's lock and the engine's storage are left alone for it.
        self._known: list[list[float]] = []

    def join(self, key: str, name: str, description: str, params: Callable[[], dict[str, Any]]) -> SharedSweep:
        """The sweep `key` (joined once per process; the parent is named `self.name` or `name`, and gets
        `params()` if this process creates it)."""
        with self._lock:
            if self.sweep is None:
                sweep = join_sweep(key, self.name or name, self.increment, root=self.root, description=description)
                if sweep.parent is not None:
                    sweep.parent.log_params(params())
                if self.background:  # registered before any trial's run: at exit the queue is written first
                    flusher.register(self, label=description, tick=lambda: None,
                                     finish=lambda _status, _exc, _note: self.flush())
                self.sweep = sweep
            return self.sweep

    @staticmethod
    def first(trials: list[Any], study: str) -> Any:
        """The engine's first trial of `study`, which names the sweep; a study with none has no sweep."""
        if not trials:
            raise InvalidInput("study", f"{study!r} with no trials", "finish(study) after optimize ran a trial")
        return trials[0]

    def child(self, key: str, source: str) -> Experiment:
        """The run of trial `key`, which has ended: the one `running` opened, else a new one, recorded in one
        go (`write_at_end`, see track_experiment)."""
        with self._lock:
            run = self._open.pop(key, None)
        assert self.sweep is not None
        return run or self.sweep.child(f"{self.sweep.parent_id} trial {key}", source=source, write_at_end=True)

    # -- a trial's run while it runs ------------------------------------------------------------------
    @contextmanager
    def running(self, key: str, source: str, keep_open: tuple[type[BaseException], ...] = (),
                before_failing: Callable[[Experiment], None] | None = None) -> Iterator[Experiment]:
        """Open trial `key`'s run as `current` for this thread. An exception (but those in `keep_open`,
        left to the adapter) ends it `failed` with its traceback, after `before_failing(run)`."""
        assert self.sweep is not None
        run = self.sweep.child(f"{self.sweep.parent_id} trial {key}", source=source)
        with self._lock:
            self._open[key] = run
        previous, self._local.run = getattr(self._local, "run", None), run
        try:
            yield run
        except keep_open:
            raise
        except BaseException as exc:
            if before_failing is not None:
                before_failing(run)
            if isinstance(exc, KeyboardInterrupt):
                run.end("killed", note="interrupted (KeyboardInterrupt)")
            else:
                detail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip()
                run.end("failed", note=f"FAILED: {type(exc).__name__}: {exc}\n{detail}")
            raise
        finally:
            self._local.run = previous

    def decorate(self, func: Callable[..., Any], key_of: Callable[[Any], str], source: str,
                 keep_open: tuple[type[BaseException], ...], before_failing: Callable[[Any, Experiment], None],
                 ) -> Callable[..., Any]:
        """`func(trial, ...)` run inside `running(key_of(trial), ...)`: the engine's objective as a decorator
        makes it."""
        @wraps(func)
        def objective(trial: Any, *args: Any, **kwargs: Any) -> Any:
            with self.running(key_of(trial), source, keep_open, lambda run: before_failing(trial, run)):
                return func(trial, *args, **kwargs)

        return objective

    @property
    def current(self) -> Experiment:
        """The run of the trial this thread is running."""
        run = getattr(self._local, "run", None)
        if run is None:
            raise InvalidInput("the trial's run", "no trial running in this thread",
                               "use it inside an objective decorated with @cb.track_in_specweave()")
        return run

    @staticmethod
    def end_trial(run: Experiment, state: str, engine: str, last_step: int | None = None) -> None:
        """End a trial's run as `engine` ended the trial: "complete", "pruned" (status `killed`, tag `pruned`)
        or "failed" (a run already ended, as `running` ends it, keeps its status and traceback)."""  # "fail" too
        if state == "pruned":
            run.add_tag("pruned")
            run.end("killed", note=f"pruned by {engine} at step {last_step}")
        elif state.startswith("fail"):
            run.end("failed", note=f"{engine} failed the trial (an error it caught, or a value it could not "
                                   "use: see the worker's log)")
        else:
            run.end()

    def conclude(self, counts: dict[str, int], best: Callable[[], tuple[str, dict[str, Any]] | None],
                 front: list[Entry] | None, importance: dict[str, Any] | None, metric: str) -> None:
        """At the end: the best trial marked as the engine has it (`best()`; its details hold "params" and
        "value", the parent's `metric`), or the `front` (entries: key, number, values); then counts,
        best params or front, `importance` (None: not computed) onto the parent, which ends if this process
        created it."""
        self.flush()
        assert self.sweep is not None
        summary: dict[str, Any] = {} if importance is None else {"importance": importance}
        metrics = {}
        if front is None:
            self.sweep.mark_best(best)
            found = best()
            if found is not None:
                summary["best"], metrics[metric] = found[1]["params"], found[1]["value"]
        else:
            self.sweep.mark_set(PARETO_FIELD, PARETO_TAG, lambda old: _final_front(old, front))
            summary["pareto_front"] = [e["number"] for e in front]
        parent = self.sweep.parent
        if parent is not None:
            parent.log_params({**counts, **summary})
            parent.log_metrics(metrics)
            parent.end()

    # -- writing off the engine's loop -----------------------------------------------------------------
    def submit(self, job: Callable[[], None]) -> None:
        """Run `job` on the writer thread (`background=False`: now)."""
        if not self.background:
            job()
            return
        with self._lock:
            if self._queue is None:
                self._queue = queue.Queue()
                threading.Thread(target=_writer, args=(self._queue,), name="specweave-trials", daemon=True).start()
        self._queue.put(job)

    def flush(self) -> None:
        """Wait until every job submitted so far is done."""
        if self._queue is not None:
            self._queue.join()

    # -- the best trial, the Pareto front -------------------------------------------------------------
    def mark(self, key: str, run: Experiment, values: list[float], signs: list[float],
             best: Callable[[], tuple[str, dict[str, Any]] | None]) -> None:
        """Trial `key` completed with `values` (`signs`: 1 to minimize, -1 to maximize each): tag it `best`
        when `best()` (asked under the parent's lock) names it, or, for several objectives, `pareto` while
        it is on the front."""
        assert self.sweep is not None
        loss = [s * v for s, v in zip(signs, values)]
        if self.beaten(loss):
            return  # never the best nor on the front, now or later: no need to find its run again
        self.sweep.register(key, run)  # where any worker finds its run to tag it
        if len(loss) == 1:
            self.sweep.mark_best(lambda: self._best(best, signs))
            return
        entry = {"key": key, "number": int(key) if key.isdigit() else key, "values": values, "run": run.id}

        def update(front: list[Entry]) -> list[Entry] | None:
            for other in front:  # the front as every worker recorded it: known from now on
                self.beaten([s * v for s, v in zip(signs, other["values"])])
            return front_with(front, entry, signs)

        self.sweep.mark_set(PARETO_FIELD, PARETO_TAG, update)

    def _best(self, best: Callable[[], tuple[str, dict[str, Any]] | None],
              signs: list[float]) -> tuple[str, dict[str, Any]] | None:
        found = best()  # the engine's best so far (its details hold its "value"): known from now on
        if found is not None:
            self.beaten([signs[0] * found[1]["value"]])
        return found

    def beaten(self, loss: list[float]) -> bool:
        """Whether a known complete trial dominates `loss`; else it is known from now on."""
        with self._lock:
            if any(dominates(known, loss) for known in self._known):
                return True
            self._known = [known for known in self._known if not dominates(loss, known)] + [loss]
            return False


def _writer(jobs: queue.Queue[Callable[[], None]]) -> None:
    while True:
        job = jobs.get()
        try:
            job()
        except Exception as exc:  # noqa: BLE001 - a full disk, a damaged parent: the study goes on
            print(f"specweave: could not record a trial: {type(exc).__name__}: {exc}", file=sys.stderr)
        finally:
            jobs.task_done()


def dominates(a: list[float], b: list[float]) -> bool:
    """Loss `a` no worse than `b` in every objective and better in one."""
    return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))


def front_with(front: list[Entry], entry: Entry, signs: list[float]) -> list[Entry] | None:
    """The front with `entry` added (None: unchanged); `signs` turn values into losses."""
    for index, e in enumerate(front):
        if e["key"] == entry["key"]:  # there already (set from the engine): add its run's id
            return None if e.get("run") else [*front[:index], {**e, "run": entry["run"]}, *front[index + 1:]]
    loss = [s * v for s, v in zip(signs, entry["values"])]
    losses = [[s * v for s, v in zip(signs, e["values"])] for e in front]
    if any(dominates(other, loss) for other in losses):
        return None
    return [e for e, other in zip(front, losses) if not dominates(loss, other)] + [entry]


def _final_front(old: list[Entry], front: list[Entry]) -> list[Entry] | None:
    """The engine's front; entries keep the run ids they were recorded with."""
    runs = {e["key"]: e.get("run") for e in old}
    new = [{**e, **({"run": runs[e["key"]]} if runs.get(e["key"]) else {})} for e in front]
    return None if new == old else new
