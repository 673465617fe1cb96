"""Everything a page needs, in one model: the report's and the MCP App's data (no server behind them).

Curves of every run for the metrics logged more than once, each cut to a share of a point budget
(so a report stays a few MB however many metrics runs log), values kept to 7 significant digits
(more than a chart can show), run views, the parallel coordinates, the compare view, and images
as data: URLs within a byte budget.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ..schemas.pages import CompareView, CurveSet, RunsTable, ViewBundle, image_type
from ..schemas.records import ExperimentDetail, ExperimentRecord
from ..schemas.reports import Decision
from .curves import history_damage, make_curve, read_points_with_source
from .run import run_view
from .table import parallel_view

MAX_METRICS = 12  # curve metrics carried; the primary one first, system/ metrics last
DEFAULT_POINT_BUDGET = 200_000


def _round(value: float | None) -> float | None:
    return None if value is None else float(f"{value:.7g}")


def view_bundle(table: RunsTable, records: dict[str, ExperimentRecord], *, config: dict[str, Any],
                decisions: dict[str, list[Decision]], read_image: Callable[[str, str], bytes],
                compare: Callable[[list[str], str | None], list[CompareView]], metric: str | None = None,
                point_budget: int = DEFAULT_POINT_BUDGET, max_points: int = 1000, image_budget: int = 4 << 20,
                title: str | None = None) -> ViewBundle:
    """The views of `table`'s rows (`records` by row key), ready to be written into a page. `Project`
    hands in what it knows: each increment's `decisions`, `config` (ml.yaml: the metrics' directions),
    `read_image(key, name)` (an artifact's checked bytes) and `compare(keys, primary)` (the compare view)."""
    from ..errors import InvalidInput

    rows = table.rows
    loaded = {key: read_points_with_source(record) for key, record in records.items()}
    damage = {key: why for key, history in loaded.items()
              if (why := history_damage(records[key], history.points)) is not None}
    counts: dict[str, int] = {}
    for history in loaded.values():
        for key, (steps, _ts, _values) in history.points.items():
            counts[key] = max(counts.get(key, 0), len(steps))
    if metric is not None and metric not in counts:
        raise InvalidInput("metric", metric, "a metric the runs logged: " + (", ".join(sorted(counts)[:10]) or "none"))
    curve_keys = [k for k in counts if counts[k] > 1 or k == metric]
    primary = metric or table.primary_metric
    curve_keys.sort(key=lambda k: (k != primary, k.startswith("system/"), k))
    curve_keys = curve_keys[:MAX_METRICS]
    per_curve = max(8, min(max_points, point_budget // max(1, len(rows) * max(1, len(curve_keys)))))
    curves: dict[str, CurveSet] = {}
    for key in curve_keys:
        made = []
        for row in rows:
            history = loaded[row.key]
            if key in history.points:
                curve = make_curve(row.key, row.ref, key, history.points[key], history.t0, per_curve,
                                   history.logged.get(key), history.source)
                curve.values = [_round(v) for v in curve.values]
                made.append(curve)
        gaps = [row.key for row in rows if key not in loaded[row.key].points]
        curves[key] = CurveSet(metric=key, max_points=per_curve, curves=made,
                               missing=[k for k in gaps if k not in damage],
                               damaged=[f"{k}: {damage[k]}" for k in gaps if k in damage])
    views = {}
    for key, record in records.items():
        # the report lists no damaged lines (show-experiment does): the record's detail without summaries
        detail = ExperimentDetail.model_construct(**dict(record), metric_summaries={})
        views[key] = run_view(record, detail, decisions.get(record.increment, []), config, loaded[key])
    images: dict[str, str] = {}
    spent = 0
    for key, view in views.items():
        for art in view.artifacts:
            mime = image_type(art.info.name)
            if not art.image or mime is None or spent + art.info.size > image_budget:
                continue
            try:
                data = read_image(key, art.info.name)
            except Exception:  # noqa: BLE001 - not pulled, damaged: the page says the image is not there
                continue
            spent += len(data)
            images[f"{key}/{art.info.name}"] = f"data:{mime};base64," + base64.b64encode(data).decode("ascii")
    chosen = default_selection(table)
    compared: list[CompareView] = []
    if rows:
        try:
            compared = compare(chosen or [rows[0].key], table.primary_metric)
        except Exception:  # noqa: BLE001 - a comparison that cannot be made leaves the view empty
            compared = []
    names = ", ".join(table.increments) or "no increment"
    return ViewBundle(title=title or f"Experiments: {names}", generated=datetime.now(UTC), table=table,
                      selection=chosen, metric=primary if primary in curves else (curve_keys[0] if curve_keys else None),
                      curves=curves, runs=views, parallel=parallel_view(table) if rows else None,
                      compare=compared, images=images)


def default_selection(table: RunsTable, limit: int = 10) -> list[str]:
    """The runs drawn at first: the best by the primary metric, then the rest in table order."""
    rows = list(table.rows)
    goal = table.goal
    ranked = [r for r in rows if r.primary is not None and math.isfinite(r.primary)]
    ranked.sort(key=lambda r: -r.primary if goal != "min" else r.primary)  # type: ignore[operator]
    order = [*ranked, *[r for r in rows if r not in ranked]]
    return [r.key for r in order[:limit]]


__all__ = ["DEFAULT_POINT_BUDGET", "MAX_METRICS", "default_selection", "view_bundle"]
