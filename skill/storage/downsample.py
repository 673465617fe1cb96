"""The one downsampler: min/max-preserving buckets, used by every reader and by the summary writer.

A long curve is cut into buckets; each keeps its lowest and its highest value (in step order), and the
first and the last point are always kept. Spikes, the best and the worst value survive, and every kept
point is a point that was logged (nothing is averaged). The error is stated by construction: each
logged point lies, in value, between the min and the max kept for its bucket, and, in position, within
its bucket's span of `(n - 2) / buckets` points. NaN is never a bucket's min or max (a bucket of NaN only
keeps its first point); infinities are values like any other, so a divergence shows.

The same cut is used for a chart (`views.curves`), an agent's history (`analysis.history`) and the
summary kept in git (`storage.run_summary`): a summary of N points is exactly what a reader asking for
N points of the full log gets.
"""

from __future__ import annotations

from collections.abc import Sequence


def bucket_bounds(n: int, max_points: int) -> list[int]:
    """The start of each bucket (and the end of the last) as indices into the n points; empty when no
    downsampling is needed. Point 0 and point n-1 are outside every bucket."""
    if n <= max_points:
        return []
    buckets = max(1, (max_points - 2) // 2)
    size = (n - 2) / buckets
    return [1 + int(b * size) for b in range(buckets + 1)]


def minmax_indices(values: Sequence[float], max_points: int) -> list[int]:
    """Indices kept: first, last, and each bucket's lowest and highest value, in order (at most
    `max_points`). `values` may be a list or an `array('d')`."""
    n = len(values)
    bounds = bucket_bounds(n, max_points)
    if not bounds:
        return list(range(n))
    kept = [0]
    for a, e in zip(bounds, bounds[1:]):
        if a >= e:
            continue
        piece = values[a:e]
        total = sum(piece)
        if total != total:  # a NaN in it (or +inf and -inf): compare only what is not NaN
            numbers = [(v, i) for i, v in enumerate(piece) if v == v]
            if not numbers:
                kept.append(a)
                continue
            lo_at, hi_at = min(numbers)[1], max(numbers)[1]
        else:
            lo_at, hi_at = piece.index(min(piece)), piece.index(max(piece))
        kept.extend(sorted({a + lo_at, a + hi_at}))
    kept.append(n - 1)
    return kept


__all__ = ["bucket_bounds", "minmax_indices"]
