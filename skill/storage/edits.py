"""Changes to an existing experiment: notes, tags, status, made by a person or an agent.

Notes, tags and the status of a run that is over are appended to the run's `edits.jsonl`, one JSON
object per line, never rewritten; readers fold them over metadata.yaml in time order. Why an
append-only record rather than a structured merge of metadata.yaml: `.specweave/.gitattributes` merges
the file by union, which git does by itself in every clone (a merge driver must be registered per clone,
and where it is not, git's text merge of metadata.yaml conflicts), and two clones' lines are both kept,
so two clones that each add a note and a tag to one run merge with no conflict and nothing lost. A
removed tag is an edit too, so a union cannot bring it back. A run still running is changed in its
metadata.yaml, under the experiment's lock, so that its writer keeps the change in its own picture
(`metafile.update_meta`); it exists in one clone only until it ends.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import DamagedFile, ReadOnly
from ..layout import EDITS_FILE, METADATA_FILE
from ..schemas.records import ArtifactInfo, ExperimentMeta, ExperimentRecord, Note
from .atomic_writes import append_whole
from .bounded_parsing import parse_jsonl
from .encoding import dumps_jsonl_record
from .locks import file_lock
from .metafile import check_folder, read_meta, update_meta
from .safe_reads import open_nofollow, read_text_nofollow
from .store_dirs import store_dir_of
from .validate import MAX_NOTE, validate_status, validate_tag, validate_text


def _append_edit(record: ExperimentRecord, edit: dict[str, Any]) -> None:
    """One edit line, appended whole (a full disk leaves no half line), merged by union in git."""
    from .gitfiles import ensure_merge_rules

    store = store_dir_of(record.path)
    if store is not None:
        ensure_merge_rules(store.parent)
    path = record.path / EDITS_FILE
    data = dumps_jsonl_record({"ts": datetime.now(timezone.utc).isoformat(), **edit}).encode("utf-8")
    with file_lock(path):
        fd = open_nofollow(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        try:
            append_whole(fd, data, os.fstat(fd).st_size)
        finally:
            os.close(fd)


def apply_edits(meta: ExperimentMeta, folder: Path) -> list[str]:
    """Fold the folder's edits.jsonl over `meta` (in time order); the damaged lines, as problem lines."""
    path = folder / EDITS_FILE
    try:
        text = read_text_nofollow(path)
    except FileNotFoundError:
        return []
    except (DamagedFile, OSError) as exc:
        return [f"{path}: {getattr(exc, 'problem', None) or exc}"]
    records, bad = parse_jsonl(path, text)
    problems = [f"{path}:{b.line}: {b.problem}" for b in bad]
    edits = []
    for number, edit in enumerate(records, 1):
        try:
            ts = datetime.fromisoformat(str(edit["ts"]).replace("Z", "+00:00"))
            if ts.tzinfo is None:
                ts = ts.replace(tzinfo=timezone.utc)
            edits.append((ts, number, edit))
        except (KeyError, ValueError, TypeError):
            problems.append(f"{path}: an edit without a valid ts")
    seen_notes = {(n.ts, n.text) for n in meta.notes}
    for ts, _number, edit in sorted(edits, key=lambda item: (item[0], item[1])):
        op = edit.get("op")
        try:
            if op == "note":
                text = validate_text("note", edit["text"], MAX_NOTE)
                if (ts, text) not in seen_notes:  # the same line merged in from two sides counts once
                    seen_notes.add((ts, text))
                    meta.notes.append(Note(ts=ts, text=text))
            elif op == "tags":
                removed = {validate_tag(t) for t in edit.get("remove", [])}
                tags = [t for t in meta.tags if t not in removed]
                tags.extend(t for t in map(validate_tag, edit.get("add", [])) if t not in tags)
                meta.tags = tags
            elif op == "status":
                meta.status = validate_status(edit["status"])  # type: ignore[assignment]
            else:
                problems.append(f"{path}: an edit of unknown kind {op!r}")
        except Exception as exc:  # noqa: BLE001 - a hand-edited line: reported, the rest still applies
            problems.append(f"{path}: a {op} edit is not valid ({exc.__class__.__name__})")
    meta.notes.sort(key=lambda n: n.ts)
    return problems


def _current(record: ExperimentRecord) -> ExperimentMeta:
    meta = read_meta(record.path)
    apply_edits(meta, record.path)
    return meta


def check_writable(record: ExperimentRecord) -> None:
    if record.meta is not None and record.meta.source != "specweave" and not (record.path / METADATA_FILE).exists():
        # a run kept by MLflow or W&B: its own tool owns it, we only read it
        raise ReadOnly(f"changing {record.id}", f"it is kept by {record.meta.source}; change it there")
    check_folder(record.path)  # a folder linked out of the store is never written through


def add_note(record: ExperimentRecord, text: str) -> Note:
    """Append a timestamped note (to edits.jsonl); returns the note as stored."""
    text = validate_text("note", text, MAX_NOTE)
    check_writable(record)
    note = Note(ts=datetime.now(timezone.utc), text=text)
    if read_meta(record.path).status == "running":  # its writer merges this into its own picture
        update_meta(record.path, lambda meta: meta.notes.append(note))
    else:
        _append_edit(record, {"op": "note", "text": text, "ts": note.ts.isoformat()})
    return note


def set_tags(record: ExperimentRecord, add: list[str] = (), remove: list[str] = ()) -> ExperimentMeta:  # type: ignore[assignment]
    """Add and remove tags (an edits.jsonl line); returns the new metadata. Unknown tags to remove are
    ignored, and a change that changes nothing writes nothing."""
    added = [validate_tag(t) for t in add]
    removed = {validate_tag(t) for t in remove}
    check_writable(record)
    meta = _current(record)
    if meta.status == "running":  # its writer merges this into its own picture
        def change(meta: ExperimentMeta) -> bool:
            tags = [t for t in meta.tags if t not in removed]
            tags.extend(t for t in added if t not in tags)
            if tags == meta.tags:
                return False
            meta.tags = tags
            return True

        return update_meta(record.path, change)[0]
    tags = [t for t in meta.tags if t not in removed]
    tags.extend(t for t in added if t not in tags)
    if tags == meta.tags:
        return meta
    _append_edit(record, {"op": "tags", "add": [t for t in added if t not in meta.tags],
                          "remove": sorted(t for t in removed if t in meta.tags)})
    meta.tags = tags
    return meta


def set_status(record: ExperimentRecord, status: str) -> ExperimentMeta:
    """A run that is over: an edits.jsonl line; a running one: metadata.yaml, which its writer keeps."""
    status = validate_status(status)
    check_writable(record)
    meta = _current(record)
    if meta.status == "running":
        return update_meta(record.path, lambda m: setattr(m, "status", status))[0]
    if meta.status != status:
        _append_edit(record, {"op": "status", "status": status})
        meta.status = status  # type: ignore[assignment]
    return meta


def record_artifact(record: ExperimentRecord, info: ArtifactInfo) -> ExperimentMeta:
    """Add (or replace, by name) an artifact's record in an ended experiment's metadata."""
    check_writable(record)

    def change(meta: ExperimentMeta) -> None:
        meta.artifacts = [a for a in meta.artifacts if a.name != info.name] + [info]

    return update_meta(record.path, change)[0]
