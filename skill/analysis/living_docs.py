"""Living docs: `.specweave/docs/internal/architecture/ml-experiments.md`, one section per increment.

Each increment's section sits between markers

    <!-- specweave-ml:begin 0042-recommendation-model -->
    ...
    <!-- specweave-ml:end 0042-recommendation-model -->

and only the text between them is ever replaced. A person's text outside
the markers survives every sync; the output holds no timestamps of its own,
so a second sync with nothing new changes no byte (the file is not even
rewritten); the write is atomic. User text (names, notes, rationales) can
never open or close an HTML comment, so it cannot forge a marker.
"""

from __future__ import annotations

import difflib
import os
from collections import Counter
import re
import time
from pathlib import Path
from typing import Any

from ..errors import DamagedFile
from ..layout import COMPARISON_FILE, EXPERIMENTS_DIR, LIVING_DOCS, SPECWEAVE_DIR
from ..schemas.records import Increment
from ..storage.doc_sections import marker_blocks, merge_sections, wrap_section
from ..storage.atomic_writes import replace_into, temp_file_for
from ..storage.safe_reads import read_text_nofollow
from ..storage.gitfiles import ensure_merge_rules
from ..storage.increments import list_increments, resolve_increment
from ..storage.locks import file_lock
from ..storage.paths import make_dirs_within
from ..storage.run_records import increment_records
from .compare import compare_experiments
from .primary import read_config
from .render import md_cell, render, short_number, template_module
from ..schemas.reports import SyncResult

TEMPLATE = "ml-experiments.md.j2"
_MAX_NOTES = 5


def docs_path(root: Path) -> Path:
    return root.joinpath(SPECWEAVE_DIR, *LIVING_DOCS)


def _note_lines(record: Any) -> list[str]:
    """First line of each note (tracebacks stay in metadata.yaml), newest last, at most five."""
    notes = record.meta.notes if record.meta else []
    lines = [n.text.strip().splitlines()[0] for n in notes if n.text.strip()]
    return lines[-_MAX_NOTES:]


def _reproduction(record: Any) -> str | None:
    """`reproduced by exp-004` or `rerun exp-004 differs` (the latest verdict); `reproduces exp-002: reproduced`."""
    meta = record.meta if record is not None else None
    if meta is None:
        return None
    if meta.reproduced_by:
        last = meta.reproduced_by[-1]
        return {"reproduced": f"reproduced by {last.rerun}", "differs": f"rerun {last.rerun} differs"}.get(
            last.verdict, "rerun failed")
    if meta.reproduces:
        return f"reproduces {meta.reproduces}" + (f": {meta.reproduction.verdict}" if meta.reproduction else "")
    return None


_RANKED_RE = re.compile(r"^Ranked by \*\*(?P<metric>.+?)\*\* \((?P<goal>higher|lower) is better")


def _latest_ranking(inc: Increment, present: set[str]) -> tuple[str | None, str | None]:
    """The primary metric and goal the increment's `comparison.md` was last ranked by, when that metric
    is still logged; (None, None) when there is no readable report or it ranked by nothing."""
    try:
        text = read_text_nofollow(inc.path / EXPERIMENTS_DIR / COMPARISON_FILE)
    except (FileNotFoundError, NotADirectoryError, DamagedFile):
        return None, None
    for line in text.splitlines():
        match = _RANKED_RE.match(line)
        if match:
            shown = match["metric"]
            metric = next((m for m in sorted(present) if md_cell(m) == shown), None)
            return (metric, "max" if match["goal"] == "higher" else "min") if metric else (None, None)
    return None, None


def section_context(root: Path, inc: Increment) -> dict[str, Any]:
    """Everything one increment's section shows, from the comparison and the latest decision.

    The section ranks by the same primary metric as the comparison: `primary_metric` in
    `.specweave/ml.yaml` when it names a logged metric (what `compare_experiments` itself uses by
    default); else the metric (and direction) the latest `comparison.md` was ranked by, so that
    `compare_experiments(primary_metric="auc")`, or `compare_models`' accuracy/rmse, carries over to
    the docs; else the comparison's own default (the first metric every experiment has).
    """
    records = {r.dir: r for r in increment_records(root, inc)}
    present = {k for r in records.values() for k, v in r.metrics.items() if isinstance(v, (int, float))}
    configured = read_config(root).get("primary_metric")
    primary, goal = (None, None) if configured in present else _latest_ranking(inc, present)
    comparison = compare_experiments(root, inc.id, primary_metric=primary, goal=goal,  # type: ignore[arg-type]
                                     write_report=False)
    metric = comparison.primary_metric
    experiments, failed, damaged = [], [], []
    # A description several runs share says nothing about each: those runs are named by their name and
    # the params that set them apart. An id two runs share (clones merged) is written in full (its folder).
    def description(row: Any) -> str:
        record = records.get(row.dir)
        return record.meta.description.strip() if record and record.meta and record.meta.description else ""

    labels = {row.dir: description(row) or row.name for row in comparison.rows}
    label_count = Counter(labels.values())
    id_count = Counter(row.id for row in comparison.rows)

    def shown_id(row: Any) -> str:
        return row.dir if id_count[row.id] > 1 else row.id

    for row in comparison.rows:
        record = records.get(row.dir)
        label = labels[row.dir]
        if label_count[label] > 1:
            label = row.name
            differing = [f"{k}={short_number(row.params[k])}" for k in comparison.differing_params
                         if row.params.get(k) is not None][:6]
            if differing:
                label += " — " + ", ".join(differing)
        value = row.metrics.get(metric) if metric else None
        experiments.append({
            "id": shown_id(row), "label": label, "status": row.status, "depth": row.depth,
            "damaged": bool(row.problems),
            "metric": f"{metric}={short_number(value)}" if metric and value is not None else None,
            "selected": row.selected,
            "reproduction": _reproduction(record),
        })
        if row.status in ("failed", "killed", "crashed") and record is not None:
            failed.append({"id": shown_id(row), "status": row.status, "notes": _note_lines(record)})
        damaged.extend((shown_id(row), p) for p in row.problems)
    chosen_id = comparison.best
    chosen = next((r for r in comparison.rows if r.selected), None) or next(
        (r for r in comparison.rows if r.id == chosen_id), None)
    chosen_record = records.get(chosen.dir) if chosen else None
    hyper = sorted((chosen_record.params or {}).items()) if chosen_record else []
    overridden = (comparison.computed_best if comparison.decision and comparison.computed_best
                  and comparison.computed_best != comparison.best else None)
    short = "-".join(chosen_id.split("-")[:2]) if chosen_id else None
    if chosen is not None and short is not None:  # exp-030, unless another run is numbered 030 too
        if sum("-".join(r.id.split("-")[:2]) == short for r in comparison.rows) > 1:
            short = shown_id(chosen)
    return {
        "id": inc.id, "number": inc.number, "title": inc.title, "experiments": experiments,
        "decision": comparison.decision, "best": comparison.computed_best, "reasons": comparison.computed_reasons,
        "primary_metric": metric, "overridden": overridden,
        "chosen_short": short,
        "hyperparameters": [(k, short_number(v)) for k, v in hyper],
        "failed": failed, "damaged": damaged,
    }


def render_section(root: Path, inc: Increment) -> str:
    """The text of one increment's section, markers included, ending with a newline."""
    body = str(template_module(TEMPLATE).section(section_context(root, inc))).strip("\n")
    return wrap_section(inc.id, body)


# A file changed this recently may be half-written by an editor that truncates and then writes.
_QUIET_S = 0.05
_EMPTY_QUIET_S = 2.0
_BUSY_LIMIT_S = 30.0


def _being_saved(path: Path) -> bool:
    """Whether an editor may be half-way through saving: the file changed in the last _QUIET_S, or it is
    empty and changed in the last _EMPTY_QUIET_S. An editor truncates, then writes; a process descheduled
    between the two leaves an empty file for longer than any quiet window, and replacing it then would
    send the editor's write to the unlinked old file (its lines lost)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    age = time.time() - st.st_mtime
    return age < _QUIET_S or (st.st_size == 0 and age < _EMPTY_QUIET_S)


def _read_docs(path: Path, root: Path) -> str | None:
    try:
        return read_text_nofollow(path)
    except FileNotFoundError:
        return None
    except DamagedFile as exc:
        raise DamagedFile(str(path.relative_to(root)), f"{exc.problem}; refusing to rewrite it") from None


def sync_living_docs(root: Path, increments: list[str] | None = None, dry_run: bool = False) -> SyncResult:
    """Bring the living docs up to date for the given increments (default: every one with experiments).

    With `dry_run`, nothing is written and `diff` holds the unified diff. Two syncs at once are
    serialised by a lock, and the file is read again just before the rename: a section written by
    another sync, or a person's edit saved while this one rendered, is merged, never overwritten.
    """
    path = docs_path(root)
    current = _read_docs(path, root)
    if increments:
        incs = {resolve_increment(root, ref).id: resolve_increment(root, ref) for ref in increments}
    else:
        existing = set(marker_blocks(current, path)) if current else set()
        incs = {inc.id: inc for inc in list_increments(root) if inc.experiment_count or inc.id in existing}
    marker_blocks(current if current is not None else render(TEMPLATE), path)  # refuse broken markers first
    if not incs and current is None:  # nothing to document and no page yet: nothing is written
        return SyncResult(path=path, changed=False, sections_changed=[], increments=[], dry_run=dry_run, diff="")
    sections = {inc_id: render_section(root, inc) for inc_id, inc in incs.items()}
    if dry_run:
        new_text, changed = merge_sections(current if current is not None else render(TEMPLATE), sections, path)
        diff = "".join(difflib.unified_diff(
            (current or "").splitlines(keepends=True), new_text.splitlines(keepends=True),
            fromfile=f"a/{path.relative_to(root)}", tofile=f"b/{path.relative_to(root)}"))
        return SyncResult(path=path, changed=new_text != current, sections_changed=changed,
                          increments=sorted(incs), dry_run=True, diff=diff)
    make_dirs_within(root, (SPECWEAVE_DIR, *LIVING_DOCS[:-1]), "the store")
    ensure_merge_rules(root)  # so that two clones' syncs merge (see skill.storage.merging)
    deadline = time.monotonic() + _BUSY_LIMIT_S
    with file_lock(path):
        while True:
            if _being_saved(path):  # an editor is writing it (truncate, then write): wait until it is done
                if time.monotonic() > deadline:
                    raise DamagedFile(str(path.relative_to(root)), "keeps changing while it is synced; "
                                      "save it and run the sync again")
                time.sleep(_QUIET_S)
                continue
            current = _read_docs(path, root)
            new_text, changed = merge_sections(current if current is not None else render(TEMPLATE),
                                               sections, path)
            if new_text == current:
                break
            fd, tmp = temp_file_for(path)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(new_text.encode("utf-8"))
            except BaseException:
                os.unlink(tmp)
                raise
            if _being_saved(path) or _read_docs(path, root) != current:  # saved meanwhile: merge again
                os.unlink(tmp)
                continue
            replace_into(tmp, path)
            break
    return SyncResult(path=path, changed=new_text != current, sections_changed=changed,
                      increments=sorted(incs), dry_run=False, diff=None)


__all__ = ["SyncResult", "docs_path", "merge_sections", "render_section", "section_context", "sync_living_docs"]
