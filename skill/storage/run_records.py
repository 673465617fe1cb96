"""Reading experiments back: one folder at a time, damage reported rather than fatal."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import AmbiguousReference, DamagedFile, InvalidInput, NotFound, UnsafePath, schema_problem
from ..layout import (
    EDITS_FILE,
    EXPERIMENTS_DIR,
    LOG_MARKER,
    METADATA_FILE,
    METRICS_FILE,
    METRICS_LOG_FILE,
    PARAMS_FILE,
    SPECWEAVE_DIR,
)
from ..schemas.records import ExperimentMeta, ExperimentRecord, Increment, MetricPoint, MetricSummary
from .bounded_parsing import load_yaml_text, read_json, read_yaml
from .encoding import decode_number
from .environments import fill_environment
from .experiment_folders import scan_experiments
from .external import external_records, find_external
from .external import metric_history as outside_points
from .ids import parse_dir
from .increments import list_increments, resolve_increment
from .index import cached_records
from .liveness import effective_status, this_host
from .metrics_log import read_log_tail, summarize
from .run_metrics import log_problems, log_summaries, read_metric_points, summarize_log
from .safe_reads import decode_utf8, read_bytes_nofollow
from .selection import apply_selection, with_selection
from .signatures import file_signature
from .yaml_subset import parse as parse_subset
from .yaml_subset import plain_str

_REF_RE = re.compile(r"^[a-z0-9][a-z0-9.-]*$")


def _folder_order(name: str) -> tuple[int, str, str]:
    parsed = parse_dir(name)
    return (parsed[0], parsed[2], name) if parsed else (0, "", name)


def experiment_names(increment: Increment) -> list[str]:
    """The increment's experiment folder names, by number then uid (no Path objects: lookups
    over thousands of folders only need the names). Symbolic links are left out."""
    return scan_experiments(increment.path / EXPERIMENTS_DIR)[0]


def experiment_dirs(increment: Increment) -> list[Path]:
    """The increment's experiment folders, by number then uid."""
    base = increment.path / EXPERIMENTS_DIR
    return [base / name for name in experiment_names(increment)]


def _rel(path: Path, root: Path | None) -> str:
    if root is None:
        return str(path)
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


_TAIL_BYTES = 65536
_PACKAGES_HEAD = "\npackages:\n"
_PACKAGE_LINE = re.compile(r"  ([A-Za-z0-9][A-Za-z0-9._-]*): (?:([A-Za-z0-9][A-Za-z0-9.+!_-]*)|'([^'\n]*)')")


def read_metadata(path: Path) -> Any:
    """metadata.yaml as data, with a fast path for the package list the tracker writes at its end.

    The package block is most of the file (hundreds of `name: version` lines)
    and most of the cost of a YAML parse. When it is the last block and every
    line has the simple form the writer emits, it is read line by line and
    only the rest goes through the YAML parser; anything else (a hand edit, an
    unusual name) takes the full, safe YAML parse. Both give the same data, and
    both are bounded (never through a link, at most MAX_READ_BYTES, aliases
    and nesting bounded): a hostile file is a DamagedFile.
    """
    text = decode_utf8(path, read_bytes_nofollow(path))
    data = parse_subset(text)  # what the tracker writes, read without building a YAML node graph
    if isinstance(data, dict):
        return data
    at = text.rfind(_PACKAGES_HEAD)
    if at < 0:
        return read_yaml(path)
    packages: dict[str, str] = {}
    for line in text[at + len(_PACKAGES_HEAD):].splitlines():
        match = _PACKAGE_LINE.fullmatch(line)
        if match is None or not plain_str(match[1]) or (match[2] is not None and not plain_str(match[2])):
            return read_yaml(path)
        packages[match[1]] = match[2] if match[2] is not None else match[3]
    try:
        data = load_yaml_text(text[: at + 1], path)
    except DamagedFile:
        return read_yaml(path)  # reports the damage with the parser's own words and line
    if not isinstance(data, dict) or "packages" in data:
        return read_yaml(path)
    data["packages"] = packages
    return data


_LINK = "is a symbolic link; refusing to follow it out of the store"
# A running or crashed run's numbers come from its point log; past this size only its end is read
# (on top of metrics.json, which the tracker rewrites every second), so a long run costs a list
# one small read, not a pass over millions of points.
RECENT_FULL_BYTES = 4 << 20
RECENT_TAIL_BYTES = 1 << 20


def _where(path: Path, root: Path | None, line: int | None) -> str:
    return f"{_rel(path, root)}{':' + str(line) if line else ''}"


def _damage(path: Path, root: Path | None, exc: DamagedFile | OSError) -> str:
    """The one-line problem of a file that could not be read."""
    if isinstance(exc, DamagedFile):
        return f"{_where(path, root, exc.line)}: {exc.problem}"
    return f"{_rel(path, root)}: cannot be read ({exc.strerror or exc})"


def _linked_record(folder: Path, increment_id: str, root: Path | None) -> ExperimentRecord:
    """A stand-in for an experiment folder that is a symbolic link: listed as damaged, never read."""
    number, slug, _uid = parse_dir(folder.name) or (0, folder.name, "")
    return ExperimentRecord(id=f"exp-{number:03d}-{slug}", dir=folder.name, increment=increment_id, name=slug,
                            status="crashed", path=folder, problems=[f"{_rel(folder, root)}: {_LINK}"])


def _recent_points(folder: Path, summary_ok: bool, status: str,
                   root: Path | None) -> tuple[list[MetricPoint], list[DamagedFile], list[tuple[int | None, str]]]:
    """Points to lay over metrics.json for a run that is running or crashed (or has no summary):
    the whole log when it is short, else its end (the summary is at most one flush behind it), or,
    without a summary, the last value of each metric from one streaming pass.
    Returns (points, damaged lines, checked problems) - a crashed run's log is checked whole."""
    sig = file_signature(folder / METRICS_LOG_FILE, regular=True)
    if sig is None or sig[0] <= RECENT_FULL_BYTES:
        points, bad = read_metric_points(folder)
        return points, bad, []
    if not summary_ok:
        summaries, bad = summarize_log(folder)
        return [MetricPoint.model_construct(key=k, value=s.last, step=s.last_step or 0, ts=0.0)
                for k, s in summaries.items()], bad, []
    points, bad = read_log_tail(folder, RECENT_TAIL_BYTES)
    if status == "running":
        return points, bad, []
    return points, [], log_problems(folder, root)  # it will not change any more: checked once, cached


def _settle_if_live(folder: Path, meta: ExperimentMeta, status: str) -> tuple[bool, list[str]]:
    """Schema 3: settle the live log of a run that is over (ended, or crashed on this host: its process
    is gone). Returns (True when no live log is left to read here, problem lines). Only a log its writer
    git-ignored (the run folder's `.gitignore`, written by schema 3) is ever moved: a version 1 or 2 log
    is in git and stays there until `sw-ml migrate`. A run crashed on another host may still be
    writing (its heartbeat is only late): its log is left alone."""
    from .run_summary import settle, summary_damage

    if not os.path.lexists(folder / METRICS_LOG_FILE):
        # a completed run's writer settled its own whole log (the live log never travels through git):
        # only a run that ended otherwise can have had damage to report
        return True, [] if status == "completed" else summary_damage(folder)
    if not os.path.lexists(folder / LOG_MARKER):
        return False, []
    if status == "crashed" and meta.host != this_host():
        return False, []
    try:
        settle(folder)
    except (OSError, DamagedFile, UnsafePath) as exc:
        return False, [f"{folder / METRICS_LOG_FILE}: not settled ({getattr(exc, 'strerror', None) or exc})"]
    return True, summary_damage(folder)


def load_experiment(folder: Path, increment_id: str, root: Path | None = None) -> ExperimentRecord:
    """Read one experiment folder. Damaged files become `problems`, never exceptions."""
    if folder.is_symlink():
        return _linked_record(folder, increment_id, root)
    problems: list[str] = []
    number, slug, _uid = parse_dir(folder.name) or (0, folder.name, "")
    meta: ExperimentMeta | None = None
    meta_path = folder / METADATA_FILE
    try:
        raw = read_metadata(meta_path)
        meta = ExperimentMeta.model_validate(raw)
        if os.path.lexists(folder / EDITS_FILE):  # notes, tags, status set after the run (merged by union)
            from .edits import apply_edits

            problems.extend(p if root is None else p.replace(str(root) + os.sep, "") for p in apply_edits(meta, folder))
        missing_env = fill_environment(meta, folder, root / SPECWEAVE_DIR if root else None)  # schema 2
        if missing_env:
            problems.append(missing_env if root is None else missing_env.replace(str(root) + os.sep, ""))
    except FileNotFoundError:
        problems.append(f"{_rel(meta_path, root)}: missing")
    except (DamagedFile, OSError) as exc:
        problems.append(_damage(meta_path, root, exc))
    except ValidationError as exc:
        problems.append(f"{_rel(meta_path, root)}: {schema_problem(exc)}")

    params: dict[str, Any] = {}
    params_path = folder / PARAMS_FILE
    try:
        loaded = read_json(params_path)
        if isinstance(loaded, dict):
            params = loaded
        else:
            problems.append(f"{_rel(params_path, root)}: not a JSON object")
    except FileNotFoundError:
        pass  # a run that logged no params yet, or is still starting
    except (DamagedFile, OSError) as exc:
        problems.append(_damage(params_path, root, exc))

    metrics: dict[str, Any] = {}
    metrics_path = folder / METRICS_FILE
    summary_ok = False
    try:
        loaded = read_json(metrics_path)
        if isinstance(loaded, dict):
            metrics = {k: decode_number(v) for k, v in loaded.items()}
            summary_ok = True
        else:
            problems.append(f"{_rel(metrics_path, root)}: not a JSON object")
    except FileNotFoundError:
        pass
    except (DamagedFile, OSError) as exc:
        problems.append(_damage(metrics_path, root, exc))
    if meta is not None and meta.status != "running" and meta.model_extra and "distributed" in meta.model_extra:
        from .dead_ranks import settle_lost_ranks

        settle_lost_ranks(folder, meta)  # a rank killed after rank 0 ended the run (ranks="all")
    status = effective_status(meta) if meta else "crashed"
    log = folder / METRICS_LOG_FILE
    settled = False
    if meta is not None and status != "running":
        settled, found = _settle_if_live(folder, meta, status)
        problems.extend(p if root is None else p.replace(str(root) + os.sep, "") for p in found)
    if settled:
        checked = []  # no log here, or settled into the object store: damage was noted in its summary
    elif not summary_ok or status in ("running", "crashed"):
        # The summary is written once a second; the point log may be ahead of it.
        points, bad_lines, checked = _recent_points(folder, summary_ok, status, root)
        for point in points:
            metrics[point.key] = point.value
        for bad in bad_lines:
            problems.append(f"{_where(Path(bad.path), root, bad.line)}: {bad.problem}")
    elif (meta is not None and meta.log_bytes is not None
          and (file_signature(log, regular=True) or (None,))[0] == meta.log_bytes):
        checked = []  # closed whole by its writer at this size, and not changed since: nothing to check
    else:
        checked = log_problems(folder, root)
    problems.extend(f"{_where(log, root, line)}: {problem}" for line, problem in checked)

    return ExperimentRecord(
        id=meta.id if meta else f"exp-{number:03d}-{slug}",
        dir=folder.name,
        increment=increment_id,
        name=meta.name if meta else slug,
        status=status,  # type: ignore[arg-type]
        path=folder,
        params=params,
        metrics=metrics,
        meta=meta,
        problems=problems,
    )


def increment_records(root: Path, inc: Increment) -> list[ExperimentRecord]:
    """Every experiment of a resolved increment (through the read cache), outside runs included.
    A folder that is a symbolic link is listed as damaged and never read."""
    names, linked = scan_experiments(inc.path / EXPERIMENTS_DIR)
    base = inc.path / EXPERIMENTS_DIR
    records = apply_selection(cached_records(root, inc, [base / name for name in names], load_experiment), base)
    records.extend(_linked_record(base / name, inc.id, root) for name in linked)
    records.extend(external_records(root, inc))
    return records


def all_records(root: Path) -> list[ExperimentRecord]:
    """Every experiment of every increment, oldest increment first (filtering and sorting are
    skill.analysis.listing's)."""
    records: list[ExperimentRecord] = []
    for inc in list_increments(root, details=False):
        records.extend(increment_records(root, inc))
    return records


def pipeline_order(records: list[ExperimentRecord]) -> list[tuple[ExperimentRecord, int]]:
    """Records with each pipeline or sweep as one unit: the parent, then its children (depth 1).

    Children follow their parent in stage order (then number); a child whose
    parent is not in the list stays where it was, at depth 0.
    """
    present = {(r.increment, r.id) for r in records}
    children: dict[tuple[str, str], list[ExperimentRecord]] = {}
    top: list[ExperimentRecord] = []
    for record in records:
        parent = record.meta.parent if record.meta else None
        if parent and (record.increment, parent) in present and parent != record.id:
            children.setdefault((record.increment, parent), []).append(record)
        else:
            top.append(record)
    out: list[tuple[ExperimentRecord, int]] = []

    def emit(record: ExperimentRecord, depth: int, seen: set[tuple[str, str]]) -> None:
        key = (record.increment, record.id)
        out.append((record, depth))
        if key in seen:
            return
        kids = children.get(key, [])
        kids.sort(key=lambda r: (r.meta.stage_order if r.meta and r.meta.stage_order is not None else 1 << 30))
        for kid in kids:
            emit(kid, min(depth + 1, 3), seen | {key})

    for record in top:
        emit(record, 0, set())
    placed = {id(r) for r, _ in out}
    out.extend((r, 0) for r in records if id(r) not in placed)  # cycles: never drop a record
    return out


def _match_in(names: list[str], ref: str) -> list[str]:
    """Exact folder name, then readable id, then `exp-NNN`, then slug."""
    if ref in names:
        return [ref]
    parsed = [(name, parse_dir(name)) for name in names]
    readable = [name for name, p in parsed if p and f"exp-{p[0]:03d}-{p[1]}" == ref]
    if readable:
        return readable
    number = re.fullmatch(r"(?:exp-)?(\d+)", ref)
    if number:
        wanted = int(number.group(1))
        return [name for name, p in parsed if p and p[0] == wanted]
    return [name for name, p in parsed if p and p[1] == ref]


def validate_experiment_ref(ref: object) -> str:
    if not isinstance(ref, str) or not ref.strip():
        raise InvalidInput("experiment reference", ref, "an id like 'exp-003', 'exp-003-xgboost' or a slug")
    ref = ref.strip()
    inc_part, _, exp_part = ref.rpartition("/")
    if not _REF_RE.match(exp_part) or ".." in exp_part:
        raise InvalidInput("experiment reference", ref, "an id like 'exp-003', 'exp-003-xgboost' or a slug")
    return ref


def _default_increment_id(root: Path) -> str | None:
    try:
        return resolve_increment(root, None).id
    except NotFound:
        return None


def match_records(records: list[ExperimentRecord], ref: str) -> list[ExperimentRecord]:
    """The records `ref` names, by the one rule every lookup uses: the folder name, the readable id,
    `exp-NNN` or `NNN`, the slug (all by `_match_in`), then the run's own id or name."""
    by_dir = {r.dir: r for r in records}
    found = [by_dir[name] for name in _match_in(list(by_dir), ref)]
    return found or [r for r in records if r.id == ref] or [r for r in records if r.name == ref]


def find_experiment(root: Path, ref: str, increment: str | None = None) -> ExperimentRecord:
    """Find one experiment by `exp-003`, its slug, its readable id, its name or its folder name.

    `0042/exp-003` names both. Without an increment every increment is searched, and a reference
    found in several is taken from the default increment (the active one, then the newest) when it is
    there: the same default `list_experiments` uses. Otherwise several matches are an error listing
    the full references.
    """
    ref = validate_experiment_ref(ref)
    if "/" in ref:
        increment, ref = ref.rsplit("/", 1)
    incs = [resolve_increment(root, increment)] if increment else list_increments(root, details=False)
    scanned = {inc.id: scan_experiments(inc.path / EXPERIMENTS_DIR) for inc in incs}
    names = {inc_id: sorted([*found, *linked], key=_folder_order) for inc_id, (found, linked) in scanned.items()}
    hits = [(inc, name) for inc in incs for name in _match_in(names[inc.id], ref)]
    if not hits:  # the run's own name (`track_experiment("xgboost v2")`) or an outside run's id
        hits = [(inc, r.dir) for inc in incs for r in increment_records(root, inc) if r.name == ref
                and r.dir in names[inc.id]]
    if len(hits) > 1 and not increment:
        # the scope rule: a bare reference means the default increment's experiment when it has one
        default = _default_increment_id(root)
        preferred = [hit for hit in hits if hit[0].id == default]
        if len(preferred) == 1:
            hits = preferred
    if not hits:
        # Runs kept by MLflow (in the increment or on the team server) answer to their own ids.
        found = find_external(root, incs, ref)
        if len(found) == 1:
            return found[0]
        if found:
            raise AmbiguousReference("experiment", ref, [f"{r.increment}/{r.id}" for r in found])
        known = [f"{inc.id}/{name.rsplit('.', 1)[0]}" if not increment else name.rsplit(".", 1)[0]
                 for inc in incs for name in names[inc.id]]
        raise NotFound("experiment", ref, known)
    if len(hits) > 1:
        raise AmbiguousReference("experiment", ref, [f"{inc.id}/{name}" for inc, name in hits])
    inc, name = hits[0]
    if name in scanned[inc.id][1]:  # a link: a damaged stand-in, nothing read through it
        return _linked_record(inc.path / EXPERIMENTS_DIR / name, inc.id, root)
    return with_selection(load_experiment(inc.path / EXPERIMENTS_DIR / name, inc.id, root))


def metric_summaries(record: ExperimentRecord,
                     root: Path | None = None) -> tuple[dict[str, MetricSummary], list[DamagedFile]]:
    """min/max/last/count of every metric of an experiment, with damaged lines: streamed from its
    metrics.jsonl (a long log's answer kept in the cache's digest of it), from a settled run's summary
    (schema 3: exact, whatever the log's length), or, for a run kept by another tracker, from that
    tracker's store."""
    outside = outside_points(record)
    if outside is not None:
        return summarize(outside), []
    if not os.path.lexists(record.path / METRICS_LOG_FILE):
        from .run_summary import summary_metric_summaries, summary_or_damage

        summary, damage = summary_or_damage(record.path)
        if summary is not None:
            return summary_metric_summaries(summary), []
        if damage is not None:
            return {}, [damage]
    return log_summaries(record.path, root)


def metric_points(record: ExperimentRecord) -> tuple[list[MetricPoint], list[DamagedFile]]:
    """Every logged point of an experiment, with damaged lines: its metrics.jsonl, or, for a
    run kept by another tracker, that tracker's own store."""
    return metric_points_with_source(record)[:2]  # type: ignore[return-value]


def metric_points_with_source(record: ExperimentRecord) -> tuple[list[MetricPoint], list[DamagedFile], str]:
    """`metric_points` and where they came from: "full" (every logged point: the live log, the settled
    log in the object store, or a complete summary) or "summary" (schema 3 without the log object in
    this clone: the summary's downsample; `sw-ml artifacts pull` brings the rest)."""
    outside = outside_points(record)
    if outside is not None:
        return outside, [], "full"
    from .run_summary import summary_or_damage, summary_points

    problems: list[DamagedFile] = []
    from .run_summary import open_run_log

    handle = open_run_log(record.path, problems)
    if handle is not None:
        handle.close()
        points, bad = read_metric_points(record.path)
        return points, bad, "full"
    summary, damage = summary_or_damage(record.path)
    if summary is None:
        return [], problems + ([damage] if damage is not None else []), "full" if damage is None else "summary"
    return summary_points(summary), problems, "summary"
