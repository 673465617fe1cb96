"""Whether runs used the same data: a comparison across different datasets ranks no models."""

from __future__ import annotations

from typing import Any


def data_warning(records: list[Any]) -> str | None:
    """The warning for a comparison whose ranked runs used different data (by dataset name, and
    `data_version`); None when every run that logged a dataset logged the same one."""
    seen: dict[str, dict[str, list[str]]] = {}
    for record in records:
        meta = record.meta
        if meta is None:
            continue
        marks = {d.name: (d.fingerprint or "?")[:12] for d in meta.datasets}
        if meta.data_version:
            marks["data_version"] = meta.data_version
        for name, mark in marks.items():
            seen.setdefault(name, {}).setdefault(mark, []).append(record.id)
    differing = []
    for name, versions in sorted(seen.items()):
        if len(versions) > 1:
            shown = "; ".join(f"{', '.join(ids)}: {mark}" for mark, ids in versions.items())
            differing.append(f"{name} ({shown})")
    if not differing:
        return None
    return "⚠️ The ranked experiments used different data: " + "; ".join(differing)


__all__ = ["data_warning"]
