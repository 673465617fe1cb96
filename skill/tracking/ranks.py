"""Multi-process training: which rank this process is, and who writes the run.

A job started by `torchrun`, `accelerate launch`, Lightning's DDP launcher,
`srun` or `mpirun` runs the same script once per process. By default only rank
0 writes a run; every other rank's `track_experiment` returns an
`InactiveExperiment`, whose calls do nothing (a plain method that returns,
tens of nanoseconds), and says so once on stderr.

With `ranks="all"` the ranks share one run. Rank 0 creates it and owns params,
metrics and metadata; every rank samples its system metrics into the shared
`metrics.jsonl` under `system/<host>/rank<r>/...` (one O_APPEND write of whole
lines per sample, so ranks never interleave), and a rank that dies or fails is
written into the run's notes and makes its status `failed`.

How the ranks find the shared run: rank 0 writes a claim file
`.specweave/cache/ranks/<key>/run.json` naming the run's folder, and the other
ranks wait for it. The key hashes the job's id (SPECWEAVE_JOB_ID,
TORCHELASTIC_RUN_ID, SLURM_JOB_ID.SLURM_STEP_ID, else MASTER_ADDR:MASTER_PORT),
the experiment name and how many runs of that name this process opened before.
A file rather than a collective (`broadcast_object_list`): it works before the
process group exists (Lightning and accelerate create it inside `fit`), with
launchers that never start torch.distributed (XGBoost, JAX, plain srun), and a
rank that opens its run late or never cannot hang the others. It needs the
project on a file system the ranks share, as the run itself does.

How a shared run ends (schema 3 settles the point log into the object store when the run ends): rank 0
waits up to END_WAIT_S for the ranks still running to end, then ends, settles, and marks the claim
ended. A rank slower than that is not lost: every rank appends under the lock that settling takes, to
the file that is the live log at that moment (after a settle, a fresh one), and a rank that ends after
the claim's mark settles again itself (the settle adds the new live log to the stored one and rewrites
the summary), merges its last values into metrics.json and writes its state into the run's metadata;
rank 0 also settles again after its mark, for a rank that appended in between. A rank killed after rank
0 ended leaves its later points in a live log, which the next read of the run settles; a read on its host
also finds its process gone and records it dead, as rank 0 would have (storage.dead_ranks).
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import InvalidInput
from ..layout import CACHE_DIR, LOG_MARKER, METRICS_FILE, METRICS_LOG_FILE, SPECWEAVE_DIR
from ..schemas.records import Note
from ..storage.atomic_writes import append_whole, atomic_write
from ..storage.dead_ranks import died_note
from ..storage.bounded_parsing import read_json
from ..storage.encoding import dumps_json
from ..storage.safe_reads import open_nofollow
from ..storage.liveness import pid_alive, this_host
from ..storage.locks import file_lock
from ..storage.metafile import update_meta
from ..storage.metrics_log import point_lines
from ..storage.run_summary import ensure_log_ignored
from ..storage.store_dirs import make_store_dirs
from .experiment import Experiment, RunHooks
from .system_metrics import DEFAULT_INTERVAL_S, SystemMetricsThread, resolve_interval

RANKS_DIR = "ranks"
RANKS_ENV = "SPECWEAVE_RANKS"
JOB_ENV = "SPECWEAVE_JOB_ID"
CLAIM_WAIT_S = 120.0  # how long a rank waits for rank 0 to create the shared run
DEAD_AFTER_S = 30.0  # a rank on another host whose heartbeat is older than this is dead
HEARTBEAT_S = 2.0
END_WAIT_S = 5.0  # how long rank 0 waits, as it ends, for the other ranks still running to end too
_HOST = this_host()
_said: set[str] = set()
_opened: dict[str, int] = {}
_opened_lock = threading.Lock()


@dataclass(frozen=True)
class RankInfo:
    rank: int
    world_size: int
    source: str  # where the answer came from: "torch.distributed", "RANK", "SLURM_PROCID", ...


def _env_int(name: str) -> int | None:
    raw = os.environ.get(name, "").strip()
    try:
        return int(raw) if raw else None
    except ValueError:
        return None


def detect_rank() -> RankInfo:
    """This process's global rank and the job's world size.

    torch.distributed when a process group is up (only if torch is already imported: asking never
    imports it), then the launchers' variables: RANK/WORLD_SIZE (torchrun, accelerate launch,
    deepspeed), PMI/Open MPI, SLURM_PROCID/SLURM_NTASKS, and Lightning's NODE_RANK/LOCAL_RANK, then
    accelerate's state of several processes. A single process is rank 0 of 1.
    """
    dist = sys.modules.get("torch.distributed")
    if dist is not None:
        try:
            if dist.is_available() and dist.is_initialized():
                return RankInfo(dist.get_rank(), dist.get_world_size(), "torch.distributed")
        except Exception:  # a half-torn-down group: fall back to the environment
            pass
    for rank_var, size_var in (("RANK", "WORLD_SIZE"), ("PMI_RANK", "PMI_SIZE"),
                               ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"), ("SLURM_PROCID", "SLURM_NTASKS")):
        rank = _env_int(rank_var)
        if rank is not None:
            return RankInfo(rank, max(_env_int(size_var) or rank + 1, rank + 1), rank_var)
    local = _env_int("LOCAL_RANK")
    if local is not None:  # Lightning's launcher: NODE_RANK and LOCAL_RANK, WORLD_SIZE once it is known
        node = _env_int("NODE_RANK") or _env_int("GROUP_RANK") or 0
        per_node = _env_int("LOCAL_WORLD_SIZE") or 0
        rank = node * per_node + local if per_node else local
        return RankInfo(rank, max(_env_int("WORLD_SIZE") or rank + 1, rank + 1), "LOCAL_RANK")
    # Last, accelerate's state, for processes it started without the variables above; a state of one
    # process says nothing the default does not (and one left from an earlier Accelerator in this process
    # must not outvote the launcher's variables).
    state_mod = sys.modules.get("accelerate.state")
    if state_mod is not None:
        shared = getattr(getattr(state_mod, "PartialState", None), "_shared_state", None)
        if shared and int(shared.get("num_processes", 1)) > 1:
            return RankInfo(int(shared.get("process_index", 0)), int(shared["num_processes"]), "accelerate")
    return RankInfo(0, 1, "single process")


def resolve_ranks(ranks: str | None) -> str:
    """"zero" (only rank 0 writes, the default), "all" (one run shared by every rank) or "each" (every
    process its own run, as if it were alone: for independent workers that a launcher numbered, such as
    Optuna workers started by one `srun`)."""
    source = "ranks"
    if ranks is None:
        ranks, source = os.environ.get(RANKS_ENV, "").strip().lower() or "zero", f"environment variable {RANKS_ENV}"
    if ranks in ("zero", "0", 0):
        return "zero"
    if ranks in ("all", "each"):
        return ranks
    raise InvalidInput(source, ranks, '"zero" (only rank 0 writes; the default), "all" (one run shared by all '
                                      'ranks) or "each" (every process its own run)')


def job_id() -> str | None:
    """The id every process of this job sees alike, or None outside a launcher."""
    explicit = os.environ.get(JOB_ENV, "").strip()
    if explicit:
        return explicit
    elastic = os.environ.get("TORCHELASTIC_RUN_ID", "").strip()
    if elastic and elastic != "none":
        return f"torchelastic:{elastic}"
    slurm = os.environ.get("SLURM_JOB_ID", "").strip()
    if slurm:
        return f"slurm:{slurm}.{os.environ.get('SLURM_STEP_ID', '')}"
    addr, port = os.environ.get("MASTER_ADDR", "").strip(), os.environ.get("MASTER_PORT", "").strip()
    if addr and port:
        return f"master:{addr}:{port}"
    return None


def _say_once(key: str, message: str) -> None:
    if key in _said or os.environ.get("SPECWEAVE_QUIET"):
        return
    _said.add(key)
    print(f"specweave: {message}", file=sys.stderr)


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = read_json(path)
    except Exception:  # missing, half-written elsewhere, damaged: not there yet
        return None
    return data if isinstance(data, dict) else None


def claim_dir(root: Path, name: str) -> Path | None:
    """The folder where the ranks of this job meet for the run called `name` (None outside a job)."""
    job = job_id()
    if job is None:
        return None
    with _opened_lock:
        nth = _opened.get(name, 0)
        _opened[name] = nth + 1
    key = hashlib.sha256(f"{job}\0{name}\0{nth}".encode()).hexdigest()[:20]
    return root / SPECWEAVE_DIR / CACHE_DIR / RANKS_DIR / key


def _usable_claim(claim: dict[str, Any]) -> bool:
    """A claim by a live rank 0 of this job, not one left by an earlier job with the same id."""
    if claim.get("ended"):
        return False
    if claim.get("host") == _HOST and isinstance(claim.get("pid"), int) and not pid_alive(claim["pid"]):
        return False
    return time.time() - float(claim.get("created", 0)) < 24 * 3600


def wait_for_run(meet: Path, timeout: float = CLAIM_WAIT_S) -> Path | None:
    """The shared run's folder once rank 0 has claimed it, or None after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    delay = 0.02
    while True:
        claim = _read(meet / "run.json")
        if claim is not None and _usable_claim(claim):
            folder = Path(claim.get("folder", ""))
            if folder.is_dir():
                return folder
        if time.monotonic() >= deadline:
            return None
        time.sleep(delay)
        delay = min(delay * 1.5, 0.5)


def _system_key(rank: int, key: str) -> str:
    return f"system/{_HOST}/rank{rank}/{key.removeprefix('system/')}"


class InactiveExperiment(Experiment):
    """What `track_experiment` returns on a rank that does not write: every call returns at once.

    A subclass of `Experiment` so that type checks and `with` work alike; no file is read or written.
    """

    def __init__(self, name: str = "", rank: int = 0, world_size: int = 1) -> None:  # no folder, no threads
        self._inactive_name = name
        self.rank = rank
        self.world_size = world_size
        self._inactive_status = "running"

    id = None  # type: ignore[assignment]
    path = None  # type: ignore[assignment]
    root = None  # type: ignore[assignment]
    increment = None  # type: ignore[assignment]
    metadata = None  # type: ignore[assignment]

    @property
    def name(self) -> str:
        return self._inactive_name

    @property
    def status(self) -> str:
        return self._inactive_status

    @property
    def params(self) -> dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        return f"<InactiveExperiment {self._inactive_name!r} on rank {self.rank} of {self.world_size}>"

    def log_param(self, key: str, value: Any) -> None:
        return None

    def log_params(self, params: dict[str, Any]) -> None:
        return None

    def log_metric(self, key: str, value: float, step: int | None = None) -> None:
        return None

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        return None

    def save_model(self, model: Any, filename: str = "model.pkl", *,  # type: ignore[override]
                   in_git: bool | None = None) -> None:
        return None

    def save_artifact(self, name: str, obj: Any, *, in_git: bool | None = None) -> None:  # type: ignore[override]
        return None

    def log_dataset(self, name: str, source: Any) -> None:  # type: ignore[override]
        return None

    def log_note(self, text: str) -> None:
        return None

    def add_tag(self, tag: str) -> None:
        return None

    def remove_tag(self, tag: str) -> None:
        return None

    def set_description(self, text: str) -> None:
        return None

    def set_status(self, status: str) -> None:
        return None

    def set_fields(self, **fields: Any) -> None:
        return None

    def flush(self) -> None:
        return None

    def __enter__(self) -> InactiveExperiment:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> bool:
        self.end("completed" if exc is None else "failed")
        return False

    def end(self, status: str = "completed", note: str | None = None) -> None:
        self._inactive_status = status

    finish = end


class RankMember(InactiveExperiment):
    """A non-zero rank of a `ranks="all"` run: params and metrics belong to rank 0, so those calls do
    nothing here; this rank adds its system metrics to the shared log, keeps a heartbeat for rank 0 to
    watch, and writes its own failure into the run's notes."""

    def __init__(self, name: str, rank: int, world_size: int, folder: Path, meet: Path,
                 system_metrics: float | None) -> None:
        super().__init__(name, rank, world_size)
        self.path = folder  # type: ignore[misc]
        self._meet = meet
        self._file = meet / f"rank-{rank}.json"
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._latest: dict[str, float] = {}
        self._ended = False
        self._stop = threading.Event()
        self._beat("running")
        self._beater = threading.Thread(target=self._beat_loop, name=f"specweave-rank{rank}", daemon=True)
        self._beater.start()
        self._sampler = None
        if system_metrics is not None:
            self._sampler = SystemMetricsThread(self._append_samples, system_metrics, f"rank{rank}").start()
        atexit.register(self._at_exit)

    def __repr__(self) -> str:
        return f"<RankMember rank {self.rank} of {self.world_size} in {self.path}>"

    def _beat(self, state: str, **extra: Any) -> None:
        record = {"rank": self.rank, "host": _HOST, "pid": os.getpid(), "state": state, "heartbeat": time.time(),
                  "latest": dict(self._latest), **extra}
        try:
            atomic_write(self._file, dumps_json(record))
        except OSError:  # the heartbeat is advisory; rank 0 falls back to the pid and the clock
            pass

    def _beat_loop(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            with self._lock:
                if not self._ended:
                    self._beat("running")

    def _append_samples(self, values: dict[str, float], step: int) -> None:
        points, names = [], {}
        with self._lock:
            ts = time.time()
            for key, value in values.items():
                labelled = _system_key(self.rank, key)
                self._latest[labelled] = value
                names[labelled] = json.dumps(labelled)
                points.append((labelled, float(value), step, ts))
            data = point_lines(points, names).encode("utf-8")
            try:
                self._append_live(data)
            except Exception:  # a sample lost to a full disk or a removed run never hurts training
                pass

    def _append_live(self, data: bytes) -> None:
        """Append whole lines to the run's live log, under the lock its settling takes, to the file that is
        the live log now: once rank 0 (or a reader) has settled the log, the file this rank had open is gone
        from the folder, and a write to it would be lost; a fresh live log is made instead, which the next
        settle (this rank's own end, or the next read) adds to the stored one."""
        live = self.path / METRICS_LOG_FILE
        with file_lock(live):
            if self._fd is not None:
                try:
                    now = os.stat(live, follow_symlinks=False)
                    mine = os.fstat(self._fd)
                    current = (now.st_ino, now.st_dev) == (mine.st_ino, mine.st_dev)
                except FileNotFoundError:
                    current = False
                if not current:
                    os.close(self._fd)
                    self._fd = None
            if self._fd is None:
                ensure_log_ignored(self.path)  # rank 0 made it already, unless it never wrote a point
                self._fd = open_nofollow(live, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
            append_whole(self._fd, data, os.fstat(self._fd).st_size)  # one write: never interleaved

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> bool:
        if exc is None:
            self.end()
        else:
            detail = "".join(traceback.format_exception(exc_type, exc, tb)).rstrip()
            self.end("killed" if isinstance(exc, KeyboardInterrupt) else "failed",
                     note=f"rank {self.rank} on {_HOST} FAILED: {exc_type.__name__}: {exc}\n{detail}")
        return False

    def end(self, status: str = "completed", note: str | None = None) -> None:
        sampler, self._sampler = self._sampler, None
        if sampler is not None:
            sampler.stop()
        self._stop.set()
        with self._lock:
            if self._ended:
                return
            self._ended = True
            self._inactive_status = status
            if note:
                stamped = Note(ts=datetime.now(timezone.utc), text=note[:20_000])
                try:
                    update_meta(self.path, lambda meta: meta.notes.append(stamped))
                except Exception:  # rank 0 still learns the state from the rank file
                    pass
            self._beat(status, ended=_now_iso())
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
        self._after_rank_zero(status)

    finish = end

    def _after_rank_zero(self, status: str) -> None:
        """This rank ended after rank 0 had ended the run (rank 0 waits a few seconds for the others, and
        a slower rank can miss that): rank 0 saw this rank running, so this rank finishes its own part, in
        the order that loses nothing. Its state is written above before the claim is read here, and rank 0
        marks the claim ended before its last look for a live log: one of the two always sees the other,
        so the points this rank wrote after rank 0's settle are settled by one of them."""
        claim = _read(self._meet / "run.json") or {}
        if not claim.get("ended"):
            return  # rank 0 is still open: its end settles the log and reads this rank's state
        try:
            settle_late_points(self.path)
            _merge_latest(self.path, dict(self._latest), prefer_new=True)
            failed = status in ("failed", "killed")

            def record(meta: Any) -> None:
                shared = dict(getattr(meta, "distributed", None) or {})
                shared["rank_states"] = {**(shared.get("rank_states") or {}), str(self.rank): status}
                meta.distributed = shared
                if failed:
                    meta.status = "failed"

            update_meta(self.path, record)
        except Exception as exc:  # the next read settles a live log left here
            print(f"specweave: rank {self.rank} could not finish its part of {self.path.name} ({exc})",
                  file=sys.stderr)

    def _at_exit(self) -> None:
        from . import flusher

        self.end("failed" if flusher.uncaught else "completed")


class SharedRun(RunHooks):
    """Rank 0's side of a `ranks="all"` run: the hooks that make an ordinary run label its system metrics by
    rank and host, watch the other ranks' heartbeats, and record a rank that died."""

    def __init__(self, rank_info: RankInfo, meet: Path) -> None:
        self._info = rank_info
        self._world_size = rank_info.world_size
        # made before the run's folder, so a refusal leaves no run: never through a folder a clone committed
        # as a link
        self._meet = make_store_dirs(meet)
        self._reported: set[str] = set()
        self._last_watch = 0.0
        self._ended_members: dict[int, dict[str, Any]] = {}

    def system_key(self, key: str) -> str:
        return _system_key(0, key)

    def on_open(self, exp: Experiment) -> None:
        info = self._info
        exp.set_fields(distributed={"ranks": "all", "world_size": info.world_size,
                                    "rank_source": info.source, "hosts": {"0": _HOST}})
        claim = {"folder": str(exp.path), "id": exp.id, "host": _HOST, "pid": os.getpid(), "created": time.time()}
        atomic_write(self._meet / "run.json", dumps_json(claim))

    def _members(self) -> dict[int, dict[str, Any]]:
        found = {}
        for rank in range(1, self._world_size):
            record = _read(self._meet / f"rank-{rank}.json")
            if record is not None:
                found[rank] = record
        return found

    @staticmethod
    def _dead(record: dict[str, Any]) -> bool:
        if record.get("state") != "running":
            return False
        if record.get("host") == _HOST and isinstance(record.get("pid"), int):
            return not pid_alive(record["pid"])
        return time.time() - float(record.get("heartbeat", 0)) > DEAD_AFTER_S

    def _watch(self, exp: Experiment) -> list[str]:
        """Note each rank that died or failed, once; the notes written."""
        written = []
        for rank, record in self._members().items():
            state = record.get("state")
            if self._dead(record):
                what = died_note(rank, record.get("host"), record.get("pid"))
            elif state in ("failed", "killed"):
                what = f"rank {rank} on {record.get('host')} ended {state}"
            else:
                continue
            if what not in self._reported:
                self._reported.add(what)
                exp.log_note(what)
                written.append(what)
        return written

    def on_tick(self, exp: Experiment) -> None:
        now = time.monotonic()
        if now - self._last_watch >= HEARTBEAT_S:
            self._last_watch = now
            try:
                self._watch(exp)
            except Exception:  # watching is best effort; the end checks again
                pass

    def before_end(self, exp: Experiment, status: str, note: str | None) -> tuple[str, str | None]:
        deadline = time.monotonic() + END_WAIT_S  # let ranks still finishing their last sample end too
        while time.monotonic() < deadline:
            members = self._members()
            if all(r.get("state") != "running" or self._dead(r) for r in members.values()):
                break
            time.sleep(0.05)
        try:
            self._watch(exp)
        except Exception:
            pass
        members = self._members()
        hosts = {"0": _HOST, **{str(r): m.get("host") for r, m in members.items()}}
        states = {str(r): ("died" if self._dead(m) else m.get("state")) for r, m in members.items()}
        # the pids let a later read on a rank's host tell a rank still running from one killed since
        pids = {str(r): m.get("pid") for r, m in members.items() if states[str(r)] == "running"}
        exp.set_fields(distributed={"ranks": "all", "world_size": self._world_size, "hosts": hosts,
                                    "rank_states": states, **({"pids": pids} if pids else {})})
        self._ended_members = members
        if self._reported and status == "completed":
            status = "failed"
            note = note or "a rank of this run died or failed (see the notes above)"
        return status, note

    def after_end(self, exp: Experiment) -> None:
        """The run is ended and its log settled: say so in the claim (a rank still running then settles
        its own later points when it ends), merge the other ranks' last values, and settle again if a
        rank appended between rank 0's settle and the claim's mark."""
        try:
            claim = _read(self._meet / "run.json") or {}
            atomic_write(self._meet / "run.json", dumps_json({**claim, "ended": _now_iso()}))
            extra = {k: v for m in self._ended_members.values() for k, v in (m.get("latest") or {}).items()}
            _merge_latest(exp.path, extra, prefer_new=False)
            settle_late_points(exp.path)
        except Exception as exc:  # a live log left here is settled by the next read
            print(f"specweave: could not finish the shared run {exp.id} ({exc})", file=sys.stderr)


def settle_late_points(folder: Path) -> None:
    """Settle a live log that appeared after the run's own settle (a rank's points written later); the
    settle adds them to the log already stored, and rewrites the summary from both."""
    from ..storage.run_summary import settle

    if os.path.lexists(folder / METRICS_LOG_FILE) and os.path.lexists(folder / LOG_MARKER):
        settle(folder)


def _merge_latest(folder: Path, values: dict[str, float], *, prefer_new: bool) -> None:
    """Last values of other ranks' system metrics into metrics.json, under its lock (rank 0 and a late
    rank may both merge). `prefer_new`: the values given replace those in the file (a rank's own later
    values); else the file's win (rank 0's older copy of them)."""
    if not values:
        return
    path = folder / METRICS_FILE
    with file_lock(path):
        summary = _read(path) or {}
        merged = {**summary, **values} if prefer_new else {**values, **summary}
        if merged != summary:
            atomic_write(path, dumps_json(merged))


def interval_for_all(system_metrics: bool | float | None) -> float | None:
    """ranks="all" samples system metrics unless told not to: that is what each rank adds."""
    interval = resolve_interval(system_metrics)
    if interval is None and system_metrics is None:
        return DEFAULT_INTERVAL_S
    return interval


def inactive(name: str, info: RankInfo) -> InactiveExperiment:
    _say_once("inactive", f"rank {info.rank} of {info.world_size} does not write a run (only rank 0 does; "
                          f'track_experiment(..., ranks="all") shares one run among all ranks)')
    return InactiveExperiment(name, info.rank, info.world_size)


def join(root: Path, name: str, info: RankInfo, system_metrics: bool | float | None) -> InactiveExperiment:
    """A non-zero rank of a ranks="all" run: wait for rank 0's claim and join it."""
    meet = claim_dir(root, name)
    folder = wait_for_run(meet) if meet is not None else None
    if meet is None or folder is None:
        why = "no job id in the environment (set SPECWEAVE_JOB_ID)" if meet is None else \
            f"rank 0 did not create the run within {CLAIM_WAIT_S:g} s"
        _say_once("join", f"rank {info.rank} cannot join the shared run ({why}); this rank does not write")
        return InactiveExperiment(name, info.rank, info.world_size)
    return RankMember(name, info.rank, info.world_size, folder, meet, interval_for_all(system_metrics))
