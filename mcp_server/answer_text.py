"""The text block of each answer: what a model reads, in as few bytes as say it unambiguously.

Plain lines, full references (`0042/exp-002-xgboost`) wherever an experiment is named, numbers
in their short form (0.8734, 1.2e+06); the exact values are in the structured content.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from skill.project import Project
from skill.schemas.records import full_ref

from .tool_results import FIRST_RUN

short_number, short_duration = Project.number_text, Project.duration_text  # as the reports write them


def _pairs(values: dict[str, Any], limit: int = 12) -> str:
    items = [f"{k}={short_number(v) if not isinstance(v, (dict, list)) else v}" for k, v in values.items()
             if v is not None]
    if len(items) > limit:
        items = [*items[:limit], f"+{len(items) - limit} more"]
    return " ".join(items)


def _join(parts: Iterable[str | None], sep: str = " · ") -> str:
    return sep.join(p for p in parts if p)


def increments(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return f"No increments yet. {FIRST_RUN}"
    lines = [f"{len(rows)} increment(s); pass an id or its number as `increment`:"]
    for row in rows:
        count = row.get("experiment_count")
        lines.append(_join([row["id"], row.get("title"), f"{count} experiments" if count is not None else None,
                            row.get("group")]))
    return "\n".join(lines)


def page(data: dict[str, Any]) -> str:
    inc, rows, total = data.get("increment"), data.get("experiments", []), data.get("total", 0)
    if inc is None:
        return f"No increments yet, so no experiments. {FIRST_RUN}"
    if not total:
        return f"No experiments in {inc}{' match the filters' if data.get('filtered') else ''}. {FIRST_RUN}"
    head = f"{inc}: {len(rows)} of {total} experiments"
    if data.get("next_cursor"):
        head += f"; next page: cursor={data['next_cursor']}"
    lines = [head]
    for row in rows:
        ref = row.get("ref") or full_ref(row["increment"], row["id"])
        lines.append(_join([
            f"{ref} {row['status']}",
            _pairs(row.get("metrics") or {}),
            _pairs(row.get("params") or {}, 8) or None,
            f"tags: {', '.join(row['tags'])}" if row.get("tags") else None,
            f"{row['stage'] or 'child'} of {row['parent']}" if row.get("parent") else None,
            f"DAMAGED: {'; '.join(row['problems'])[:200]}" if row.get("problems") else None,
        ]))
    return "\n".join(lines)


def shown(data: dict[str, Any]) -> str:
    env, git = data.get("environment") or {}, data.get("git") or {}
    lines = [_join([f"{data['ref']} ({data['name']}) {data['status']}", data.get("description") or None,
                    f"tags: {', '.join(data['tags'])}" if data.get("tags") else None])]
    lines.append(_join([f"started {data['started']}" if data.get("started") else None,
                        f"ended {data['ended']}" if data.get("ended") else None,
                        f"took {short_duration(data['duration_s'])}" if data.get("duration_s") is not None else None,
                        f"author {data['author']}" if data.get("author") else None,
                        f"data {data['data_version']}" if data.get("data_version") else None,
                        f"source {data['source']}" if data.get("source") not in (None, "specweave") else None,
                        f"{data['stage'] or 'child'} of {data['parent']}" if data.get("parent") else None]))
    lines.append(f"path: {data['path']}")
    if data.get("params"):
        lines.append(f"params: {_pairs(data['params'], 40)}")
    summaries = data.get("metric_summaries") or {}
    if summaries:
        lines.append("metrics (last; min..max; points):")
        for key, s in summaries.items():
            lines.append(f"  {key}: {short_number(s['last'])}; {short_number(s['min'])}..{short_number(s['max'])}; "
                         f"{s['steps']}")
    elif data.get("metrics"):
        lines.append(f"metrics: {_pairs(data['metrics'], 40)}")
    if git.get("commit"):
        lines.append(_join([f"git {git['commit'][:12]}", git.get("branch"), "dirty" if git.get("dirty") else None]))
    packages = env.get("packages") or {}
    total = env.get("packages_total", 0)
    lines.append(_join([f"python {env['python']}" if env.get("python") else None, env.get("platform"),
                        f"{env['cpu_count']} CPUs" if env.get("cpu_count") else None,
                        ", ".join(g["name"] for g in env.get("gpus") or []) or None,
                        f"packages ({len(packages)} of {total}{'; packages=true for all' if len(packages) < total else ''}):"
                        f" {_pairs(packages, 60)}" if total else None]))
    if env.get("command"):
        lines.append("command: " + " ".join(env["command"])[:300])
    for art in data.get("artifacts") or []:
        lines.append(_join([f"artifact {art['name']}", f"{art['size']} B", art.get("format"), art.get("model_class"),
                            f"sha256 {art['sha256'][:16]}"]))
    for note in data.get("notes") or []:
        lines.append(f"note {note['ts']}: {note['text']}")
    if data.get("extra"):
        lines.append(f"other: {_pairs(data['extra'])}")
    for problem in data.get("problems") or []:
        lines.append(f"DAMAGED: {problem}")
    return "\n".join(line for line in lines if line)


def history(data: dict[str, Any]) -> str:
    ref = full_ref(data["increment"], data["experiment"])
    series = data.get("series") or []
    if not series:
        return f"{ref}: no metric logged yet."
    lines = [f"{ref}: {len(series)} metric(s), as step:value"]
    for s in series:
        values = s["values"]
        numbers = [v for v in values if isinstance(v, (int, float))]
        head = f"{s['key']}: {s['total_points']} points"
        if s["downsampled"]:
            head += f", {len(values)} shown (extremes kept)"
        if numbers:
            head += f"; min {short_number(min(numbers))}, max {short_number(max(numbers))}, last {short_number(values[-1])}"
        lines.append(head)
        lines.append(" ".join(f"{st}:{short_number(v)}" for st, v in zip(s["steps"], values, strict=False)))
    for problem in data.get("problems") or []:
        lines.append(f"DAMAGED: {problem}")
    return "\n".join(lines)


def comparison(data: dict[str, Any]) -> str:
    inc = data.get("increment")
    if inc is None:
        return f"No increments yet, nothing to compare. {FIRST_RUN}"
    if not data.get("total"):
        return f"No experiments in {inc} to compare. {FIRST_RUN}"
    metric, goal = data.get("primary_metric"), data.get("goal")
    lines = [_join([f"{inc}: {data['total']} experiments compared",
                    f"ranked by {metric} ({'higher' if goal == 'max' else 'lower'} is better, {data.get('goal_source')})"
                    if metric else None])]
    if data.get("best_ref"):
        lines.append(f"best: {data['best_ref']}" + (" (the logged decision)" if data.get("decision") else ""))
    lines.extend(f"- {reason}" for reason in data.get("reasons") or [])
    if data.get("override") and data.get("computed_best"):  # the reasons above are the decision's run's
        computed = full_ref(inc, data["computed_best"])
        lines.append(f"computed best: {computed} (by the metric; the decision overrides it)")
    lines.extend(f"warning: {warning}" for warning in data.get("warnings") or [])
    decision = data.get("decision")
    if decision:
        lines.append(f"decision {decision['ts']}: {decision['selected']} — {decision['rationale'][:300]}")
    rows = data.get("rows") or []
    lines.append(f"top {len(rows)} (rank ref status metrics | differing params):")
    for i, row in enumerate(rows, 1):
        marks = f" ({', '.join(row['marks'])})" if row.get("marks") else ""
        flags = "".join([(" BEST BY METRIC" if data.get("override") else " BEST") if row.get("best") else "",
                         " SELECTED" if row.get("selected") else ""])
        params = _pairs(row.get("params") or {}, 8)
        lines.append(f"{i}. {full_ref(inc, row['id'])} {row['status']}{marks}{flags} {_pairs(row.get('metrics') or {})}"
                     + (f" | {params}" if params else ""))
    if data.get("next_cursor"):
        lines.append(f"more: cursor={data['next_cursor']}")
    if data.get("report_path"):
        lines.append(f"full table: {data['report_path']}")
    return "\n".join(lines)


def export(data: dict[str, Any]) -> str:
    head = f"{data['increment']}: {data['rows']} rows, {len(data['columns'])} columns as {data['format']}"
    if data.get("path"):
        return f"{head}, written to {data['path']}"
    return f"{head}:\n{data.get('text') or ''}"


def decision(data: dict[str, Any]) -> str:
    ref = full_ref(data["increment"], data["selected"])
    alternatives = ", ".join(data.get("alternatives") or []) or "nothing else named"
    now = data.get("selected_now")
    if now and now != data["selected"]:
        return (f"Decision logged in {data['increment']} at {data['ts']}: {ref} over {alternatives}, but it is NOT "
                f"selected: a decision dated later still selects {now}. Rationale: {data['rationale']}")
    return (f"Decision logged in {data['increment']} at {data['ts']}: {ref} selected over {alternatives} "
            f"(tagged `selected`). Rationale: {data['rationale']}")


def sync(data: dict[str, Any]) -> str:
    if data.get("dry_run"):
        if not data.get("changed"):
            return f"{data['path']} is up to date (dry run: nothing written)."
        return (f"Dry run: {data['path']} would change in {', '.join(data['sections_changed'])}; diff:\n"
                f"{data.get('diff') or ''}")
    if not data.get("changed"):
        return f"{data['path']} is already up to date (nothing written)."
    return f"Updated {data['path']}: sections {', '.join(data['sections_changed'])}."


def note(data: dict[str, Any], ref: str) -> str:
    return f"Note added to {ref} at {data['ts']}: {data['text']}"


def tagged(data: dict[str, Any]) -> str:
    ref = data.get("ref") or full_ref(data["increment"], data["id"])
    return f"{ref} tags now: {', '.join(data['tags']) or '(none)'}"


__all__ = ["comparison", "decision", "export", "history", "increments", "note", "page", "shown", "sync", "tagged"]
