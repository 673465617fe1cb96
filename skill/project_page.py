"""Project's page and report methods: the views as one page (`sw-ml ui`), one self-contained file
(`sw-ml report`) and an MCP App, built by `skill.views.page` from the sources in dashboard/. A mixin of
`Project` (skill/project.py), kept apart so that file holds the store's operations."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from .schemas.pages import CurveSet, RunsTable
    from .schemas.records import Increment
    from .storage.memo import Memo
    from .views.page import IncrementEntry, PageMemo, ReportResult


class PageMethods:
    """Where a report goes, the page and its files, and the live page's answers kept while the store is
    unchanged (when the Project was built with `memo`)."""

    root: Path
    _memo: Memo | None

    if TYPE_CHECKING:
        exists: bool

        def increments(self) -> list[Increment]: ...
        def runs_table(self, increments: list[str] | None = None, *, where: str | None = None,
                       sort: str | None = None, columns: list[str] | None = None) -> RunsTable: ...

    def increment_entries(self) -> list[IncrementEntry]:
        """Every increment as the page lists it (id, title, experiments, group); none without a store."""
        from .views.page import IncrementEntry

        incs = self.increments() if self.exists else []
        return [IncrementEntry(id=inc.id, title=inc.title, experiments=inc.experiment_count, group=inc.group)
                for inc in incs]

    @staticmethod
    def page_html(mode: str, *, title: str, config: dict[str, Any], data_json: str | None = None,
                  asset_query: str | None = None) -> str:
        """The views' page in `mode` ("live", "report", "app"): scripts inlined, or with `asset_query`
        (the live page's `?token=...`) fetched from `static/<name><asset_query>`."""
        from .views.page import render_page

        return render_page(mode, title=title, config=config, data_json=data_json, asset_query=asset_query)

    @staticmethod
    def page_csp(mode: str) -> str | None:
        """The Content-Security-Policy of the page in `mode` (None for the MCP App: its host sets one)."""
        from .views.page import CSP

        return CSP.get(mode)

    @staticmethod
    def page_asset(name: str) -> tuple[bytes, str]:
        """(bytes, media type) of a file the live page loads (BokehJS, app.js, app.css); NotFound else.
        DashboardUnavailable (one line) when bokeh is not installed."""
        from .views.page import asset

        return asset(name)

    @staticmethod
    def image_type(name: str) -> str | None:
        """The media type an artifact named `name` is shown inline as (png, jpg, gif, webp, svg), else None."""
        from .schemas.pages import image_type

        return image_type(name)

    def write_report(self, increments: list[str] | None = None, output: str | os.PathLike[str] | None = None,
                     *, where: str | None = None, metric: str | None = None) -> ReportResult:
        """The views as one self-contained HTML file: at `output`, else `.specweave/reports/<ids>.html`
        (a folder git ignores). Says where it went (relative to the working folder where it can)."""
        from .views.page import write_report

        return write_report(self, increments, output, where=where, metric=metric)

    def live_table(self, increments: list[str] | None = None, *, where: str | None = None,
                   sort: str | None = None, columns: list[str] | None = None) -> RunsTable:
        """`runs_table(...)`, kept (with `memo`) while the store's signature for those runs holds."""
        return self._page_memo().table(self, increments or [], where=where, sort=sort, columns=columns)

    def live_curves(self, runs: list[str], metric: str, max_points: object = None) -> CurveSet:
        """`curves(...)`, each run's curve kept (with `memo`) while its metrics log's stat holds: a page
        reload or a selection change costs a stat per run, not a re-read."""
        return self._page_memo().curves(self, runs, metric, max_points)

    def _page_memo(self) -> PageMemo:
        from .views.page import PageMemo

        memo = self.__dict__.get("_page_answers")
        if memo is None:
            memo = self.__dict__["_page_answers"] = PageMemo(keep=self._memo is not None)
        return memo
