"""A rank of a shared (`ranks="all"`) run that died after rank 0 had ended the run.

Rank 0 waits a few seconds, as it ends, for the other ranks, and records each one's state in
`distributed.rank_states`, with its host and pid. A rank still running then finishes its own part when it
ends; one killed later never does, and its state would say `running` for ever. A read on the rank's host
finds its process gone and records what rank 0 would have: the state `died`, a note, and the run
`failed` (its live log is settled by the same read, as a crashed run's is). On another host the pid says
nothing, and the state is left as it is.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..schemas.records import ExperimentMeta, Note
from .liveness import pid_alive, this_host


def died_note(rank: Any, host: Any, pid: Any) -> str:
    """The note a dead rank gets, from rank 0's watch or from a later read."""
    return f"rank {rank} on {host} (pid {pid}) died without ending its run (killed, or its host lost)"


def _lost(meta: ExperimentMeta) -> list[tuple[str, str, int]]:
    shared = (meta.model_extra or {}).get("distributed")
    if not isinstance(shared, dict) or meta.status == "running":
        return []
    states, hosts, pids = (shared.get(k) if isinstance(shared.get(k), dict) else {}
                           for k in ("rank_states", "hosts", "pids"))
    here = this_host()
    # a rank is a small number: any other key (a clone's edit) is left alone, never copied into a note
    return [(rank, here, pids[rank]) for rank, state in states.items()
            if state == "running" and isinstance(rank, str) and rank.isascii() and rank.isdigit() and len(rank) < 8
            and hosts.get(rank) == here and type(pids.get(rank)) is int
            and pids[rank] > 0 and not pid_alive(pids[rank])]


def ranks_running(meta: ExperimentMeta) -> bool:
    """Whether an ended run still has a rank recorded as running: its record may change without its files
    changing (the rank dies), so a read cache must not keep it."""
    shared = (meta.model_extra or {}).get("distributed")
    states = shared.get("rank_states") if isinstance(shared, dict) else None
    return isinstance(states, dict) and "running" in states.values()


def has_lost_ranks(meta: ExperimentMeta) -> bool:
    """Whether a rank this run recorded as running is known dead here (a cheap check before any write)."""
    return bool(_lost(meta))


def record_lost_ranks(meta: ExperimentMeta) -> bool:
    """Mark each lost rank of `meta` dead (state, note, the run failed); False when there is none. Used as
    an `update_meta` change, under the run's lock, and on the reader's own picture."""
    lost = _lost(meta)
    if not lost:
        return False
    shared = dict(meta.model_extra["distributed"])  # type: ignore[index]
    shared["rank_states"] = {**shared["rank_states"], **{rank: "died" for rank, _, _ in lost}}
    meta.distributed = shared  # type: ignore[attr-defined]
    now = datetime.now(timezone.utc)
    meta.notes.extend(Note(ts=now, text=died_note(rank, host, pid)) for rank, host, pid in lost)
    if meta.status == "completed":
        meta.status = "failed"
    return True


def settle_lost_ranks(folder: Path, meta: ExperimentMeta) -> None:
    """Write the lost ranks of the run in `folder` into its metadata.yaml, and into `meta` as read."""
    from .metafile import update_meta

    from ..errors import DamagedFile, UnsafePath

    if not has_lost_ranks(meta):
        return
    try:
        update_meta(folder, record_lost_ranks)
    except (OSError, DamagedFile, UnsafePath):
        pass  # a read-only checkout: the view still says what happened
    record_lost_ranks(meta)


__all__ = ["died_note", "has_lost_ranks", "ranks_running", "record_lost_ranks", "settle_lost_ranks"]
