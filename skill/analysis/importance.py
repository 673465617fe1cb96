"""Parameter importance of a set of runs (a sweep, a random search, an increment): one method, in the
core's analysis, for every face (the sweep's `param_importance.md`, the dashboard, the report, the MCP App).

The method, and why:

- **Share = bias-corrected effect size of a one-way ANOVA (epsilon squared).** For each param the runs
  are grouped by its value; a number with more than MAX_LEVELS distinct values is cut into
  equal-count bins (quantiles of the value, of log10 of it when log-spaced, so lr = 1e-4 ... 1e-1
  gets bins per decade rather than one bin holding all but the last). epsilon squared =
  (SS_between - (k - 1) MS_within) / (SS_total + MS_within) is the share of the score's variance
  the grouping explains beyond what k groups of pure noise would explain by chance, so a param
  whose every run has its own value (a continuous param, a seed) no longer "explains everything",
  the failure of plain eta squared on continuous values. Negative values (less than chance) are 0.
  The shares are these effects normalised to sum to 1 over the ranked params. Main effects only:
  interactions are not separated. Chosen over a random forest's importance because it needs no
  optional dependency (the same numbers on every face, whatever is installed), is deterministic,
  takes milliseconds for hundreds of runs (the dashboard recomputes it per request), and a
  forest's impurity importance is itself biased toward continuous params, while its permutation
  importance needs held-out refits that cost more than the whole view.
  With fewer than n = k + 1 runs (no within-group variance to measure chance by) eta squared is used.
- **Direction = Spearman's rank correlation** of the param (numbers only, on the same scale) with
  the score, signed as W&B shows it; `effect` says "higher is better" / "lower is better" when
  |rho| >= 2 / sqrt(n) (about the 95% bound of |rho| when the param has no effect), else
  "no monotone trend" (a U shape, or nothing).
- **Excluded, listed last with share 0**: seeds (a param named seed, random_state, random_seed,
  rng, or ending/starting in _seed/seed_: chosen to be irrelevant, so any apparent effect is
  noise) and params with one value over the scored runs (constant: nothing to learn).
- **Best value = the best run's value** (by the score and its goal): a setting a person can use.
- Log-spaced (`log_spaced`): every value a positive number, at least 3 distinct, max / min >= 100.
  The dashboard draws these params on log axes by the same rule.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

MAX_LEVELS = 8  # a number with more distinct values than this is binned (at most this many bins)
SEED_RE = re.compile(r"^(?:seed|random_state|random_seed|rng|rng_seed|.*_seed|seed_.*)$", re.IGNORECASE)


@dataclass
class ParamImportance:
    """One parameter's effect on the score."""

    param: str
    importance: float  # share of the explained variance, ranked params sum to 1 (0 when nothing varies)
    effect_size: float  # epsilon squared (eta squared for tiny sets), 0..1
    levels: int  # distinct values tried
    best_value: Any = None  # the best run's value
    correlation: float | None = None  # Spearman's rho with the score (numbers only)
    effect: str | None = None  # "higher is better", "lower is better", "no monotone trend" (numbers only)
    log_scale: bool = False
    excluded: str | None = None  # "seed" or "constant": not ranked
    mean_by_value: dict[str, float] = field(default_factory=dict)  # per level, for params with few levels


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _level(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, sort_keys=True)
    except (TypeError, ValueError):
        return repr(value)


def is_seed(name: str) -> bool:
    """A param that names a random seed (see the module doc)."""
    return bool(SEED_RE.match(name.strip()))


def log_spaced(values: list[Any]) -> bool:
    """Positive numbers spanning two decades or more, with at least 3 distinct values."""
    numbers = [_number(v) for v in values if v is not None]
    if not numbers or any(n is None or n <= 0 for n in numbers):
        return False
    distinct = set(numbers)
    return len(distinct) >= 3 and max(distinct) / min(distinct) >= 100  # type: ignore[type-var,operator]


def _ranks(values: list[float]) -> list[float]:
    """Average ranks (ties share their mean rank), as Spearman's rho needs."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def spearman(xs: list[float], ys: list[float]) -> float | None:
    if len(xs) < 3:
        return None
    rx, ry = _ranks(xs), _ranks(ys)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    sxy = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    sxx = sum((a - mx) ** 2 for a in rx)
    syy = sum((b - my) ** 2 for b in ry)
    return sxy / math.sqrt(sxx * syy) if sxx > 0 and syy > 0 else None


def _groups(values: list[Any], log: bool) -> list[str]:
    """Each run's group: its value, or its equal-count bin for a number with many values."""
    numbers = [_number(v) for v in values]
    distinct = {n for n in numbers if n is not None}
    if len(distinct) <= MAX_LEVELS or any(n is None and v is not None for n, v in zip(numbers, values)):
        return [_level(v) for v in values]
    scale = [None if n is None else (math.log10(n) if log else n) for n in numbers]
    present = sorted(s for s in scale if s is not None)
    bins = min(MAX_LEVELS, max(2, len(present) // 5))
    edges = [present[min(len(present) - 1, (len(present) * b) // bins)] for b in range(1, bins)]
    out = []
    for s in scale:
        if s is None:
            out.append("<unset>")
        else:
            out.append(f"bin{sum(s >= e for e in edges)}")  # ties fall in one bin
    return out


def _effect_size(groups: list[str], scores: list[float]) -> float:
    n = len(scores)
    mean = sum(scores) / n
    total = sum((s - mean) ** 2 for s in scores)
    if total <= 0:
        return 0.0
    members: dict[str, list[float]] = {}
    for g, s in zip(groups, scores):
        members.setdefault(g, []).append(s)
    k = len(members)
    between = sum(len(v) * (sum(v) / len(v) - mean) ** 2 for v in members.values())
    if n - k < 1:
        return min(max(between / total, 0.0), 1.0)  # eta squared: no within-group variance to correct by
    within_ms = (total - between) / (n - k)
    return min(max((between - (k - 1) * within_ms) / (total + within_ms), 0.0), 1.0)


def param_importance(combos: list[dict[str, Any]], scores: list[float | None], *,
                     greater_is_better: bool = True) -> list[ParamImportance]:
    """Rank the params of `combos` by their effect on `scores` (see the module doc); runs whose score
    is missing or not finite (failed fits) are left out. Ranked params first by share, then the
    excluded ones (seeds, constants)."""
    rows = [(c, float(s)) for c, s in zip(combos, scores) if _number(s) is not None]
    names = sorted({key for combo in combos for key in combo})
    if not rows:
        return [ParamImportance(name, 0.0, 0.0, 0) for name in names]
    values = [s for _, s in rows]
    pick = max if greater_is_better else min
    best_combo = pick(rows, key=lambda pair: pair[1])[0]
    found: list[ParamImportance] = []
    for name in names:
        column = [c.get(name) for c, _ in rows]
        levels = len({_level(v) for v in column})
        log = log_spaced(column)
        item = ParamImportance(name, 0.0, 0.0, levels, best_value=best_combo.get(name), log_scale=log)
        if is_seed(name):
            item.excluded = "seed"
        elif levels <= 1:
            item.excluded = "constant"
        else:
            item.effect_size = _effect_size(_groups(column, log), values)
            pairs = [(x, s) for v, s in zip(column, values) if (x := _number(v)) is not None]
            if len(pairs) >= 3 and len({x for x, _ in pairs}) > 1:
                rho = spearman([math.log10(x) if log else x for x, _ in pairs], [s for _, s in pairs])
                if rho is not None:
                    item.correlation = round(rho, 4)
                    if abs(rho) >= 2 / math.sqrt(len(pairs)):
                        better_high = (rho > 0) == greater_is_better
                        item.effect = "higher is better" if better_high else "lower is better"
                    else:
                        item.effect = "no monotone trend"
            if levels <= 12:
                by: dict[str, list[float]] = {}
                for v, s in zip(column, values):
                    by.setdefault(_level(v), []).append(s)
                item.mean_by_value = {k: round(sum(v) / len(v), 6) for k, v in by.items()}
        found.append(item)
    explained = sum(p.effect_size for p in found if p.excluded is None)
    for p in found:
        p.importance = p.effect_size / explained if explained > 0 and p.excluded is None else 0.0
    found.sort(key=lambda p: (p.excluded is not None, -p.importance, p.param))
    return found


__all__ = ["MAX_LEVELS", "SEED_RE", "ParamImportance", "is_seed", "log_spaced", "param_importance", "spearman"]
