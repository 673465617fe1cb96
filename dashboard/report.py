"""`sw-ml report`: the views in one self-contained HTML file, with the data inside it.

It opens from file:// with no network (BokehJS and the page script are inlined, images are data:
URLs), so it can be mailed or attached to a pull request. By default it is written to
`.specweave/reports/<increments>.html`, a folder that ignores itself in git; `-o FILE` writes where
the person says.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from pydantic import BaseModel

from skill.project import Project

REPORTS_DIR = "reports"


class ReportResult(BaseModel):
    path: str
    bytes: int
    runs: int
    metrics: list[str]
    seconds: float


def report_html(project: Project, increments: list[str] | None = None, *, where: str | None = None,
                metric: str | None = None, runs: list[str] | None = None) -> tuple[str, object]:
    """(the page, its bundle): a renderer returns a string; writing it is `write_report`'s step."""
    from skill.errors import InvalidInput

    from .page import render_page

    if not project.exists or not project.increments():  # a page of no runs is no report: nothing is made
        raise InvalidInput("project root", str(project.root), "a folder whose .specweave/ store has experiments: "
                           "log a run with track_experiment() first, or pass --root (nothing was written)")
    bundle = project.view_bundle(increments, where=where, metric=metric, runs=runs)
    html = render_page("report", title=bundle.title, config={"project": project.root.name},
                       data_json=bundle.model_dump_json())
    return html, bundle


def default_path(project: Project, increments: list[str]) -> Path:
    from skill.layout import SPECWEAVE_DIR
    from skill.storage.gitfiles import ignore_folder
    from skill.storage.paths import make_dirs_within

    folder = make_dirs_within(project.root, (SPECWEAVE_DIR, REPORTS_DIR), f"{SPECWEAVE_DIR}/{REPORTS_DIR}/")
    ignore_folder(folder, "sw-ml report: pages made from the store, rebuilt at will; never committed")
    name = "-".join(inc.split("-", 1)[0] for inc in increments) or "report"
    return folder / f"{name}.html"


def write_report(project: Project, increments: list[str] | None = None, output: str | os.PathLike[str] | None = None,
                 *, where: str | None = None, metric: str | None = None) -> ReportResult:
    from skill.storage.atomic_writes import atomic_write

    started = time.perf_counter()
    html, bundle = report_html(project, increments, where=where, metric=metric)
    target = Path(output) if output is not None else default_path(project, bundle.table.increments)  # type: ignore[attr-defined]
    data = html.encode("utf-8")
    atomic_write(target, data)
    shown = target
    try:
        shown = target.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        pass
    return ReportResult(path=shown.as_posix(), bytes=len(data), runs=len(bundle.table.rows),  # type: ignore[attr-defined]
                        metrics=list(bundle.curves), seconds=round(time.perf_counter() - started, 3))  # type: ignore[attr-defined]


__all__ = ["REPORTS_DIR", "ReportResult", "default_path", "report_html", "write_report"]
