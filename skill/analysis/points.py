"""The one reader of a run's own point log, for every reader that needs the points themselves: an agent's
history (`analysis.history`), a chart's curves and a run's stats (`views.curves`).

One streaming pass over the full log (live, or settled in the object store) through the storage
reader, each wanted metric kept as packed columns (steps, times, values: 24 bytes a point), whatever
the log's size. Damaged lines are skipped and collected (the first few, then a count), as every
reader of the store does. Where the log is not here (a fresh clone of a schema-3 run) or the run is
another tracker's, the caller reads the summary git keeps or that tracker's store.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..layout import METRICS_LOG_FILE
from ..schemas.records import ExperimentRecord

Columns = tuple["array[int]", "array[float]", "array[float]"]  # steps, ts, values


@dataclass
class LogPoints:
    """What one pass over a run's log found."""

    columns: dict[str, Columns] = field(default_factory=dict)  # the wanted metrics, by name
    seen: list[str] = field(default_factory=list)  # every metric the log holds, wanted or not
    first_ts: float | None = None  # the time of the log's first point (the run's start)
    problems: list[str] = field(default_factory=list)  # damaged lines skipped


def open_log(record: ExperimentRecord, problems: list[Any]) -> Any:
    """The run's full log as a binary stream, or None when it is not in this clone."""
    from ..storage.run_summary import open_run_log

    return open_run_log(Path(record.path), problems)


def read_log_points(record: ExperimentRecord, keys: set[str] | None, handle: Any,
                    problems: Any = None) -> LogPoints:
    """Every point of the metrics `keys` (None: all) in the open log `handle` (closed here)."""
    from ..storage.metrics_log import CappedProblems, iter_handle_rows

    path = Path(record.path) / METRICS_LOG_FILE
    problems = problems if problems is not None else CappedProblems(path)
    wanted = None if keys is None else {k.encode("utf-8", "surrogatepass") for k in keys}
    raw: dict[bytes, Columns | None] = {}
    first: float | None = None
    with handle:
        for _line, rows in iter_handle_rows(handle, path, problems):
            if first is None and rows:
                first = float(rows[0][2])
            groups: dict[bytes, tuple[list[Any], list[Any], list[Any]]] = {}
            for key, step, ts, value in rows:
                group = groups.get(key)
                if group is None:
                    group = groups[key] = ([], [], [])
                group[0].append(step)
                group[1].append(ts)
                group[2].append(value)
            for key, (steps, ts, values) in groups.items():
                if key not in raw:
                    raw[key] = (array("q"), array("d"), array("d")) if wanted is None or key in wanted else None
                column = raw[key]
                if column is not None:
                    column[0].extend(map(int, steps))
                    column[1].extend(map(float, ts))
                    column[2].extend(map(float, values))
    found = LogPoints(first_ts=first, problems=[str(p) for p in problems.done()] if hasattr(problems, "done")
                      else [str(p) for p in problems])
    for key, column in raw.items():
        name = key.decode("utf-8", "replace")
        found.seen.append(name)
        if column is not None:
            found.columns[name] = column
    return found


__all__ = ["Columns", "LogPoints", "open_log", "read_log_points"]
