"""Small statistics for durations: count, mean, median, 90th percentile, maximum."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (a value that really occurred, as supervisors expect):
    the smallest value with at least p of the values at or below it."""
    n = len(sorted_values)
    return sorted_values[max(0, math.ceil(p * n) - 1)]


def minutes(seconds: float) -> float:
    return round(seconds / 60.0, 1)


def summary(seconds: list[float]) -> dict[str, Any]:
    """Durations given in seconds, summarised in minutes (one decimal)."""
    if not seconds:
        return {"count": 0, "mean_min": None, "p50_min": None, "p90_min": None, "max_min": None}
    values = sorted(seconds)
    return {
        "count": len(values),
        "mean_min": minutes(sum(values) / len(values)),
        "p50_min": minutes(percentile(values, 0.5)),
        "p90_min": minutes(percentile(values, 0.9)),
        "max_min": minutes(values[-1]),
    }


def pct(part: int, whole: int) -> float | None:
    """A share in percent with two decimals ("99.71")."""
    return round(100.0 * part / whole, 2) if whole else None
