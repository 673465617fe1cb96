"""Small changes to an existing experiment's metadata: notes, tags, status.

Used by the CLI, the MCP tools and `log_decision`. Each edit is one change
applied by `metafile.update_meta` under the experiment's lock to the newest
metadata.yaml, so it survives a training process that is still writing the
same file and any number of edits at once. A file that does not parse is
refused rather than overwritten, so a person's hand edit is never destroyed.
"""

from __future__ import annotations

from datetime import datetime, timezone

from ..errors import ReadOnly
from ..layout import METADATA_FILE
from ..models import ArtifactInfo, ExperimentMeta, ExperimentRecord, Note
from .metafile import update_meta
from .validate import MAX_NOTE, validate_status, validate_tag, validate_text


def check_writable(record: ExperimentRecord) -> None:
    if record.meta is not None and record.meta.source != "specweave" and not (record.path / METADATA_FILE).exists():
        # a run kept by MLflow or W&B: its own tool owns it, we only read it
        raise ReadOnly(f"changing {record.id}", f"it is kept by {record.meta.source}; change it there")


def add_note(record: ExperimentRecord, text: str) -> Note:
    """Append a timestamped note; returns the note as stored."""
    text = validate_text("note", text, MAX_NOTE)
    check_writable(record)
    note = Note(ts=datetime.now(timezone.utc), text=text)
    update_meta(record.path, lambda meta: meta.notes.append(note))
    return note


def set_tags(record: ExperimentRecord, add: list[str] = (), remove: list[str] = ()) -> ExperimentMeta:  # type: ignore[assignment]
    """Add and remove tags; returns the new metadata. Unknown tags to remove are ignored."""
    added = [validate_tag(t) for t in add]
    removed = {validate_tag(t) for t in remove}
    check_writable(record)

    def change(meta: ExperimentMeta) -> bool:
        tags = [t for t in meta.tags if t not in removed]
        tags.extend(t for t in added if t not in tags)
        if tags == meta.tags:
            return False
        meta.tags = tags
        return True

    return update_meta(record.path, change)[0]


def set_status(record: ExperimentRecord, status: str) -> ExperimentMeta:
    status = validate_status(status)
    check_writable(record)
    return update_meta(record.path, lambda meta: setattr(meta, "status", status))[0]


def record_artifact(record: ExperimentRecord, info: ArtifactInfo) -> ExperimentMeta:
    """Add (or replace, by name) an artifact's record in an ended experiment's metadata."""
    check_writable(record)

    def change(meta: ExperimentMeta) -> None:
        meta.artifacts = [a for a in meta.artifacts if a.name != info.name] + [info]

    return update_meta(record.path, change)[0]
