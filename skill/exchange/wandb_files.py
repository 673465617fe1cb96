"""Weights & Biases run folders (offline or synced), read from their `.wandb` record files.

A run folder (`wandb/offline-run-<time>-<id>/` or `wandb/run-<time>-<id>/`) holds
`run-<id>.wandb`: W&B's protobuf `Record`s (`wandb.proto.wandb_internal_pb2`) in
the LevelDB log framing, after a 7-byte header (`:W&B`, a 16-bit magic, a
version byte). wandb 0.20 and later read these files in their Go core only, so
the framing is read here (blocks of 32 KiB, each record a 7-byte header: CRC-32
of type and data, length, type FULL/FIRST/MIDDLE/LAST) and every record is
parsed by wandb's own protobuf classes.

Mapping: the W&B project is the group (an increment named after it), the run's
display name its name; config (run record and config updates, nested dicts
flattened to `a.b`) the params; tags the tags, the W&B group and job type the tags
`wandb.group=<g>` and `wandb.job_type=<t>`; a W&B group also a parent run (named after it, written
before its first member) whose children are its members; notes the description; history rows
the points (keys below `_` left out, nested keys joined with `/`, step `_step`,
time `_timestamp`); system stats the `system/<name>` points; summary-only
numbers one point each; the exit code the status; `files/` the artifacts.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import zlib
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import InvalidInput, NotFound
from ..extras import require
from ..schemas.sources import DamagedRun, Point, Reader, SourceRun
from .artifact_files import local_artifacts

_HEADER = struct.Struct("<4sHB")
_IDENT, _MAGIC = b":W&B", 0xBEE1
_RECORD = struct.Struct("<IHB")
_BLOCK = 32768
_FULL, _FIRST, _MIDDLE, _LAST = 1, 2, 3, 4


class DamagedRecord(ValueError):
    pass


def records(path: Path) -> Iterator[bytes]:
    """The records of a `.wandb` file, in order, read a block at a time. A record cut at the end (a run
    killed mid-write) ends the file; a bad checksum or framing before that is a DamagedRecord."""
    with open(path, "rb") as handle:
        head = handle.read(_HEADER.size)
        if len(head) < _HEADER.size or _HEADER.unpack(head)[:2] != (_IDENT, _MAGIC):
            raise DamagedRecord(f"{path.name}: not a W&B record file (no ':W&B' header)")
        offset = _HEADER.size
        block = head + handle.read(_BLOCK - _HEADER.size)
        parts: list[bytes] = []
        while True:
            pos = offset % _BLOCK
            if _BLOCK - pos < _RECORD.size:  # the block's zero trailer: the next record starts a block
                block = handle.read(_BLOCK)
                offset += _BLOCK - pos
                if not block:
                    return
                continue
            if pos + _RECORD.size > len(block):
                return  # end of file (or a header cut by a kill)
            crc, length, kind = _RECORD.unpack_from(block, pos)
            if kind == 0 and length == 0 and crc == 0:
                return  # zero padding at the end of a preallocated file
            data = block[pos + _RECORD.size: pos + _RECORD.size + length]
            if len(data) < length:
                return  # the last record was cut
            if zlib.crc32(data, zlib.crc32(bytes((kind,)))) & 0xFFFFFFFF != crc:
                raise DamagedRecord(f"{path.name}: bad checksum at byte {offset}")
            offset += _RECORD.size + length
            if kind == _FULL:
                yield data
            elif kind == _FIRST:
                parts = [data]
            elif kind == _MIDDLE:
                parts.append(data)
            elif kind == _LAST:
                parts.append(data)
                yield b"".join(parts)
                parts = []
            else:
                raise DamagedRecord(f"{path.name}: unknown record type {kind} at byte {offset}")
            if offset % _BLOCK == 0:
                block = handle.read(_BLOCK)
                if not block:
                    return


def _item_key(item: Any) -> str:
    nested = getattr(item, "nested_key", None)  # stats items have a plain key only
    return "/".join(nested) if nested else item.key


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        if isinstance(value, str) and value in ("NaN", "Infinity", "-Infinity", "nan", "inf", "-inf"):
            return float(value)
        return None
    return float(value)


def _timestamp(ts: Any) -> datetime | None:
    if ts is None or not (ts.seconds or ts.nanos):
        return None
    return datetime.fromtimestamp(ts.seconds + ts.nanos / 1e9, timezone.utc)


def _run_files(source: Path) -> list[Path]:
    """`.wandb` files of the run folders at or under `source` (the run folder, `wandb/`, or the folder holding
    it); links (`latest-run`) are not followed, so each run is found once."""
    found: list[Path] = []
    for pattern in ("*.wandb", "*/*.wandb", "wandb/*/*.wandb"):
        for path in sorted(source.glob(pattern)):
            if path.is_file() and not path.is_symlink() and not path.parent.is_symlink():
                found.append(path)
        if found:
            return found
    return found


class WandbReader(Reader):
    """Runs of W&B run folders."""

    kind = "wandb"

    def __init__(self, source: str, project: str | None = None):
        self.pb = require("wandb.proto.wandb_internal_pb2", "wandb")
        folder = Path(source).expanduser()
        if not folder.is_dir():
            raise InvalidInput("W&B source", source, "an existing folder: a run folder, wandb/, or the folder "
                               "holding wandb/")
        self.files = _run_files(folder)
        if not self.files:
            raise InvalidInput("W&B source", source, "a folder with W&B run folders (run-<id>.wandb files)")
        # Runs are named by the folder that holds the run folders, however the source was given.
        self.location = str(self.files[0].parent.parent.resolve())
        self.project = project
        self._summary_only: dict[str, dict[str, float]] = {}
        self._file_of: dict[str, Path] = {}

    def _parse(self, data: bytes) -> Any:
        record = self.pb.Record()
        record.ParseFromString(data)
        return record

    def runs(self) -> Iterator[SourceRun | DamagedRun]:
        matched = 0
        groups: set[str] = set()
        for path in self.files:
            try:
                run = self._read_run(path)
            except (DamagedRecord, OSError, ValueError) as exc:
                yield DamagedRun(run_id=path.parent.name, name=path.parent.name, problem=str(exc))
                continue
            if run is None:
                yield DamagedRun(run_id=path.parent.name, name=path.parent.name,
                                 problem=f"{path.name}: no run record")
                continue
            if self.project is not None and run.group != self.project:
                continue
            matched += 1
            group = run.extra.get("wandb_group")
            if group:  # a W&B group is a parent run, written before its first member
                parent = group_run(run, str(group))
                if parent.run_id not in groups:
                    groups.add(parent.run_id)
                    yield parent
                run.parent_run_id = parent.run_id
            yield run
        if self.project is not None and not matched:
            raise NotFound("W&B project", self.project, [])

    def _read_run(self, path: Path) -> SourceRun | None:
        """One pass over the records for everything but the points: run, config, summary, exit, files."""
        run_record = None
        config: dict[str, Any] = {}
        summary: dict[str, Any] = {}
        history_keys: set[str] = set()
        exit_code: int | None = None
        runtime: float | None = None
        last_ts: float | None = None
        for data in records(path):
            record = self._parse(data)
            kind = record.WhichOneof("record_type")
            if kind == "history":
                for item in record.history.item:
                    key = _item_key(item)
                    if key == "_timestamp":
                        last_ts = _number(_json(item.value_json)) or last_ts
                    elif not key.startswith("_"):
                        history_keys.add(key)
            elif kind == "run":
                run_record = record.run
                for item in record.run.config.update:
                    config[_item_key(item)] = _json(item.value_json)
            elif kind == "config":
                for item in record.config.update:
                    config[_item_key(item)] = _json(item.value_json)
                for item in record.config.remove:
                    config.pop(_item_key(item), None)
            elif kind == "summary":
                for item in record.summary.update:
                    summary[_item_key(item)] = _json(item.value_json)
            elif kind == "exit":
                exit_code, runtime = record.exit.exit_code, record.exit.runtime or None
        if run_record is None:
            return None
        st = path.stat()
        files = path.parent / "files"
        listing = sorted((p.name, p.stat().st_size) for p in files.iterdir()) if files.is_dir() else []
        fingerprint = hashlib.sha256(f"{st.st_size}:{st.st_mtime_ns}:{listing}".encode()).hexdigest()[:16]
        run_id = run_record.run_id
        started = _timestamp(run_record.start_time)
        ended = None
        if runtime and started:
            ended = datetime.fromtimestamp(started.timestamp() + runtime, timezone.utc)
        elif last_ts:
            ended = datetime.fromtimestamp(last_ts, timezone.utc)
        status, notes = "completed", []
        if exit_code is None:
            status, notes = "killed", ["the W&B run has no exit record: it was interrupted"]
        elif exit_code != 0:
            status, notes = "failed", [f"W&B run finished with exit code {exit_code}"]
        config = {k: v for k, v in config.items() if not k.startswith("_")}
        self._summary_only[run_id] = {k: n for k, v in summary.items()
                                      if not k.startswith("_") and k not in history_keys
                                      and (n := _number(v)) is not None}
        self._file_of[run_id] = path
        tags = list(run_record.tags)
        if run_record.run_group:
            tags.append(f"wandb.group={run_record.run_group}")
        if run_record.job_type:
            tags.append(f"wandb.job_type={run_record.job_type}")
        return SourceRun(
            run_id=run_id, name=run_record.display_name or run_id, group=run_record.project or "wandb",
            params=config, tags=tags, description=run_record.notes, notes=notes, status=status,  # type: ignore[arg-type]
            started=started, ended=ended, git_commit=run_record.git.commit or None,
            fingerprint=fingerprint,
            extra={"wandb_run_id": run_id, "wandb_project": run_record.project, "wandb_group": run_record.run_group,
                   "wandb_folder": path.parent.name},
        )

    def points(self, run: SourceRun) -> Iterator[Point]:
        """History rows and system stats in file order, then the summary-only numbers (at the last step)."""
        if run.run_id.startswith(GROUP_PREFIX):  # a group's parent run logged nothing of its own
            return
        path = self._file_of[run.run_id]
        last_step, last_ts = 0, run.started.timestamp() if run.started else 0.0
        stats = 0
        for data in records(path):
            record = self._parse(data)
            kind = record.WhichOneof("record_type")
            if kind == "history":
                values: list[tuple[str, float]] = []
                step, ts = record.history.step.num, None
                for item in record.history.item:
                    key = _item_key(item)
                    if key == "_step":
                        step = int(_number(_json(item.value_json)) or 0)
                    elif key == "_timestamp":
                        ts = _number(_json(item.value_json))
                    elif not key.startswith("_"):
                        number = _number(_json(item.value_json))
                        if number is not None:
                            values.append((key, number))
                        elif isinstance(value := _json(item.value_json), dict):
                            values.extend((f"{key}/{k}", n) for k, v in _flat(value).items()
                                          if (n := _number(v)) is not None)
                ts = ts if ts is not None else last_ts
                last_step, last_ts = step, ts
                for key, number in values:
                    yield key, step, number, ts
            elif kind == "stats":
                ts = record.stats.timestamp.seconds + record.stats.timestamp.nanos / 1e9
                for item in record.stats.item:
                    number = _number(_json(item.value_json))
                    if number is not None:
                        yield f"system/{_item_key(item)}", stats, number, ts
                stats += 1
        end = run.ended.timestamp() if run.ended else last_ts
        for key, number in sorted(self._summary_only.get(run.run_id, {}).items()):
            yield key, last_step, number, end

    def artifacts(self, run: SourceRun, scratch: Path) -> Iterator[tuple[str, Path]]:
        """The run's `files/`. `wandb.save` puts a link there to the file it saved: such a link is followed
        only to a regular file inside the folder that holds `wandb/` (the project it ran in), never out of it."""
        if run.run_id.startswith(GROUP_PREFIX):
            return
        folder = self._file_of[run.run_id].parent / "files"
        if not folder.is_dir() or folder.is_symlink():
            return
        yield from local_artifacts(folder)
        fence = Path(self.location).parent
        for dirpath, dirs, files in os.walk(folder, followlinks=False):
            dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(dirpath, d))]
            for name in sorted(files):
                link = Path(dirpath) / name
                if not link.is_symlink():
                    continue
                target = link.resolve()
                if target.is_file() and fence in target.parents:
                    yield link.relative_to(folder).as_posix(), target


GROUP_PREFIX = "group:"


def group_run(member: SourceRun, group: str) -> SourceRun:
    """The parent run that stands for a W&B group (W&B's grouping of runs, as an MLflow parent holds its
    nested runs): named after the group, in the member's project, with nothing logged of its own."""
    project = member.extra.get("wandb_project") or member.group
    return SourceRun(run_id=f"{GROUP_PREFIX}{project}/{group}", name=group, group=member.group,
                     tags=[f"wandb.group={group}"], description=f"W&B group {group}", started=member.started,
                     fingerprint=f"group:{group}", extra={"wandb_project": project, "wandb_group": group})


def _flat(value: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A logged dict's leaves, keys joined with '/' (what W&B shows); W&B's media objects have `_type` and
    are left out."""
    out: dict[str, Any] = {}
    if "_type" in value:
        return out
    for key, inner in value.items():
        name = f"{prefix}/{key}" if prefix else str(key)
        if isinstance(inner, dict):
            out.update(_flat(inner, name))
        else:
            out[name] = inner
    return out


__all__ = ["DamagedRecord", "WandbReader", "records"]
