"""Small statistics for durations: count, mean, median, 90th percentile, maximum.

Durations are whole seconds, kept as counts (value → how many).  A year's report
summarises ~100,000 waits by service, by hour and in total (and as many service times
four ways): counting the values (in C) and walking the few thousand distinct ones in
order is several times cheaper than sorting every list."""

from __future__ import annotations

import math
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal
from typing import Any


def parse_durations(joined: str | None) -> list[int]:
    """ "312,45,312" (a group_concat of whole seconds) → [312, 45, 312]."""
    return list(map(int, joined.split(","))) if joined else []


def percentiles(durations: Counter[int], *ps: float) -> list[int]:
    """Nearest-rank percentiles (values that really occurred, as supervisors expect):
    for each p, the smallest value with at least p of the values at or below it."""
    count = durations.total()
    ranks = [max(1, math.ceil(p * count)) for p in ps]
    found: dict[int, int] = {}
    seen = 0
    for value in sorted(durations):
        seen += durations[value]
        for rank in ranks:
            if rank not in found and seen >= rank:
                found[rank] = value
        if len(found) == len(set(ranks)):
            break
    return [found[rank] for rank in ranks]


def minutes(seconds: float) -> float:
    return round(seconds / 60.0, 1)


def total_seconds(durations: Counter[int]) -> int:
    return sum(value * n for value, n in durations.items())


def summary(durations: Counter[int]) -> dict[str, Any]:
    """Durations in seconds (value → how many), summarised in minutes (one decimal)."""
    count = durations.total()
    if not count:
        return {"count": 0, "mean_min": None, "p50_min": None, "p90_min": None, "max_min": None}
    p50, p90 = percentiles(durations, 0.5, 0.9)
    return {
        "count": count,
        "mean_min": minutes(total_seconds(durations) / count),
        "p50_min": minutes(p50),
        "p90_min": minutes(p90),
        "max_min": minutes(max(durations)),
    }


def pct(part: int, whole: int) -> float | None:
    """A share in percent with two decimals ("99.71"), rounded half up as provinces
    print them: exact decimal arithmetic, so 1 of 800 is 0.13 (float's round() gives
    0.12 for 0.125)."""
    if not whole:
        return None
    exact = Decimal(100 * part) / Decimal(whole)
    return float(exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
