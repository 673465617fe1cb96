"""Exporting an increment's experiments: one row per experiment, params and metrics flattened.

Columns: id, name, status, increment, parent, stage, tags (a list in JSON and the
DataFrame, `a;b` in CSV), author, started, duration_s, damaged, then `params.<name>` and `metrics.<name>` sorted by
name. Formats: csv, json (a list of flat objects; NaN/inf as the strings the
store uses), markdown (a table from templates/export.md.j2).

Where a file goes: a relative `path` is resolved under `.specweave/exports/`
and may not leave it (the MCP server only ever passes such names). Only a
person at the CLI writes elsewhere, by giving `-o` explicitly
(`allow_outside=True`).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from pathlib import Path
from typing import Any, Literal

from ..errors import InvalidInput, UnsafePath
from ..layout import EXPORTS_DIR, SPECWEAVE_DIR
from ..schemas.records import ExperimentRecord
from ..storage.atomic_writes import atomic_write
from ..storage.encoding import decode_number, to_jsonable
from ..storage.gitfiles import ignore_folder
from ..storage.increments import resolve_increment
from ..storage.paths import make_dirs_within, safe_relative
from ..storage.run_records import increment_records
from .query import filter_records, sort_records
from .render import md_cell, render, short_number
from ..schemas.reports import ExportResult

ExportFormat = Literal["csv", "json", "markdown", "md"]
_FIXED = ["id", "name", "status", "increment", "parent", "stage", "tags", "author", "started", "duration_s", "damaged"]
_EXT = {"csv": ".csv", "json": ".json", "markdown": ".md"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def flatten(record: ExperimentRecord) -> dict[str, Any]:
    """One experiment as a flat row: fixed columns, then params.* and metrics.*."""
    meta = record.meta
    row: dict[str, Any] = {
        "id": record.id, "name": record.name, "status": record.status, "increment": record.increment,
        "parent": meta.parent if meta else None, "stage": meta.stage if meta else None,
        "tags": list(record.tags), "author": meta.author if meta else None,
        "started": _iso(meta.started.isoformat()) if meta else None, "duration_s": meta.duration_s if meta else None,
        "damaged": bool(record.problems),
    }
    for key in sorted(record.params):
        row[f"params.{key}"] = record.params[key]
    for key in sorted(record.metrics):
        row[f"metrics.{key}"] = record.metrics[key]
    return row


def flatten_json(data: dict[str, Any]) -> dict[str, Any]:
    """`flatten` for a record already in JSON form (skill.storage.index.record_json or the read cache)."""
    meta = data.get("meta") or {}
    params = data.get("params") or {}
    metrics = data.get("metrics") or {}
    row: dict[str, Any] = {
        "id": data["id"], "name": data["name"], "status": data["status"], "increment": data["increment"],
        "parent": meta.get("parent"), "stage": meta.get("stage"), "tags": list(meta.get("tags") or ()),
        "author": meta.get("author"), "started": _iso(meta.get("started")), "duration_s": meta.get("duration_s"),
        "damaged": bool(data.get("problems")),
    }
    for key in sorted(params):
        row[f"params.{key}"] = params[key]
    for key in sorted(metrics):
        row[f"metrics.{key}"] = decode_number(metrics[key])
    return row


def _iso(value: Any) -> str | None:
    """Timestamps in one form whichever way they were serialized (`Z` or `+00:00`)."""
    if value is None:
        return None
    text = str(value)
    return text[:-1] + "+00:00" if text.endswith("Z") else text


def experiments_dataframe(root: Path, increments: list[str] | None = None) -> Any:
    """Every experiment of the given increments (default: all) as a pandas DataFrame, one row each.

    Columns as in the exports (`params.max_depth`, `metrics.auc`, ...). Served
    from the read cache without building model objects: the fast way to get a
    whole project into pandas.
    """
    import pandas as pd

    from ..storage.external import external_records
    from ..storage.increments import list_increments
    from ..storage.index import cached_dicts, record_json
    from ..storage.run_records import experiment_dirs, load_experiment

    incs = [resolve_increment(root, ref) for ref in increments] if increments else list_increments(root, details=False)
    rows: list[dict[str, Any]] = []
    for inc in incs:
        rows.extend(flatten_json(d) for d in cached_dicts(root, inc, experiment_dirs(inc), load_experiment))
        rows.extend(flatten_json(record_json(r)) for r in external_records(root, inc))
    return pd.DataFrame.from_records(rows, columns=_columns(rows))


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    extra = sorted({k for r in rows for k in r if k not in _FIXED},
                   key=lambda k: (0 if k.startswith("params.") else 1, k))
    return [*_FIXED, *extra]


def _csv_cell(value: Any) -> str:
    """A CSV cell; text that a spreadsheet would run as a formula gets a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(to_jsonable(value))
    if isinstance(value, (dict, list)):
        value = json.dumps(to_jsonable(value), sort_keys=True)
    text = str(value)
    if text.startswith(_FORMULA_START):
        try:
            float(text)
        except ValueError:
            return "'" + text
    return text


def render_rows(rows: list[dict[str, Any]], fmt: str, title: str = "") -> str:
    columns = _columns(rows)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:  # tags as `a;b` (a list in JSON and the DataFrame)
            writer.writerow([_csv_cell(";".join(row["tags"]) if c == "tags" and isinstance(row.get(c), list)
                                       else row.get(c)) for c in columns])
        return buffer.getvalue()
    if fmt == "json":
        data = [{c: row.get(c) for c in columns} for row in rows]
        return json.dumps(to_jsonable(data), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    shown = [c for c in columns if c not in ("increment", "author", "started") and any(r.get(c) not in (None, "")
                                                                                      for r in rows)]
    shown = [c for c in shown if c != "tags" or any(r.get("tags") for r in rows)]

    def shown_cell(value: Any) -> str:
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return ", ".join(value)  # tags
        return short_number(value) if value is not None else ""

    table = [[md_cell(shown_cell(row.get(c))) for c in shown] for row in rows]
    return render("export.md.j2", title=title, columns=[md_cell(c) for c in shown], table=table)


def _target(root: Path, path: str | Path, fmt: str, allow_outside: bool) -> Path:
    if allow_outside:
        wanted = Path(os.path.abspath(Path(path).expanduser()))
        store = root / SPECWEAVE_DIR
        if not wanted.is_relative_to(store):
            return wanted.resolve()  # the user's own file system: written where they say
        # a path into the store keeps the store's rules: no link planted there leads out
        parts = wanted.relative_to(root).parts
        parent = make_dirs_within(root, parts[:-1], ".specweave/")
        if (parent / parts[-1]).is_symlink():
            raise UnsafePath(str(path), ".specweave/")
        return parent / parts[-1]
    name = safe_relative(str(path), ".specweave/exports/")
    # folder by folder, refusing links: a link planted in exports/ must not lead out of it
    exports = make_dirs_within(root, (SPECWEAVE_DIR, EXPORTS_DIR), ".specweave/exports/")
    # exports are copies of what the store already holds: kept out of git (a path elsewhere is the user's)
    ignore_folder(exports, "exports are derived from the experiments: not committed (write elsewhere to share)")
    parent = make_dirs_within(exports, name.parts[:-1], ".specweave/exports/")
    target = parent / name.parts[-1]
    if target.is_symlink():
        raise UnsafePath(str(path), ".specweave/exports/")
    return target


def export_experiments(
    root: Path,
    increment: str | None,
    format: ExportFormat = "csv",  # noqa: A002 - the name the seed's command uses
    path: str | Path | None = None,
    *,
    where: str | None = None,
    sort: str | None = None,
    allow_outside: bool = False,
) -> ExportResult:
    """Export the increment's experiments as text, or write them to `path` (see module doc)."""
    fmt = {"md": "markdown"}.get(format, format) if isinstance(format, str) else format
    if fmt not in _EXT:
        raise InvalidInput("export format", format, "csv, json, markdown or md")
    if path is not None and not allow_outside and (not isinstance(path, str) or not path.strip()):
        raise UnsafePath(str(path), ".specweave/exports/")
    inc = resolve_increment(root, increment)
    records = sort_records(filter_records(increment_records(root, inc), where), sort)
    rows = [flatten(r) for r in records]
    text = render_rows(rows, fmt, title=f"{inc.title} (Increment {inc.number})")
    result = ExportResult(format=fmt, increment=inc.id, rows=len(rows),  # type: ignore[arg-type]
                          columns=_columns(rows))
    if path is None:
        result.text = text
        return result
    target = _target(root, path, fmt, allow_outside)
    if target.is_dir():
        raise InvalidInput("export path", str(path), "a file name, not a folder")
    atomic_write(target, text)
    result.path = target
    return result


def metric_history_dataframe(record: ExperimentRecord, metrics: list[str] | str | None = None) -> Any:
    """Every logged point of one experiment (`record`, resolved by the caller) as a pandas DataFrame in long form: step, key, value, ts.

    Long, one row per point, because keys are logged on their own steps (a loss every batch, a
    validation score every epoch, `fold/score` per fold): one row per step would be mostly empty and
    would drop a key's repeated steps, while the long form keeps every point as `metrics.jsonl` has
    it, in logged order. `ts` is seconds since the epoch, as in the file; NaN and infinities are
    kept. `metrics` keeps only those keys (a key no point has is refused, naming the nearest). Wide,
    one column per key: `df.pivot_table(index="step", columns="key", values="value", aggfunc="last")`.
    Damaged lines are skipped and listed in `df.attrs["problems"]`. `df.attrs["source"]` is "full" (every
    point) or "summary" (a schema-3 run whose settled log this clone lacks: the downsample git keeps).
    """
    import difflib

    import pandas as pd

    from ..storage.run_records import metric_points_with_source

    points, damaged, source = metric_points_with_source(record)
    if isinstance(metrics, str):
        metrics = [metrics]
    if metrics is not None:
        if not isinstance(metrics, (list, tuple)) or not all(isinstance(m, str) for m in metrics):
            raise InvalidInput("metrics", metrics, "a list of metric names, e.g. ['loss', 'val_loss']")
        keys = sorted({p.key for p in points})
        for wanted in metrics:
            if wanted not in keys:
                close = difflib.get_close_matches(wanted, keys, n=3, cutoff=0.6)
                hint = (f"did you mean {' or '.join(close)}?" if close else
                        "one of " + (", ".join(keys[:12]) or f"the metrics logged (none yet in {record.id})"))
                raise InvalidInput(f"metric of {record.id}", wanted, hint)
        chosen = set(metrics)
        points = [p for p in points if p.key in chosen]
    frame = pd.DataFrame({
        "step": pd.Series([p.step for p in points], dtype="int64"),
        "key": pd.Series([p.key for p in points], dtype="object"),
        "value": pd.Series([p.value for p in points], dtype="float64"),
        "ts": pd.Series([p.ts for p in points], dtype="float64"),
    })
    frame.attrs["experiment"] = record.id
    frame.attrs["problems"] = [str(d) for d in damaged]
    frame.attrs["source"] = source  # "summary": a fresh clone without the log object (sw-ml artifacts pull)
    return frame


__all__ = ["ExportResult", "experiments_dataframe", "export_experiments", "flatten", "flatten_json",
           "metric_history_dataframe", "render_rows"]
