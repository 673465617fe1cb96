"""Everything a page needs, in one model: the report's and the MCP App's data (no server behind them).

Curves of every run for the metrics logged more than once, each cut to a share of a point budget
(so a report stays a few MB however many metrics runs log), values kept to 7 significant digits
(more than a chart can show), run views, the parallel coordinates, the compare view, and images
as data: URLs within a byte budget.
"""

from __future__ import annotations

import base64
import math
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from .curves import make_curve, read_points
from ..schemas.pages import CurveSet, ViewBundle
from .run import image_type, run_view
from .table import compare_views, parallel_view, runs_table

if TYPE_CHECKING:
    from ..project import Project

MAX_METRICS = 12  # curve metrics carried; the primary one first, system/ metrics last
DEFAULT_POINT_BUDGET = 200_000


def _round(value: float | None) -> float | None:
    return None if value is None else float(f"{value:.7g}")


def view_bundle(project: Project, increments: list[str] | None = None, *, runs: list[str] | None = None,
                where: str | None = None, metric: str | None = None, point_budget: int = DEFAULT_POINT_BUDGET,
                max_points: int = 1000, image_budget: int = 4 << 20, run_limit: int | None = None,
                title: str | None = None) -> ViewBundle:
    """The views of `increments` (or of the `runs` named), ready to be written into a page."""
    from ..errors import InvalidInput

    if runs:
        records = [project.experiment(ref) for ref in runs]
        table = runs_table(project, list(dict.fromkeys(r.increment for r in records)))
        keys = {f"{r.increment}/{r.dir}" for r in records}
        table.rows = [row for row in table.rows if row.key in keys]
    else:
        table = runs_table(project, increments, where=where)
    if run_limit is not None:
        table.rows = table.rows[:run_limit]
    rows = table.rows
    records = {row.key: project.experiment(row.key) for row in rows}
    loaded = {key: read_points(record) for key, record in records.items()}
    counts: dict[str, int] = {}
    for points, _t0 in loaded.values():
        for key, (steps, _ts, _values) in points.items():
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
            points, t0 = loaded[row.key]
            if key in points:
                curve = make_curve(row.key, row.ref, key, points[key], t0, per_curve)
                curve.values = [_round(v) for v in curve.values]
                made.append(curve)
        curves[key] = CurveSet(metric=key, max_points=per_curve, curves=made,
                               missing=[row.key for row in rows if key not in loaded[row.key][0]])
    views = {key: run_view(project, key, record=record, points=loaded[key][0]) for key, record in records.items()}
    images: dict[str, str] = {}
    spent = 0
    for key, view in views.items():
        for art in view.artifacts:
            mime = image_type(art.info.name)
            if not art.image or mime is None or spent + art.info.size > image_budget:
                continue
            try:
                _info, data = project.read_artifact(key, art.info.name, max_bytes=image_budget)
            except Exception:  # noqa: BLE001 - not pulled, damaged: the page says the image is not there
                continue
            spent += len(data)
            images[f"{key}/{art.info.name}"] = f"data:{mime};base64," + base64.b64encode(data).decode("ascii")
    chosen = _default_selection(table)
    compare = []
    if rows:
        try:
            compare = compare_views(project, chosen or [rows[0].key], table.primary_metric)
        except Exception:  # noqa: BLE001 - a comparison that cannot be made leaves the view empty
            compare = []
    names = ", ".join(table.increments) or "no increment"
    return ViewBundle(title=title or f"Experiments: {names}", generated=datetime.now(timezone.utc), table=table,
                      selection=chosen, metric=primary if primary in curves else (curve_keys[0] if curve_keys else None),
                      curves=curves, runs=views, parallel=parallel_view(table) if rows else None,
                      compare=compare, images=images)


def _default_selection(table: object, limit: int = 10) -> list[str]:
    """The runs drawn at first: the best by the primary metric, then the rest in table order."""
    rows = list(table.rows)  # type: ignore[attr-defined]
    goal = getattr(table, "goal", None)
    ranked = [r for r in rows if r.primary is not None and math.isfinite(r.primary)]
    ranked.sort(key=lambda r: -r.primary if goal != "min" else r.primary)  # type: ignore[operator]
    order = [*ranked, *[r for r in rows if r not in ranked]]
    return [r.key for r in order[:limit]]


__all__ = ["view_bundle"]
