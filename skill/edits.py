"""Small changes to an existing experiment's metadata: notes, tags, description, status.

Used by the CLI, the MCP tools and `log_decision`. Each edit re-reads
metadata.yaml, changes one thing and writes it back atomically; a file that
does not parse is refused rather than overwritten, so a person's hand edit is
never destroyed.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from pydantic import ValidationError

from .errors import DamagedFile, InvalidInput, ReadOnly
from .experiment import validate_status, validate_tag
from .fileio import atomic_write, dumps_yaml, read_yaml
from .layout import METADATA_FILE
from .models import ExperimentMeta, ExperimentRecord, Note

_MAX_NOTE = 100_000


def _load(folder: Path, record: ExperimentRecord | None = None) -> ExperimentMeta:
    if record is not None and record.meta is not None and record.meta.source not in ("specweave",) and \
            not (folder / METADATA_FILE).exists():
        # a run kept by MLflow or W&B: its own tool owns it, we only read it
        raise ReadOnly(f"changing {record.id}", f"it is kept by {record.meta.source}; change it there")
    path = folder / METADATA_FILE
    try:
        return ExperimentMeta.model_validate(read_yaml(path))
    except FileNotFoundError:
        raise DamagedFile(str(path), "missing; refusing to edit an experiment without metadata") from None
    except ValidationError as exc:
        raise DamagedFile(str(path), f"does not match the schema ({exc.errors()[0]['msg']})") from None


def _save(folder: Path, meta: ExperimentMeta) -> None:
    atomic_write(folder / METADATA_FILE, dumps_yaml(meta.model_dump(mode="json")))


def add_note(record: ExperimentRecord, text: str) -> ExperimentMeta:
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("note", text, "non-empty text")
    meta = _load(record.path, record)
    meta.notes.append(Note(ts=datetime.now(timezone.utc), text=text[:_MAX_NOTE]))
    _save(record.path, meta)
    return meta


def set_tags(record: ExperimentRecord, add: list[str] = (), remove: list[str] = ()) -> ExperimentMeta:  # type: ignore[assignment]
    """Add and remove tags; returns the new metadata. Unknown tags to remove are ignored."""
    added = [validate_tag(t) for t in add]
    removed = {validate_tag(t) for t in remove}
    meta = _load(record.path, record)
    tags = [t for t in meta.tags if t not in removed]
    tags.extend(t for t in added if t not in tags)
    if tags != meta.tags:
        meta.tags = tags
        _save(record.path, meta)
    return meta


def set_status(record: ExperimentRecord, status: str) -> ExperimentMeta:
    meta = _load(record.path, record)
    meta.status = validate_status(status)  # type: ignore[assignment]
    _save(record.path, meta)
    return meta


def set_description(record: ExperimentRecord, text: str) -> ExperimentMeta:
    meta = _load(record.path, record)
    meta.description = str(text)
    _save(record.path, meta)
    return meta
