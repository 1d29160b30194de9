"""People ahead and estimated wait, from the recent service rate of the counters that
serve a queue.  ``motcua simulate`` measures the error of this model against a
simulated day; the constants below are what that measurement settled on."""

from __future__ import annotations

import math
import sqlite3
from datetime import datetime, timedelta
from typing import Any

from .clock import business_day, iso
from .config import Config
from .protocol import CounterState
from .store import catalog
from .store import tickets as store

#: Finished tickets needed before the observed mean replaces the configured default.
MIN_SAMPLES = 3
#: How much a counter contributes to a queue that is not its first preference.
SECONDARY_SHARE = 0.5


def capacity(counters: list[dict[str, Any]], service: str) -> tuple[float, int]:
    """(effective number of counters serving this queue, how many of them are open)."""
    share, open_count = 0.0, 0
    for c in counters:
        if service not in c["services"] or c["state"] == CounterState.CLOSED:
            continue
        weight = 1.0 if c["services"][0] == service else SECONDARY_SHARE
        if c["state"] == CounterState.OPEN:
            share += weight
            open_count += 1
        else:  # paused: will come back, count it at a quarter
            share += weight * 0.25
    return share, open_count


def mean_service_min(conn: sqlite3.Connection, cfg: Config, service: str, now: datetime) -> float:
    since = iso(now - timedelta(minutes=cfg.estimate_window_min))
    day_start = business_day(now, cfg.tz).isoformat()
    count, mean = store.recent_service_stats(conn, service, max(since, day_start))
    if count >= MIN_SAMPLES and mean is not None:
        # Blend towards the default while samples are few, so one odd case does not swing it.
        w = min(1.0, count / 10)
        return w * mean + (1 - w) * cfg.default_service_min
    return cfg.default_service_min


def wait_minutes(ahead: int, mean_min: float, cap: float) -> int:
    """Expected minutes until a citizen with `ahead` people before them is called."""
    if cap <= 0:
        cap = 1.0
    if ahead <= 0:
        return 0
    return max(0, math.ceil(ahead * mean_min / cap))


def for_ticket(
    conn: sqlite3.Connection, cfg: Config, t: dict[str, Any], now: datetime
) -> dict[str, int]:
    ahead = store.ahead_of(conn, t)
    counters = catalog.counters(conn)
    cap, _ = capacity(counters, t["queue_service"])
    mean = mean_service_min(conn, cfg, t["queue_service"], now)
    return {"people_ahead": ahead, "estimated_wait_min": wait_minutes(ahead, mean, cap)}


def for_service(
    conn: sqlite3.Connection,
    cfg: Config,
    service: str,
    waiting: int,
    counters: list[dict[str, Any]],
    now: datetime,
) -> int:
    """Estimated wait of a ticket taken now (everyone waiting is ahead of it)."""
    cap, _ = capacity(counters, service)
    return wait_minutes(waiting, mean_service_min(conn, cfg, service, now), cap)
