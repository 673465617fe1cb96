"""metadata.yaml's one writer: every change is a read-modify-write under the experiment's lock.

Why a lock around read-modify-write (and not an edit log merged on read): the
file stays the one plain document people read and diff, readers need no merge
step, and the writers are few and rare (a note, a tag, a heartbeat every ten
seconds). Each change is a function applied to the newest picture on disk, so
a training process that heartbeats while `sw-ml add-note` runs, or ten
`add-note`s at once, all land: nobody writes an older picture over a newer one.

A writer that already knows the file (the running experiment, which wrote it
last) skips the re-read when the file's identity (inode, size, mtime, ctime) is
the one it left; every other writer's rename gives the file a new inode.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

from pydantic import ValidationError

from ..errors import DamagedFile, UnsafePath
from ..layout import METADATA_FILE
from ..schemas.records import ExperimentMeta
from .atomic_writes import atomic_write
from .bounded_parsing import read_yaml
from .encoding import dumps_yaml
from .environments import SHARED_FIELDS
from .locks import file_lock
from .save_journal import settle_saves
from .signatures import Identity, file_identity

Change = Callable[[ExperimentMeta], None]


def check_folder(folder: Path) -> None:
    """Refuse to write into an experiment folder that is a link (a cloned repository can carry one)."""
    if folder.is_symlink():
        raise UnsafePath(folder.name, "the experiments folder (the experiment's folder is a symbolic link)")
    if (folder / METADATA_FILE).is_symlink():
        raise DamagedFile(str(folder / METADATA_FILE), "is a symbolic link; refusing to follow or replace it")


def read_meta(folder: Path) -> ExperimentMeta:
    """The experiment's metadata, strictly: DamagedFile when missing, unreadable or off-schema."""
    path = folder / METADATA_FILE
    try:
        return ExperimentMeta.model_validate(read_yaml(path))
    except FileNotFoundError:
        raise DamagedFile(str(path), "missing; refusing to edit an experiment without metadata") from None
    except ValidationError as exc:
        raise DamagedFile(str(path), f"does not match the schema ({exc.errors()[0]['msg']})") from None


def _working_copy(meta: ExperimentMeta) -> ExperimentMeta:
    """A copy that a change may edit without touching `meta`: the containers changes edit in place
    (tags, notes, artifacts, git) are copied; the rest, the package list above all, is only ever
    replaced, so it is shared rather than deep-copied on every heartbeat."""
    copy = meta.model_copy()
    copy.tags, copy.notes, copy.artifacts = list(meta.tags), list(meta.notes), list(meta.artifacts)
    copy.git = meta.git.model_copy()
    return copy


_EMPTY_KINDS = (str, list, dict)


def _pruned(value: object) -> object:
    """`value` without the empty entries of its mappings (None, '', [], {}), recursively: a field that
    says nothing costs a line in every run's file and in every diff; reading fills in the default."""
    kind = type(value)
    if kind is dict:
        out = {}
        for key, item in value.items():  # type: ignore[attr-defined]
            item = _pruned(item)
            if item is None or (not item and type(item) in _EMPTY_KINDS):
                continue
            out[key] = item
        return out
    if kind is list:
        return [_pruned(v) for v in value]  # type: ignore[attr-defined]
    return value


def render_meta(meta: ExperimentMeta) -> str:
    """metadata.yaml's text: the fields that say something (empty ones are left out; the schema's
    defaults read them back). A schema-2 run names its environment by hash: the shared fields live
    in that file, never copied here (a version-1 file keeps them inline, as it was written)."""
    exclude = set(SHARED_FIELDS) if meta.environment else set()
    return dumps_yaml(_pruned(meta.model_dump(mode="json", exclude=exclude)))


def update_meta(
    folder: Path,
    change: Change,
    *,
    known: tuple[ExperimentMeta, Identity | None] | None = None,
    render: Callable[[ExperimentMeta], str] = render_meta,
    on_damage: Callable[[DamagedFile], ExperimentMeta] | None = None,
) -> tuple[ExperimentMeta, Identity | None]:
    """Apply `change` to the newest metadata.yaml of `folder` and write it; returns the new picture.

    `known` is a picture the caller holds with the file identity it was written at: used instead of a
    re-read while the file is still that one. An identity of None says the caller made the folder and
    has not written the file yet: while there is still no file, its picture is the first one (no read,
    and no save can have been left half-way in a folder nobody else knew of). A file that does not
    parse is refused (DamagedFile), so a person's broken hand edit is never destroyed, unless
    `on_damage` says what to write instead.
    A `change` that returns False leaves the file untouched.
    """
    check_folder(folder)
    path = folder / METADATA_FILE
    # The first write of a folder the caller made takes no lock: every other writer of metadata.yaml needs
    # the file to be there already (it reads it first, or refuses), so none can be writing beside it.
    maybe_first = known is not None and known[1] is None and file_identity(path) is None
    with nullcontext() if maybe_first else file_lock(path):
        current_id = None if maybe_first else file_identity(path)
        first = known is not None and known[1] is None and current_id is None
        if first or (known is not None and current_id is not None and known[1] == current_id):
            meta = _working_copy(known[0])
        else:
            try:
                meta = read_meta(folder)
            except DamagedFile as exc:
                if on_damage is None:
                    raise
                meta = on_damage(exc)
        # a save killed half-way is finished first
        settled = None if first else settle_saves(folder, meta.artifacts)
        if settled is not None:
            meta.artifacts = settled
        if change(meta) is False and settled is None:  # the change found nothing to do
            return meta, current_id
        atomic_write(path, render(meta))
        return meta, file_identity(path)


__all__ = ["check_folder", "read_meta", "render_meta", "update_meta"]
