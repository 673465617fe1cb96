"""A CSV of metrics as one run: a header row, one row per step, one column per metric.

`step_column` names the step (default: a column called `step`, else the row
number from 0); `time_column` the time of each row, in seconds since the epoch or
ISO 8601 (default: the file's modification time for every row); every other
column is a metric, and a cell that is empty or not a number is skipped.
`params` (`--param k=v`) are the run's params. The file is streamed row by row.
The run is named after the file and goes to the default increment (or
`--increment`).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import InvalidInput
from ..schemas.sources import DamagedRun, Point, Reader, SourceRun

_SNIFF_BYTES = 64 * 1024
csv.field_size_limit(1 << 20)  # one cell of at most 1 MiB: a bound, not the 128 KiB default's surprise


def _time(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        moment = datetime.fromisoformat(text.strip())
        return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


class CsvReader(Reader):
    kind = "csv"

    def __init__(self, source: str, *, step_column: str | None = None, time_column: str | None = None,
                 params: dict[str, Any] | None = None):
        path = Path(source).expanduser()
        if not path.is_file():
            raise InvalidInput("CSV file", source, "an existing .csv file with a header row")
        self.path = path.resolve()
        self.location = str(self.path)
        with open(self.path, newline="", encoding="utf-8-sig") as handle:
            sample = handle.read(_SNIFF_BYTES)
        try:
            self.dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t|")
        except csv.Error:
            self.dialect = csv.excel
        header = next(csv.reader(sample.splitlines()[:1], self.dialect), [])
        if not header or not any(h.strip() for h in header):
            raise InvalidInput("CSV file", source, "a CSV file with a header row naming its columns")
        self.header = [h.strip() for h in header]
        if step_column is None and "step" in self.header:
            step_column = "step"
        for what, column in (("step column", step_column), ("time column", time_column)):
            if column is not None and column not in self.header:
                raise InvalidInput(what, column, f"a column of {path.name}: {', '.join(self.header[:20])}")
        self.step_column, self.time_column = step_column, time_column
        self.params = dict(params or {})

    def runs(self) -> Iterator[SourceRun | DamagedRun]:
        st = self.path.stat()
        state = json.dumps([st.st_size, st.st_mtime_ns, self.step_column, self.time_column, self.params],
                           sort_keys=True, default=str)
        moment = datetime.fromtimestamp(st.st_mtime, timezone.utc)
        yield SourceRun(run_id=self.path.name, name=self.path.stem, group=self.path.parent.name,
                        params=dict(self.params), started=moment, ended=moment,
                        fingerprint=hashlib.sha256(state.encode()).hexdigest()[:16],
                        extra={"csv_file": self.path.name})

    def points(self, run: SourceRun) -> Iterator[Point]:
        mtime = os.stat(self.path).st_mtime
        skip = {self.step_column, self.time_column}
        metrics = [(i, name) for i, name in enumerate(self.header) if name and name not in skip]
        step_at = self.header.index(self.step_column) if self.step_column else None
        time_at = self.header.index(self.time_column) if self.time_column else None
        with open(self.path, newline="", encoding="utf-8-sig") as handle:
            rows = csv.reader(handle, self.dialect)
            next(rows, None)
            for number, row in enumerate(rows):
                if not row:
                    continue
                line = rows.line_num
                try:
                    step = number if step_at is None else int(float(row[step_at]))
                    ts = mtime if time_at is None else _time(row[time_at])
                except (ValueError, IndexError):
                    raise ValueError(f"{self.path.name}:{line}: the step or time is not a number") from None
                for i, name in metrics:
                    if i < len(row) and row[i].strip():
                        try:
                            value = float(row[i])
                        except ValueError:
                            continue
                        yield name, step, value, ts


__all__ = ["CsvReader"]
